//! A guest-code scan through a pseudo-terminal at 115200 baud into a durable check-in:
//! (a) the wire time of the scan's bytes, (b) the time from the last byte to the
//! check-in being durable, beside a bare fsync'd SQLite insert on the same database,
//! measured interleaved in the same run, each after an idle pause as long as a scan.
//!
//! `cargo bench --bench scan` (3000 scans by default, for a steady p99; `TRESEN_BENCH_N` changes it,
//! `TRESEN_BENCH_DIR` picks the disk; default: target/ of this checkout;
//! `TRESEN_BENCH_NO_IDLE=1` leaves out the counter's idle work between scans).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tresen_devices::scanner::serial::{SerialConfig, SerialScanner};
use tresen_devices::scanner::sim::{SerialSim, SimConfig};
use tresen_devices::scanner::{DeviceState, ScannerEvent, Scanners};
use tresen_protocol::checkin_record::Method;
use tresen_venue::scan_session::{ScanSession, SessionOutcome};
use tresen_venue::ScanOutcome;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn line(name: &str, v: &mut [Duration]) -> (Duration, Duration) {
    let (m, p) = (pct(v, 0.5), pct(v, 0.99));
    println!(
        "{name:<40} n={:<5} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
        v.len(),
        m.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    );
    (m, p)
}

mod common;

fn main() {
    let Some(n) = common::size(3000) else {
        return;
    };
    let warmup = 20;
    let v = common::venue();
    let codes = common::guest_codes(&v, n + warmup);
    let (mut k, area) = (v.venue, v.area);
    let now = common::now;
    common::bare_table(&k);

    let mut sim = SerialSim::new(None).expect("pseudo-terminal");
    let mut scanners = Scanners::new();
    scanners.add(Box::new(SerialScanner::new(SerialConfig::new(
        sim.path(),
        115_200,
    ))));
    loop {
        if let Some(ScannerEvent::State {
            state: DeviceState::Connected,
            ..
        }) = scanners.next_event(Duration::from_secs(5))
        {
            break;
        }
    }
    let cfg = SimConfig {
        baud: 115_200,
        ..SimConfig::default()
    };
    let mut counter = ScanSession::new(Some(area));
    let (mut wire, mut to_durable, mut bare, mut read_to_durable) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut handoff, mut checkin) = (Vec::new(), Vec::new());
    // TRESEN_BENCH_NO_IDLE=1 measures without the idle work between scans.
    let idle = std::env::var_os("TRESEN_BENCH_NO_IDLE").is_none();
    for (i, code) in codes.iter().enumerate() {
        if idle {
            k.use_idle_time().expect("idle work");
        }
        let t = sim.send(code, &cfg).expect("send");
        let scan = loop {
            match scanners.next_event(Duration::from_secs(5)) {
                Some(ScannerEvent::Scan(s)) => break s,
                Some(_) => continue,
                None => panic!("the scan did not arrive"),
            }
        };
        let taken = Instant::now();
        let outcome = counter
            .handle(&mut k, &scan.text, Method::Fob, now())
            .expect("check-in");
        let done = Instant::now();
        assert!(matches!(
            outcome,
            SessionOutcome::Guest(ScanOutcome::CheckedIn { .. })
        ));
        // The bare insert gets the same conditions as the check-in: right after a pause as
        // long as a scan's wire time (the CPU and disk are as idle as before a scan).
        std::thread::sleep(t.last_byte - t.first_byte);
        let b = common::bare_insert(&k, i);
        if i >= warmup {
            wire.push(t.last_byte - t.first_byte);
            to_durable.push(done - t.last_byte);
            read_to_durable.push(done - scan.received);
            handoff.push(taken - scan.received);
            checkin.push(done - taken);
            bare.push(b);
        }
    }
    println!(
        "disk folder: {}; {} scans of {} characters at 115200 baud",
        common::base_dir().display(),
        n,
        codes[0].len()
    );
    line("(a) wire time of a scan", &mut wire);
    let (bm, bp) = line("(b) last byte -> durable check-in", &mut to_durable);
    line(
        "    of which: read by reader -> durable",
        &mut read_to_durable,
    );
    line("      reader -> counter's thread", &mut handoff);
    line("      the counter's check-in", &mut checkin);
    let (im, ip) = line("bare fsync'd insert (same db)", &mut bare);
    println!(
        "(b) / bare insert: median {:.2}x, p99 {:.2}x (goal: p99 under 1.5x)",
        bm.as_secs_f64() / im.as_secs_f64(),
        bp.as_secs_f64() / ip.as_secs_f64()
    );
}
