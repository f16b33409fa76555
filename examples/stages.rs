use ecbulk::input::{self, InputSource};
use ecbulk::plan::{ChunkOptions, Planner};
use ecbulk::report::{ReportWriter, Rows};
use std::time::Instant;
fn cpu() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (u.ru_utime.tv_sec as f64 + u.ru_utime.tv_usec as f64 / 1e6)
        + (u.ru_stime.tv_sec as f64 + u.ru_stime.tv_usec as f64 / 1e6)
}
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = InputSource::Path(path.clone().into());
    let t = cpu();
    let w = Instant::now();
    let mut r = csv::ReaderBuilder::new().from_path(&path).unwrap();
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while r.read_byte_record(&mut rec).unwrap() {
        n += 1;
    }
    println!(
        "csv count {n}: cpu {:.3} wall {:.3}",
        cpu() - t,
        w.elapsed().as_secs_f64()
    );
    let t = cpu();
    let n = input::open(&src, &Default::default()).unwrap().count();
    println!("read {n}: cpu {:.3}", cpu() - t);
    let t = cpu();
    let mut p = Planner::new();
    for row in input::open(&src, &Default::default()).unwrap() {
        p.push(&row.unwrap());
    }
    println!("read+push: cpu {:.3}", cpu() - t);
    let t = cpu();
    let plan = p.finish(&ChunkOptions::default());
    println!("finish: cpu {:.3}", cpu() - t);
    let t = cpu();
    let rows = Rows::new(&plan, &[], true);
    let mut wr = ReportWriter::new(Vec::with_capacity(200 << 20)).unwrap();
    for row in rows.all() {
        wr.write(&row).unwrap();
    }
    let out = wr.into_inner().unwrap();
    println!("report {} bytes: cpu {:.3}", out.len(), cpu() - t);
    let t = cpu();
    let s = ecbulk::summary::Summary::count(&plan, rows.all(), 0);
    println!("summary {}: cpu {:.3}", s.total_rows(), cpu() - t);
    let t = cpu();
    drop(plan);
    println!("drop: cpu {:.3}", cpu() - t);
}
