//! One `ecbulk run`, stage by stage: read and plan, check the destination, send,
//! write the report, summarise.

use crate::exit::Exit;
use crate::follow;
use crate::input;
use crate::journal::{self, Journal};
use crate::lock::ReportLock;
use crate::monitor::{self, RunOutcome};
use crate::plan::{ChunkOptions, Plan, Planner};
use crate::report::{self, Rows};
use crate::resume::{self, AlreadyAdded};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::send::http::HttpTransport;
use crate::send::retry::RetryPolicy;
use crate::send::{DispatchSettings, Outcome, Transport, dispatch};
use crate::settings::{Endpoint, ReportTarget, RunSettings};
use crate::stop::Stop;
use crate::summary::{Summary, estimate_duration, retry_hint};
use crate::term;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Runs the whole job and says how it ended. Errors are printed here.
pub fn run(settings: &RunSettings) -> Exit {
    let started_at = jiff::Timestamp::now();
    // Before the lock, whose file would sit beside a device as readily as a report.
    if let Err(message) = check_outputs(settings) {
        term::print_error(&message);
        return Exit::Usage;
    }
    // Before anything is read or sent: a second run on the same report stops here,
    // and writes no summary file, which belongs to the run that holds the report.
    let _lock = match lock_report(&settings.report) {
        Ok(lock) => lock,
        Err(message) => {
            term::print_error(&message);
            return Exit::Usage;
        }
    };
    match execute(settings) {
        Ok(exit) => exit,
        Err(message) => {
            term::print_error(&message);
            write_error_summary(settings, started_at, &message);
            Exit::Usage
        }
    }
}

/// The report's lock; a report on standard output needs none.
fn lock_report(report: &ReportTarget) -> Result<Option<ReportLock>, String> {
    match report {
        ReportTarget::Path(path) => ReportLock::acquire(path).map(Some),
        ReportTarget::Stdout => Ok(None),
    }
}

/// The run; an `Err` is a usage or input error found before anything was sent.
fn execute(settings: &RunSettings) -> Result<Exit, String> {
    let started = Instant::now();
    // The plan lives until the process exits, which returns its memory at once;
    // dropping it would free a million rows' strings one by one, a tenth of a second
    // at the end of a large run for nothing.
    let plan = std::mem::ManuallyDrop::new(read_plan(settings)?);
    check_report_target(&settings.report)?;
    if let Some(path) = &settings.summary_json {
        check_summary_target(path)?;
    }
    let estimate = settings
        .dry_run
        .then(|| estimate_duration(&plan, settings.rate, settings.burst, &settings.key_limits));

    if settings.dry_run && !settings.check_keys {
        return finish(settings, &plan, &Sent::nothing(), started, estimate, None);
    }

    // Only a run that sends keeps a journal: a `--check-keys` audit has nothing to
    // resume.
    let mut journal = match settings.dry_run {
        true => None,
        false => Some(start_journal(settings, &plan)?),
    };

    // `--sandbox` serves from this process, until the report is written.
    let (sandbox, base_url) = match &settings.endpoint {
        Endpoint::BaseUrl(url) => (None, url.clone()),
        Endpoint::InProcessSandbox => {
            let sandbox = Sandbox::start(SandboxConfig::default())
                .map_err(|e| format!("cannot start the in-process sandbox: {e}"))?;
            let url = sandbox.base_url();
            (Some(sandbox), url)
        }
    };
    let tls = trusted_roots(settings, &base_url)?;

    let stop = Arc::new(Stop::new());
    let signals = crate::signals::watch(&stop, journal.as_ref().map(Journal::path));
    let transport = HttpTransport::new(&base_url, settings.timeout, settings.concurrency, tls);
    let (outcomes, attempts) = match &mut journal {
        Some(journal) => send_all(settings, &plan, &transport, &stop, journal),
        None => crate::audit::check_keys(
            settings,
            &dispatch_settings(settings),
            &plan,
            &transport,
            &stop,
        ),
    };
    let sent = Sent {
        outcomes,
        attempts,
        interrupted: stop.is_raised(),
    };
    drop(signals);
    let exit = finish(settings, &plan, &sent, started, estimate, journal);
    if let Some(sandbox) = &sandbox
        && !settings.quiet
    {
        term::eprintln(&sandbox_holdings(&plan, sandbox));
    }
    exit
}

/// The CAs to trust: the system's and `--ca-cert`, loaded only for an https URL.
fn trusted_roots(settings: &RunSettings, base_url: &str) -> Result<ureq::tls::TlsConfig, String> {
    if !base_url.starts_with("https:") {
        return Ok(ureq::tls::TlsConfig::default());
    }
    let trust = crate::send::tls::load(settings.ca_cert.as_deref())?;
    if let Some(warning) = &trust.warning {
        term::print_warning(warning);
    }
    Ok(trust.config)
}

/// `--sandbox`: what the in-process sandbox holds now, since it is gone at exit.
fn sandbox_holdings(plan: &Plan, sandbox: &Sandbox) -> String {
    let (mut keys, mut addresses) = (0, 0);
    for account in &plan.accounts {
        if let Ok(key) = &account.key {
            let held = sandbox.emails_of(key.expose()).len();
            keys += usize::from(held > 0);
            addresses += held;
        }
    }
    format!(
        "sandbox:  holds {addresses} addresses for {keys} accounts (in this process; gone at exit)"
    )
}

/// Reads the whole input into a plan. Any input error stops the run here.
fn read_plan(settings: &RunSettings) -> Result<Plan, String> {
    warn_if_shared(&settings.input);
    let done = match &settings.resume {
        Some(path) => resume::load(path)?,
        None => AlreadyAdded::default(),
    };
    let rows = input::open(&settings.input, &settings.input_options).map_err(|e| e.to_string())?;
    let mut planner = Planner::new();
    let preparer = planner.preparer();
    rows.feed_prepared(
        |row, prepared| preparer.prepare(row, prepared),
        |batch| planner.push_batch(batch),
    )
    .map_err(|e| format!("{e} (nothing was sent)"))?;
    Ok(planner.finish(&ChunkOptions {
        max_per_request: settings.max_emails_per_request,
        already_added: &|id, email| done.contains(id, email),
    }))
}

/// Opens the journal with the rows settled before sending. When the report goes to
/// standard output the journal's place is not obvious, so it is announced.
fn start_journal(settings: &RunSettings, plan: &Plan) -> Result<Journal, String> {
    let path = journal::path_for(&settings.report, jiff::Timestamp::now());
    let unsent = vec![None; plan.chunks.len()];
    let rows = Rows::new(plan, &unsent, false);
    let journal = Journal::create(&path, settings.resume.as_deref(), plan, &rows)?;
    if settings.report == ReportTarget::Stdout && !settings.quiet {
        term::eprintln(&format!(
            "ecbulk: journal: {} (removed once the report is written; if the run is cut short, continue with --resume {})",
            path.display(),
            path.display()
        ));
    }
    Ok(journal)
}

/// The input holds every subaccount's API key: say so when other users can read it.
fn warn_if_shared(input: &input::InputSource) {
    #[cfg(unix)]
    if let input::InputSource::Path(path) = input {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.is_file()
            && metadata.permissions().mode() & 0o044 != 0
        {
            term::print_warning(&format!(
                "{} is readable by other users of this machine, and it holds API keys (chmod 600 {})",
                path.display(),
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = input;
}

/// Refuses files the run would destroy: the report and the summary are renamed into
/// place, so one that is the input (or `/dev/null`, or each other) would replace it.
/// `--resume` may be the report: it is read whole before the report is written.
fn check_outputs(settings: &RunSettings) -> Result<(), String> {
    let input = match &settings.input {
        input::InputSource::Path(path) => Some(path.as_path()),
        input::InputSource::Stdin => None,
    };
    let report = match &settings.report {
        ReportTarget::Path(path) => Some(path.as_path()),
        ReportTarget::Stdout => None,
    };
    let taken = [
        ("the input file", input),
        ("the report (--report)", report),
        ("the --resume file", settings.resume.as_deref()),
    ];
    let outputs = [
        ("--report", report, &taken[..1]),
        (
            "--summary-json",
            settings.summary_json.as_deref(),
            &taken[..],
        ),
    ];
    for (flag, output, others) in outputs {
        let Some(output) = output else { continue };
        if let Ok(metadata) = std::fs::metadata(output)
            && !metadata.is_file()
            && !metadata.is_dir()
        {
            return Err(format!(
                "{flag} {} is not a regular file (a device, pipe or socket), and writing \
                 would replace it; give the name of a file",
                output.display()
            ));
        }
        for (what, other) in others {
            if other.is_some_and(|other| same_place(output, other)) {
                return Err(format!(
                    "{flag} {} is {what}, which writing would replace; choose another \
                     name with {flag}",
                    output.display()
                ));
            }
        }
    }
    Ok(())
}

/// Whether two paths name one file, through symbolic links and `..`; a path that does
/// not exist yet is placed in its folder.
fn same_place(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> Option<std::path::PathBuf> {
        if let Ok(real) = std::fs::canonicalize(path) {
            return Some(real);
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(folder).ok()?.join(path.file_name()?))
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Refuses, before anything is sent, a report that could not be written afterwards.
fn check_report_target(target: &ReportTarget) -> Result<(), String> {
    let ReportTarget::Path(path) = target else {
        return Ok(());
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(format!(
            "--report {} is a folder; give a file name",
            path.display()
        ));
    }
    tempfile::tempfile_in(folder).map(drop).map_err(|e| {
        format!(
            "cannot write the report in {}: {e} (choose another place with --report)",
            folder.display()
        )
    })
}

/// Refuses, before anything is sent, a `--summary-json` that could not be written
/// afterwards: the run would be done, and its monitor would read a failure.
fn check_summary_target(path: &Path) -> Result<(), String> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(format!(
            "--summary-json {} is a folder; give a file name",
            path.display()
        ));
    }
    tempfile::tempfile_in(folder).map(drop).map_err(|e| {
        format!(
            "cannot write --summary-json in {}: {e} (choose another place with --summary-json)",
            folder.display()
        )
    })
}

/// The send loop's settings, the same for PUTs and for `--check-keys` GETs.
fn dispatch_settings(settings: &RunSettings) -> DispatchSettings {
    DispatchSettings {
        concurrency: settings.concurrency,
        rate: settings.rate,
        burst: settings.burst,
        key_limits: settings.key_limits.clone(),
        retry: RetryPolicy {
            max_attempts: settings.max_attempts,
            max_retry_wait: settings.max_retry_wait,
            ..RetryPolicy::default()
        },
    }
}

/// Sends every chunk, journalling each as it finishes.
fn send_all(
    settings: &RunSettings,
    plan: &Plan,
    transport: &dyn Transport,
    stop: &Stop,
    journal: &mut Journal,
) -> (Vec<Option<Outcome>>, u64) {
    let dispatch_settings = dispatch_settings(settings);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.chunks.len()];
    let attempts = follow::follow(
        settings,
        plan,
        plan.chunks.len() as u64,
        "",
        |events| dispatch(plan, transport, &dispatch_settings, stop, events),
        |chunk, outcome| {
            outcomes[chunk as usize] = Some(outcome);
            journal.record(&Rows::new(plan, &outcomes, false), chunk);
        },
    );
    (outcomes, attempts)
}

/// What the send stage hands on to the report.
struct Sent {
    /// Per chunk; `None` for a chunk never sent.
    outcomes: Vec<Option<Outcome>>,
    /// Requests sent, retries included.
    attempts: u64,
    /// Whether Ctrl-C or SIGTERM stopped the run.
    interrupted: bool,
}

impl Sent {
    /// A dry run's: nothing sent.
    fn nothing() -> Sent {
        // A dry run's rows never look at outcomes: a million-row plan spares the
        // memory of one per request.
        Sent {
            outcomes: Vec::new(),
            attempts: 0,
            interrupted: false,
        }
    }
}

/// Writes the report, prints the summary and decides the exit code.
fn finish(
    settings: &RunSettings,
    plan: &Plan,
    sent: &Sent,
    started: Instant,
    estimate: Option<std::time::Duration>,
    journal: Option<Journal>,
) -> Result<Exit, String> {
    let rows = Rows::new(plan, &sent.outcomes, settings.dry_run);
    let summary = Summary::count(plan, &rows, sent.attempts);
    let written = match &settings.report {
        ReportTarget::Path(path) => {
            report::write_file(path, &rows).map(|()| path.display().to_string())
        }
        ReportTarget::Stdout => report::write_stdout(&rows).map(|()| "standard output".to_string()),
    };
    let report_written = written.is_ok();
    let report_name = written.unwrap_or_else(|error| {
        term::print_error(&format!("cannot write the report: {error}"));
        "not written".to_string()
    });
    let kept_journal = journal.and_then(|j| j.finish(report_written));
    if !settings.quiet {
        term::eprint(&summary.render(&report_name, started.elapsed(), estimate));
        if !settings.dry_run && (sent.interrupted || summary.left_to_do() > 0 || !report_written) {
            let resume_from = match (&kept_journal, &settings.report) {
                (Some(journal), _) => Some(journal.as_path()),
                (None, ReportTarget::Path(path)) => Some(path.as_path()),
                (None, ReportTarget::Stdout) => None,
            };
            term::eprintln(&retry_hint(&settings.input, resume_from));
        }
    }

    let exit = if sent.interrupted {
        Exit::Interrupted
    } else if summary.unsettled(settings.dry_run) > 0 || !report_written {
        Exit::Incomplete
    } else {
        Exit::Success
    };
    let shown = match &settings.report {
        ReportTarget::Path(_) => report_name.as_str(),
        ReportTarget::Stdout => "-",
    };
    let report_field = report_written.then_some(shown);
    Ok(exit.merge(write_summary(
        settings,
        &summary,
        exit,
        started,
        report_field,
    )))
}

/// `--summary-json`, from the same counts as the printed summary. A file that cannot
/// be written makes the run incomplete: a monitor would otherwise read a stale one.
fn write_summary(
    settings: &RunSettings,
    summary: &Summary,
    exit: Exit,
    started: Instant,
    report: Option<&str>,
) -> Exit {
    let Some(path) = &settings.summary_json else {
        return Exit::Success;
    };
    let started_at = jiff::Timestamp::now()
        - jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default();
    let outcome = RunOutcome::new(summary, exit, settings.dry_run, started_at, report);
    match monitor::write(path, &outcome) {
        Ok(()) => Exit::Success,
        Err(error) => {
            term::print_error(&format!(
                "cannot write --summary-json {}: {error}",
                path.display()
            ));
            Exit::Incomplete
        }
    }
}

/// `--summary-json` for a run stopped before anything was sent: zero counts, exit
/// code 1 and the error, so that a monitor sees the failure rather than last
/// night's success.
fn write_error_summary(settings: &RunSettings, started_at: jiff::Timestamp, error: &str) {
    let Some(path) = &settings.summary_json else {
        return;
    };
    let summary = Summary::default();
    let outcome = RunOutcome::new(&summary, Exit::Usage, settings.dry_run, started_at, None)
        .with_error(error);
    if let Err(error) = monitor::write(path, &outcome) {
        term::print_error(&format!(
            "cannot write --summary-json {}: {error}",
            path.display()
        ));
    }
}
