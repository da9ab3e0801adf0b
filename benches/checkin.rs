//! From a scanned code string to a durable check-in, next to a bare fsync'd SQLite insert
//! on the same disk, measured interleaved in one run, the two taking turns at going first.
//!
//! `cargo bench --bench checkin` (N=10000 by default; `TRESEN_BENCH_N` changes it,
//! `TRESEN_BENCH_DIR` picks the folder/disk; default: target/ of this checkout;
//! `TRESEN_BENCH_BACK_TO_BACK=1` leaves out the idle moment before each check-in).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tresen_protocol::checkin_record::Method;

mod common;

fn stats(name: &str, mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<34} n={:<6} median {:>7.3} ms   p90 {:>7.3} ms   p99 {:>7.3} ms   p99.9 {:>7.3} ms   max {:>8.3} ms",
        v.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(0.999).as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    );
    (pct(0.5), pct(0.99))
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
    // TRESEN_BENCH_BACK_TO_BACK=1: no idle moment between check-ins (no maintenance between
    // them), as in a batch from a file.
    let idle = std::env::var_os("TRESEN_BENCH_BACK_TO_BACK").is_none();
    for (i, code) in codes.iter().enumerate() {
        if idle {
            k.use_idle_time().expect("idle work");
        }
        // The two take turns at going first, so that neither alone pays for the moment
        // after the idle work (its caches, the disk's queue).
        let bare_first = i % 2 == 1;
        let b_first = bare_first.then(|| common::bare_insert(&k, i));
        let t = Instant::now();
        k.scan_guest(code, area, None, Method::Fob, now())
            .expect("check-in");
        let d = t.elapsed();
        let b = b_first.unwrap_or_else(|| common::bare_insert(&k, i));
        if i >= 100 {
            checkin.push(d);
            bare.push(b);
        }
    }
    println!(
        "disk folder: {}; {}",
        common::base_dir().display(),
        if idle {
            "an idle moment before each check-in, as at a counter"
        } else {
            "back to back"
        }
    );
    let a = stats("code string -> durable check-in", checkin);
    let b = stats("bare fsync'd insert (same db)", bare);
    println!(
        "check-in / bare insert: median {:.2}x, p99 {:.2}x (goal: p99 under 1.5x)",
        a.0.as_secs_f64() / b.0.as_secs_f64(),
        a.1.as_secs_f64() / b.1.as_secs_f64()
    );
}
