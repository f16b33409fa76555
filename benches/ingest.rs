//! Ingest: how long reading, validating, grouping and planning takes, and how much
//! memory, for inputs of 10k, 100k and 1M rows (accounts of 5 addresses, with a
//! label column). The whole dry run of the real binary, report written, is set
//! against Python's csv module merely counting the rows and against a bare
//! csv-crate pass that only counts records.
//!
//! `cargo bench --bench ingest`. Without `--bench` (as `cargo test --benches` runs
//! it) only the smallest size runs, once, as a smoke test.

mod support;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ecbulk::input::{self, InputOptions, InputSource};
use ecbulk::plan::{ChunkOptions, Planner};
use ecbulk::report::{ReportWriter, Rows};
use std::cell::RefCell;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{ChildCost, median};

/// Addresses per account, as the issue sets the shape of the input.
const PER_ACCOUNT: usize = 5;

/// Python's csv module counting rows: the yardstick the dry run must beat.
const PYTHON_COUNT: &str =
    "import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=''))))";

struct Size {
    rows: usize,
    file_bytes: u64,
    dry_runs: Vec<ChildCost>,
}

fn main() {
    let Some((full, mut criterion, dir)) =
        support::start("ingest", Duration::from_millis(500), Duration::from_secs(3))
    else {
        return;
    };
    let row_counts: &[usize] = if full {
        &[10_000, 100_000, 1_000_000]
    } else {
        &[10_000]
    };

    let mut sizes = Vec::new();
    for &rows in row_counts {
        let path = dir.path().join(format!("input-{rows}.csv"));
        let Ok(file_bytes) = support::write_input(&path, rows / PER_ACCOUNT, PER_ACCOUNT) else {
            eprintln!("ingest: cannot write {}", path.display());
            return;
        };
        let report = dir.path().join(format!("report-{rows}.csv"));
        let dry_runs = dry_run_bench(&mut criterion, &path, &report, rows);
        sizes.push(Size {
            rows,
            file_bytes,
            dry_runs,
        });
    }

    let largest = dir
        .path()
        .join(format!("input-{}.csv", row_counts[row_counts.len() - 1]));
    let baselines = baseline_bench(&mut criterion, &largest);
    in_process_bench(&mut criterion, &dir.path().join("input-10000.csv"));
    criterion.final_summary();
    if full {
        print_figures(&sizes, &baselines);
    }
}

/// The real binary's dry run, once per criterion iteration; every run's wall time
/// and peak memory are kept for the figures.
fn dry_run_bench(
    criterion: &mut Criterion,
    input: &Path,
    report: &Path,
    rows: usize,
) -> Vec<ChildCost> {
    let costs = RefCell::new(Vec::new());
    let mut group = criterion.benchmark_group("ingest/dry_run");
    group
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::from_parameter(rows), |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let mut command = support::ecbulk();
                command
                    .arg("run")
                    .arg(input)
                    .args(["--dry-run", "-q", "--report"])
                    .arg(report);
                match support::measure(&mut command) {
                    Ok(cost) => {
                        total += cost.wall;
                        costs.borrow_mut().push(cost);
                    }
                    Err(error) => eprintln!("ingest: the dry run did not start: {error}"),
                }
            }
            total
        });
    });
    group.finish();
    costs.into_inner()
}

struct Baselines {
    python: Vec<Duration>,
    csv_count: Vec<Duration>,
    rows: usize,
}

/// The two yardsticks over the largest input: Python's csv module counting rows (a
/// child process, like the dry run) and the csv crate counting records in-process.
fn baseline_bench(criterion: &mut Criterion, input: &Path) -> Baselines {
    let python = RefCell::new(Vec::new());
    let csv_count = RefCell::new(Vec::new());
    let counted = RefCell::new(0);
    let mut group = criterion.benchmark_group("ingest/baseline");
    group.sampling_mode(SamplingMode::Flat);

    let has_python = Command::new("python3").arg("--version").output().is_ok();
    if has_python {
        group.bench_function("python_csv_count", |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let mut command = Command::new("python3");
                    command
                        .args(["-c", PYTHON_COUNT])
                        .arg(input)
                        .stdout(std::process::Stdio::null());
                    if let Ok(cost) = support::measure(&mut command) {
                        total += cost.wall;
                        python.borrow_mut().push(cost.wall);
                    }
                }
                total
            });
        });
    } else {
        println!("ingest: python3 not found; the Python yardstick is skipped");
    }

    group.bench_function("csv_crate_count", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let rows = count_records(input);
                let took = started.elapsed();
                total += took;
                csv_count.borrow_mut().push(took);
                *counted.borrow_mut() = rows;
            }
            total
        });
    });
    group.finish();
    Baselines {
        python: python.into_inner(),
        csv_count: csv_count.into_inner(),
        rows: counted.into_inner(),
    }
}

/// A bare csv-crate pass: records counted, nothing decoded or kept.
fn count_records(path: &Path) -> usize {
    let Ok(mut reader) = csv::ReaderBuilder::new().from_path(path) else {
        return 0;
    };
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        rows += 1;
    }
    rows
}

/// The stages inside the binary, through library calls, to see where time goes.
fn in_process_bench(criterion: &mut Criterion, input: &Path) {
    let source = InputSource::Path(input.to_path_buf());
    let options = InputOptions::default();
    let read = || {
        let mut planner = Planner::new();
        if let Ok(rows) = input::open(&source, &options) {
            for row in rows.flatten() {
                planner.push(&row);
            }
        }
        planner
    };
    let mut group = criterion.benchmark_group("ingest/stages_10k");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("read", |b| {
        b.iter(|| {
            input::open(&source, &options)
                .map(|rows| rows.count())
                .unwrap_or(0)
        })
    });
    group.bench_function("read_and_push", |b| b.iter(read));
    group.bench_function("finish", |b| {
        b.iter_batched(
            read,
            |planner| planner.finish(&ChunkOptions::default()),
            criterion::BatchSize::LargeInput,
        )
    });
    let plan = read().finish(&ChunkOptions::default());
    let outcomes = vec![None; plan.chunks.len()];
    group.bench_function("report", |b| {
        b.iter(|| {
            let rows = Rows::new(&plan, &outcomes, true);
            let Ok(mut writer) = ReportWriter::new(Vec::with_capacity(2 << 20)) else {
                return 0;
            };
            for row in rows.all() {
                let _ = writer.write(&row);
            }
            writer.into_inner().map(|out| out.len()).unwrap_or(0)
        })
    });
    group.finish();
}

fn print_figures(sizes: &[Size], baselines: &Baselines) {
    support::heading(&format!("ingest, {} cores", support::cores()));
    println!(
        "  {:>9} {:>9} {:>10} {:>12} {:>11} {:>9} {:>8}",
        "rows", "file MB", "dry run", "rows/s", "ns/row", "peak MB", "RSS/file"
    );
    for size in sizes {
        let wall = median(size.dry_runs.iter().map(|c| c.wall).collect());
        let rss = size.dry_runs.iter().map(|c| c.max_rss).max().unwrap_or(0);
        println!(
            "  {:>9} {:>9.1} {:>9.3}s {:>12.0} {:>11.0} {:>9.1} {:>8.2}",
            size.rows,
            size.file_bytes as f64 / 1e6,
            wall.as_secs_f64(),
            size.rows as f64 / wall.as_secs_f64(),
            wall.as_nanos() as f64 / size.rows as f64,
            rss as f64 / 1e6,
            rss as f64 / size.file_bytes as f64,
        );
    }
    let failed = sizes
        .iter()
        .flat_map(|s| &s.dry_runs)
        .filter(|c| !c.success)
        .count();
    if failed > 0 {
        println!("  {failed} dry runs did not exit 0");
    }

    let Some(largest) = sizes.last() else {
        return;
    };
    let dry = median(largest.dry_runs.iter().map(|c| c.wall).collect());
    let csv_count = median(baselines.csv_count.clone());
    println!(
        "  csv crate count ({} records): {:.3}s",
        baselines.rows,
        csv_count.as_secs_f64()
    );
    if !baselines.python.is_empty() {
        let python = median(baselines.python.clone());
        println!("  python csv count: {:.3}s", python.as_secs_f64());
        let ratio = dry.as_secs_f64() / python.as_secs_f64();
        support::verdict(
            "dry run vs Python's row count",
            ratio < 1.0,
            &format!("{ratio:.2}x Python's time (target < 1)"),
        );
    }
    let ratio = dry.as_secs_f64() / csv_count.as_secs_f64();
    support::verdict(
        "dry run vs bare csv-crate count",
        ratio <= 2.0,
        &format!("{ratio:.2}x (target <= 2)"),
    );
    let rss = largest
        .dry_runs
        .iter()
        .map(|c| c.max_rss)
        .max()
        .unwrap_or(0);
    let ratio = rss as f64 / largest.file_bytes as f64;
    support::verdict(
        "peak memory vs file size",
        ratio < 2.0,
        &format!("{ratio:.2}x the file (target < 2)"),
    );

    // Linear growth: the time and memory per row should not climb with size. The
    // smallest input is dominated by start-up, so the two larger ones are compared.
    if let [.., middle, last] = sizes {
        let per_row = |s: &Size| {
            median(s.dry_runs.iter().map(|c| c.wall).collect()).as_secs_f64() / s.rows as f64
        };
        let growth = per_row(last) / per_row(middle);
        support::verdict(
            "growth is linear in time",
            growth < 1.3,
            &format!(
                "time per row at {} rows is {growth:.2}x that at {} (target < 1.3)",
                last.rows, middle.rows
            ),
        );
        let rss_per_row = |s: &Size| {
            s.dry_runs.iter().map(|c| c.max_rss).max().unwrap_or(0) as f64 / s.rows as f64
        };
        let growth = rss_per_row(last) / rss_per_row(middle);
        support::verdict(
            "growth is linear in memory",
            growth < 1.3,
            &format!("memory per row {growth:.2}x (target < 1.3)"),
        );
    }
}
