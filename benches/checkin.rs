//! From a scanned code string to a durable check-in, next to a bare fsync'd SQLite insert
//! on the same disk, measured interleaved in one run.
//!
//! `cargo bench --bench checkin` (N=10000 by default; `TRESEN_BENCH_N` changes it,
//! `TRESEN_BENCH_DIR` picks the folder/disk; default: target/ of this checkout).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tresen_protocol::checkin_record::Method;

mod common;

fn stats(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "{name:<34} n={:<6} median {:>8.3} ms   p99 {:>8.3} ms   mean {:>8.3} ms   max {:>8.3} ms",
        v.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    );
    pct(0.5)
}

fn main() {
    let Some(n) = common::size(10_000) else {
        return;
    };
    let v = common::venue();
    let codes = common::guest_codes(&v, n + 100);
    let (mut k, area) = (v.venue, v.area);
    let now = common::now;
    common::bare_table(&k);
    let mut checkin = Vec::with_capacity(n);
    let mut bare = Vec::with_capacity(n);
    for (i, code) in codes.iter().enumerate() {
        let t = Instant::now();
        k.scan_guest(code, area, None, Method::Fob, now())
            .expect("check-in");
        let d = t.elapsed();
        let b = common::bare_insert(&k, i);
        if i >= 100 {
            checkin.push(d);
            bare.push(b);
        }
    }
    println!("disk folder: {}", common::base_dir().display());
    let a = stats("code string -> durable check-in", checkin);
    let b = stats("bare fsync'd insert (same db)", bare);
    println!(
        "median overhead of a check-in over a bare insert: {:.3} ms ({:.2}x)",
        (a.as_secs_f64() - b.as_secs_f64()) * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
}
