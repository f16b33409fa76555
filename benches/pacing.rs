//! Pacing: with `--rate R` a run takes what R allows (within 2%) and never puts more
//! than R plus the burst into any one-second window; with `--key-limits` no key's
//! window ever holds more than its limit, judged by the sandbox's own windows and by
//! the arrival times in its request log. Criterion times the limiter's and the key
//! windows' bookkeeping, which every request pays even at `--rate 0`.
//!
//! `cargo bench --bench pacing`. Without `--bench` (as `cargo test --benches` runs
//! it) one short paced run is made as a smoke test.

mod support;

use criterion::{Criterion, Throughput};
use ecbulk::limits::WindowSpec;
use ecbulk::sandbox::{LoggedRequest, Sandbox, SandboxConfig};
use ecbulk::send::key_windows::KeyWindows;
use ecbulk::send::pacing::Pacer;
use ecbulk::stop::Stop;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let Some((full, mut criterion, dir)) =
        support::start("pacing", Duration::from_millis(300), Duration::from_secs(1))
    else {
        return;
    };
    bookkeeping(&mut criterion);
    criterion.final_summary();

    if !full {
        let _ = global_rate(dir.path(), 20, 20.0, 1);
        return;
    }
    support::heading(&format!("pacing, {} cores", support::cores()));
    let done = global_rate(dir.path(), 200, 20.0, 1);
    global_rate(dir.path(), 100, 20.0, 5);
    global_rate(dir.path(), 300, 100.0, 10);
    key_windows(dir.path(), "10/1s", 60);
    key_windows(dir.path(), "10/1s,25/4s", 60);
    if let Some(elapsed) = done {
        let off = elapsed.as_secs_f64() / 10.0 - 1.0;
        support::verdict(
            "--rate 20 over 200 accounts takes 10 s",
            off.abs() <= 0.05,
            &format!(
                "{:.2} s, {:+.1}% (target within 5%)",
                elapsed.as_secs_f64(),
                off * 100.0
            ),
        );
    }
}

/// What every request pays to the limiter and the key windows, with nothing to wait
/// for: at `--rate 0` this is pure overhead.
fn bookkeeping(criterion: &mut Criterion) {
    let stop = Stop::new();
    let mut group = criterion.benchmark_group("pacing/bookkeeping");
    group.throughput(Throughput::Elements(1));
    let unlimited = Pacer::new(None, 1);
    let mut rng = fastrand::Rng::with_seed(1);
    group.bench_function("admit_rate0", |b| {
        b.iter(|| black_box(unlimited.admit(&stop, &mut rng)))
    });
    let fast = Pacer::new(Some(1e9), 1_000_000);
    group.bench_function("admit_rate_1e9", |b| {
        b.iter(|| black_box(fast.admit(&stop, &mut rng)))
    });
    for (name, spec) in [
        ("off", WindowSpec::default()),
        ("digicert", WindowSpec::digicert()),
    ] {
        let windows = KeyWindows::new(spec);
        let mut account = 0u32;
        group.bench_function(format!("key_window_{name}"), |b| {
            b.iter(|| {
                // A fresh account each time, as at `--rate 0` over many accounts, so
                // the DigiCert windows never fill.
                account = account.wrapping_add(1);
                drop(black_box(windows.acquire(account, &stop)));
            })
        });
    }
    group.finish();
}

/// `--rate` over `accounts` accounts of their own keys; returns the run's wall time.
fn global_rate(dir: &Path, accounts: usize, rate: f64, burst: u32) -> Option<Duration> {
    let sandbox = start_sandbox(WindowSpec::default())?;
    let input = dir.join(format!("rate-{accounts}.csv"));
    support::write_input(&input, accounts, 1).ok()?;
    let elapsed = run(
        &sandbox,
        &input,
        dir,
        &[
            "--rate",
            &rate.to_string(),
            "--burst",
            &burst.to_string(),
            "--key-limits",
            "off",
            "--concurrency",
            "8",
        ],
    )?;
    let arrivals = arrival_times(&sandbox.requests());
    let span = arrivals
        .last()
        .zip(arrivals.first())
        .map_or(Duration::ZERO, |(last, first)| *last - *first);
    // The burst goes at once; the rest come one every 1/R.
    let allowed = Duration::from_secs_f64(accounts.saturating_sub(burst as usize) as f64 / rate);
    let off = span.as_secs_f64() / allowed.as_secs_f64() - 1.0;
    let busiest = busiest_window(&arrivals, Duration::from_secs(1));
    let ceiling = rate + f64::from(burst);
    println!(
        "  --rate {rate} --burst {burst}, {accounts} requests: run {:.3} s, arrivals span {:.3} s \
         against {:.3} s allowed; busiest second {busiest}",
        elapsed.as_secs_f64(),
        span.as_secs_f64(),
        allowed.as_secs_f64(),
    );
    support::verdict(
        &format!("--rate {rate} --burst {burst}: duration"),
        off.abs() <= 0.02 && arrivals.len() == accounts,
        &format!(
            "{:+.2}% of what the rate allows, {} of {accounts} arrived (target within 2%)",
            off * 100.0,
            arrivals.len()
        ),
    );
    support::verdict(
        &format!("--rate {rate} --burst {burst}: ceiling"),
        busiest as f64 <= ceiling,
        &format!("at most {busiest} in any one second (target <= {ceiling})"),
    );
    Some(elapsed)
}

/// One key, `requests` requests of one address each, with `--key-limits spec` and the
/// sandbox playing the same windows: no 429 may come back, and no window of the log
/// may hold more than its limit.
fn key_windows(dir: &Path, spec: &str, requests: usize) {
    let Ok(windows) = spec.parse::<WindowSpec>() else {
        return;
    };
    let Some(sandbox) = start_sandbox(windows.clone()) else {
        return;
    };
    let input = dir.join("one-key.csv");
    if support::write_input(&input, 1, requests).is_err() {
        return;
    }
    let Some(elapsed) = run(
        &sandbox,
        &input,
        dir,
        &[
            "--rate",
            "0",
            "--key-limits",
            spec,
            "--concurrency",
            "8",
            "--max-emails-per-request",
            "1",
        ],
    ) else {
        return;
    };
    let logged = sandbox.requests();
    let refused = logged.iter().filter(|r| r.status == Some(429)).count();
    let arrivals = arrival_times(&logged);
    let mut worst = Vec::new();
    let mut within = true;
    for window in &windows.0 {
        let busiest = busiest_window(&arrivals, window.period);
        within &= busiest <= window.max as usize;
        worst.push(format!("{busiest}/{} in {:?}", window.max, window.period));
    }
    // The fastest any client could go: each window's limit, then one period more
    // for every further limit's worth of requests.
    let fastest = windows
        .0
        .iter()
        .map(|w| w.period.mul_f64(((requests - 1) / w.max as usize) as f64))
        .max()
        .unwrap_or_default();
    support::verdict(
        &format!("--key-limits {spec}"),
        refused == 0 && within && logged.len() == requests,
        &format!(
            "{} requests, {refused} answered 429, busiest windows {}; {:.2} s against {:.2} s \
             the windows allow at best",
            logged.len(),
            worst.join(", "),
            elapsed.as_secs_f64(),
            fastest.as_secs_f64()
        ),
    );
}

fn start_sandbox(limits: WindowSpec) -> Option<Sandbox> {
    Sandbox::start(SandboxConfig {
        limits,
        ..SandboxConfig::default()
    })
    .map_err(|error| eprintln!("pacing: cannot start the sandbox: {error}"))
    .ok()
}

/// `ecbulk run INPUT --base-url SANDBOX ARGS...`; its wall time, when it succeeded.
fn run(sandbox: &Sandbox, input: &Path, dir: &Path, args: &[&str]) -> Option<Duration> {
    let mut command = support::ecbulk();
    command
        .arg("run")
        .arg(input)
        .args(["--base-url", &sandbox.base_url(), "-q", "--report"])
        .arg(dir.join("report.csv"))
        .args(args);
    match support::measure(&mut command) {
        Ok(cost) if cost.success => Some(cost.wall),
        Ok(_) => {
            eprintln!("pacing: a run did not exit 0 ({})", args.join(" "));
            None
        }
        Err(error) => {
            eprintln!("pacing: a run did not start: {error}");
            None
        }
    }
}

fn arrival_times(logged: &[LoggedRequest]) -> Vec<Instant> {
    let mut times: Vec<Instant> = logged.iter().map(|r| r.at).collect();
    times.sort();
    times
}

/// The most arrivals in any span of `period` (half-open, starting at an arrival,
/// which is where the busiest span of a rolling window always starts).
fn busiest_window(arrivals: &[Instant], period: Duration) -> usize {
    let mut end = 0;
    let mut busiest = 0;
    for (start, &at) in arrivals.iter().enumerate() {
        while end < arrivals.len() && arrivals[end] < at + period {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    busiest
}
