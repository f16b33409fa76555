//! Dispatch: requests per second of the real binary with `--rate 0` against the
//! in-process sandbox answering 204 at once (no per-key windows on either side), at
//! concurrency 1, 4, 16 and 64, set against what `wrk` reaches on the same server.
//! Also: a 50 ms server at concurrency 32 (the latency bound), the progress bar's
//! cost (the run under a pseudo-terminal), and the report writer's cost.
//!
//! `cargo bench --bench dispatch`. Without `--bench` (as `cargo test --benches` runs
//! it) one small run is made as a smoke test. The wrk comparisons are skipped, with
//! a note, when wrk is not installed.

mod support;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ecbulk::limits::WindowSpec;
use ecbulk::plan::{ChunkOptions, Planner};
use ecbulk::report::{self, ReportWriter, Rows};
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use ecbulk::send::Outcome;
use ecbulk::status::Status;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{median, median_f64};

/// Requests per run at `--rate 0`: long enough that start-up and the report are a
/// small part of the run, short enough for ten samples per concurrency.
const REQUESTS: usize = 10_000;

/// The concurrencies the issue asks for.
const CONCURRENCY: [usize; 4] = [1, 4, 16, 64];

/// The latency-bound case: 32 workers and a 50 ms server allow 640 requests/s.
const LATENCY: Duration = Duration::from_millis(50);
const LATENCY_WORKERS: usize = 32;
const LATENCY_REQUESTS: usize = 3_200;

fn main() {
    let Some((full, mut criterion, dir)) = support::start(
        "dispatch",
        Duration::from_millis(500),
        Duration::from_secs(3),
    ) else {
        return;
    };
    let requests = if full { REQUESTS } else { 200 };
    let input = dir.path().join("accounts.csv");
    if support::write_input(&input, requests, 1).is_err() {
        eprintln!("dispatch: cannot write the input");
        return;
    }
    let Ok(sandbox) = start_sandbox(Duration::ZERO) else {
        eprintln!("dispatch: cannot start the sandbox");
        return;
    };
    let url = sandbox.base_url();

    if !full {
        let rate = run_once(&input, &url, 4, &dir.path().join("r.csv"), false);
        println!("dispatch smoke run: {rate:.0} requests/s at concurrency 4");
        return;
    }

    let rates = sweep(&mut criterion, &input, &url, requests, dir.path());
    criterion.final_summary();

    support::heading(&format!("dispatch, {} cores", support::cores()));
    for (concurrency, runs) in &rates {
        println!(
            "  concurrency {concurrency:>2}: {:>7.0} requests/s (median of {})",
            median_f64(runs.clone()),
            runs.len()
        );
    }
    let at_16 = rates
        .iter()
        .find(|(c, _)| *c == 16)
        .map_or(0.0, |(_, runs)| median_f64(runs.clone()));
    compare_with_wrk(&sandbox, at_16, dir.path());
    progress_cost(&input, &url, dir.path());
    report_cost(&input, requests, at_16, dir.path());
    drop(sandbox);
    latency_bound(dir.path());
}

/// The sandbox as the benches use it: no per-key windows, no faults.
fn start_sandbox(latency: Duration) -> std::io::Result<Sandbox> {
    Sandbox::start(SandboxConfig {
        limits: WindowSpec::default(),
        latency,
        ..SandboxConfig::default()
    })
}

/// `ecbulk run` of the whole input at `--rate 0`; returns requests per second over
/// the whole run, start-up, reading and the report included.
fn run_once(input: &Path, url: &str, concurrency: usize, report: &Path, pty: bool) -> f64 {
    run_with(input, url, concurrency, report, pty, !pty)
}

/// [`run_once`], choosing separately whether the run has a terminal and whether it
/// is `-q`: the bar's cost is the difference between a terminal run with and without.
fn run_with(
    input: &Path,
    url: &str,
    concurrency: usize,
    report: &Path,
    pty: bool,
    quiet: bool,
) -> f64 {
    let lines = std::fs::read_to_string(input).map_or(0, |t| t.lines().count() - 1);
    let mut args = vec![
        "run".to_string(),
        input.display().to_string(),
        "--base-url".into(),
        url.into(),
        "--rate".into(),
        "0".into(),
        "--key-limits".into(),
        "off".into(),
        "--concurrency".into(),
        concurrency.to_string(),
        "--report".into(),
        report.display().to_string(),
    ];
    if quiet {
        args.push("-q".into());
    }
    let mut command = if pty {
        // `script` gives the run a terminal, so the progress bar is drawn as a person
        // would see it; what it draws goes to /dev/null.
        let mut line = shell_quote(&support::binary().display().to_string());
        for arg in &args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let mut command = Command::new("script");
        command.args(["-qfec", &line, "/dev/null"]);
        command.stdin(std::process::Stdio::null());
        command.stdout(std::process::Stdio::null());
        command
    } else {
        let mut command = support::ecbulk();
        command.args(&args);
        command
    };
    match support::measure(&mut command) {
        Ok(cost) if cost.success => lines as f64 / cost.wall.as_secs_f64(),
        Ok(_) => {
            eprintln!("dispatch: a run did not exit 0");
            0.0
        }
        Err(error) => {
            eprintln!("dispatch: a run did not start: {error}");
            0.0
        }
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The concurrency sweep, through criterion; every run's rate is kept.
fn sweep(
    criterion: &mut Criterion,
    input: &Path,
    url: &str,
    requests: usize,
    dir: &Path,
) -> Vec<(usize, Vec<f64>)> {
    let mut group = criterion.benchmark_group("dispatch/rate0");
    group
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(requests as u64));
    let report = dir.join("report.csv");
    let mut rates = Vec::new();
    for concurrency in CONCURRENCY {
        let runs = RefCell::new(Vec::new());
        group.bench_function(BenchmarkId::from_parameter(concurrency), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let rate = run_once(input, url, concurrency, &report, false);
                    runs.borrow_mut().push(rate);
                    total += Duration::from_secs_f64(requests as f64 / rate.max(1.0));
                }
                total
            });
        });
        rates.push((concurrency, runs.into_inner()));
    }
    group.finish();
    rates
}

/// wrk against the same sandbox: the yardstick for the runner, and the sandbox's own
/// headroom (it must not be what limits the runner).
fn compare_with_wrk(sandbox: &Sandbox, at_16: f64, dir: &Path) {
    if !support::has_wrk() {
        println!("  wrk is not installed (apt-get install wrk): the wrk comparison is skipped");
        return;
    }
    let url = format!("{}{}", sandbox.base_url(), ecbulk::sandbox::EMAILS_ROUTE);
    let runs: Vec<f64> = (0..3)
        .filter_map(|_| support::wrk_rate(&url, 16, 3, dir))
        .collect();
    if runs.is_empty() {
        println!("  wrk did not run; the wrk comparison is skipped");
        return;
    }
    let wrk = median_f64(runs);
    println!("  wrk, 16 connections, same sandbox: {wrk:.0} requests/s");
    let ratio = at_16 / wrk;
    support::verdict(
        "concurrency 16 vs wrk",
        ratio >= 0.35,
        &format!("{:.0}% of wrk's rate (target >= 35%)", ratio * 100.0),
    );
    support::verdict(
        "the sandbox is not the bottleneck",
        wrk >= at_16 * 2.0,
        &format!(
            "it serves wrk {:.1}x what the runner asks of it",
            wrk / at_16
        ),
    );
}

/// The progress bar's cost: the same run under a pseudo-terminal, with the bar drawn
/// and with `-q`, alternated so that the machine's noise falls on both alike.
fn progress_cost(input: &Path, url: &str, dir: &Path) {
    let has_script = Command::new("script").arg("--version").output().is_ok();
    if !has_script {
        println!("  `script` is not installed: the progress bar's cost is not measured");
        return;
    }
    let report = dir.join("report-bar.csv");
    let (mut with_bar, mut quiet) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        with_bar.push(run_with(input, url, 16, &report, true, false));
        quiet.push(run_with(input, url, 16, &report, true, true));
    }
    let (with_bar, quiet) = (median_f64(with_bar), median_f64(quiet));
    let cost = 1.0 - with_bar / quiet;
    support::verdict(
        "progress bar cost",
        cost < 0.02,
        &format!(
            "{with_bar:.0} requests/s with the bar on a terminal, {quiet:.0} with -q: {:+.1}% \
             (target < 2%)",
            cost * 100.0
        ),
    );
}

/// The report writer's cost: writing the report of a finished run of this size,
/// against the time the sends take at concurrency 16.
fn report_cost(input: &Path, requests: usize, at_16: f64, dir: &Path) {
    let source = ecbulk::input::InputSource::Path(input.to_path_buf());
    let Ok(rows) = ecbulk::input::open(&source, &Default::default()) else {
        return;
    };
    let mut planner = Planner::new();
    for row in rows.flatten() {
        planner.push(&row);
    }
    let plan = planner.finish(&ChunkOptions::default());
    let outcomes: Vec<Option<Outcome>> = vec![
        Some(Outcome {
            status: Status::Added,
            http_status: Some(204),
            attempts: 1,
            error_code: None,
            error_message: None,
            listing: None,
        });
        plan.chunks.len()
    ];
    // What grows with the run: formatting the rows (into memory, so that no disk
    // is timed). What does not: the temporary file, its fsync and the rename.
    let formatting = median(
        (0..5)
            .map(|_| {
                let started = Instant::now();
                let rows = Rows::new(&plan, &outcomes, false);
                if let Ok(mut writer) = ReportWriter::new(Vec::with_capacity(4 << 20)) {
                    for row in rows.all() {
                        let _ = writer.write(&row);
                    }
                    black_box(writer.into_inner().map(|out| out.len()).unwrap_or(0));
                }
                started.elapsed()
            })
            .collect(),
    );
    let path = dir.join("report-cost.csv");
    let whole = median(
        (0..5)
            .map(|_| {
                let started = Instant::now();
                let rows = Rows::new(&plan, &outcomes, false);
                if let Err(error) = report::write_file(&path, &rows) {
                    eprintln!("dispatch: cannot write the report: {error}");
                }
                started.elapsed()
            })
            .collect(),
    );
    let per_request = 1.0 / at_16.max(1.0);
    let per_row = formatting.as_secs_f64() / requests as f64;
    let cost = per_row / per_request;
    support::verdict(
        "report writer cost",
        cost < 0.02,
        &format!(
            "{:.2} us a row against {:.1} us a request at concurrency 16: {:.2}% (target < 2%); \
             the whole file, fsync and rename included, took {:.1} ms for {requests} rows",
            per_row * 1e6,
            per_request * 1e6,
            cost * 100.0,
            whole.as_secs_f64() * 1e3,
        ),
    );
}

/// A server that adds 50 ms to every answer: 32 workers allow 640 requests/s. The
/// send loop's rate is read from the sandbox's arrival times (the span from the first
/// arrival to the last, plus one latency for the last answer); the whole run's rate,
/// start-up, reading and the report's fsync included, is shown beside it.
fn latency_bound(dir: &Path) {
    let Ok(sandbox) = start_sandbox(LATENCY) else {
        eprintln!("dispatch: cannot start the slow sandbox");
        return;
    };
    let input = dir.join("latency.csv");
    if support::write_input(&input, LATENCY_REQUESTS, 1).is_err() {
        return;
    }
    let report = dir.join("report-latency.csv");
    let (mut whole, mut sending) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let before = sandbox.requests().len();
        whole.push(run_once(
            &input,
            &sandbox.base_url(),
            LATENCY_WORKERS,
            &report,
            false,
        ));
        let mut arrivals: Vec<Instant> =
            sandbox.requests()[before..].iter().map(|r| r.at).collect();
        arrivals.sort();
        if let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) {
            let span = (*last - *first + LATENCY).as_secs_f64();
            sending.push(arrivals.len() as f64 / span);
        }
    }
    let (whole, sending) = (median_f64(whole), median_f64(sending));
    let allowed = LATENCY_WORKERS as f64 / LATENCY.as_secs_f64();
    support::verdict(
        "latency bound",
        sending >= allowed * 0.95,
        &format!(
            "{sending:.0} requests/s sent at concurrency {LATENCY_WORKERS} over a {} ms \
             server, {:.1}% of the {allowed:.0} it allows (target >= 95%); the whole run, \
             start and report included: {whole:.0} requests/s, {:.1}%",
            LATENCY.as_millis(),
            sending / allowed * 100.0,
            whole / allowed * 100.0
        ),
    );
}
