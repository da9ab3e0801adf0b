//! Start-up and memory of the real app: from process start to the counter window being
//! ready and to the first scan from a serial scanner being accepted (a check-in durable
//! in the database), over several cold starts; then the resident memory after 1000 scans.
//! Needs a display: `xvfb-run -a cargo bench -p tresen-app --bench startup`.
//! The venue keeps its local secret in a file here, so no keyring is needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../benches/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tresen_devices::scanner::sim::{SerialSim, SimConfig};

const RUNS: usize = 5;
/// Scans before the memory is read again (`TRESEN_BENCH_N` changes it).
const SCANS: usize = 1000;

struct App {
    child: Child,
    lines: Receiver<(Instant, String)>,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path, link: &std::path::Path) -> (Instant, App) {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tresen-app"))
        .env("RUST_LOG", "tresen_app=info")
        .env("TRESEN_DATA_DIR", data)
        .env("TRESEN_SERIAL", format!("{}@115200", link.display()))
        .env("TRESEN_AREA", "A")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the app (under xvfb-run)");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    (t0, App { child, lines })
}

fn rss_kib(pid: u32) -> u64 {
    common::status_kib(&pid.to_string(), "VmRSS:")
}

/// The parent of a process, from /proc/PID/stat (the field after the command name).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The app and every process it started (WebKit's web and network processes).
fn tree_rss_kib(root: u32) -> u64 {
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let descends = |mut p: u32| {
        for _ in 0..16 {
            if p == root {
                return true;
            }
            match parent(p) {
                Some(q) if q > 1 => p = q,
                _ => return false,
            }
        }
        false
    };
    pids.into_iter().filter(|&p| descends(p)).map(rss_kib).sum()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let Some(scans) = common::size(SCANS) else {
        return;
    };
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!("startup bench skipped: needs a display (xvfb-run -a cargo bench -p tresen-app --bench startup)");
        return;
    }
    let mut v = common::venue();
    // The wizard's steps, so the app opens on the counter.
    v.venue.postpone_backup(common::now()).expect("postpone");
    v.venue.set_operator_pin("470815", 0).expect("pin");
    let data = v.dir.path().join("data");
    // The app reads areas through its own connection; the bench's is closed first.
    let codes = common::guest_codes(&v, RUNS * 20 + scans);
    drop(v.venue);
    let mut codes = codes.into_iter();
    let link = v.dir.path().join("scanner");
    let mut sim = SerialSim::new(Some(&link)).expect("pty");
    let cfg = SimConfig {
        baud: 115_200,
        ..SimConfig::default()
    };
    let (mut ready, mut first_scan, mut interactive) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for run in 0..RUNS {
        let (t0, app) = start(&data, &link);
        let (mut window, mut scan) = (None, None);
        let deadline = t0 + Duration::from_secs(30);
        while (window.is_none() || scan.is_none()) && Instant::now() < deadline {
            if scan.is_none() {
                // A guest keeps scanning until the counter takes the code.
                let _ = sim.send(&codes.next().expect("codes"), &cfg);
            }
            while let Ok((at, line)) = app.lines.recv_timeout(Duration::from_millis(50)) {
                if line.contains("window.ready") {
                    window.get_or_insert(at - t0);
                }
                if line.contains("scan.handled") && line.contains("code=checked-in") {
                    scan.get_or_insert(at - t0);
                }
            }
        }
        let (Some(w), Some(s)) = (window, scan) else {
            panic!("run {run}: the app did not become ready within 30 s");
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "run {run}: window ready {:.0} ms, first scan accepted {:.0} ms",
            ms(w),
            ms(s)
        );
        ready.push(ms(w));
        first_scan.push(ms(s));
        interactive.push(ms(w.max(s)));
        if run + 1 == RUNS {
            last = Some(app);
        }
    }
    println!(
        "start-up over {RUNS} runs (median): window ready {:.0} ms, first scan accepted {:.0} ms, interactive (both) {:.0} ms",
        median(&mut ready),
        median(&mut first_scan),
        median(&mut interactive)
    );
    let Some(app) = last else { return };
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib(app.child.id());
    let before_all = tree_rss_kib(app.child.id());
    for (i, code) in codes.by_ref().take(scans).enumerate() {
        if i > 0 && i % 500 == 0 {
            println!(
                "  after {i} scans: app {:.1} MiB, with WebKit {:.1} MiB",
                rss_kib(app.child.id()) as f64 / 1024.0,
                tree_rss_kib(app.child.id()) as f64 / 1024.0
            );
        }
        sim.send(&code, &cfg).expect("send");
        loop {
            match app.lines.recv_timeout(Duration::from_secs(10)) {
                Ok((_, line)) if line.contains("scan.handled") => break,
                Ok(_) => {}
                Err(_) => panic!("a scan was not handled within 10 s"),
            }
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(app.child.id());
    let after_all = tree_rss_kib(app.child.id());
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "resident memory, app process: {:.1} MiB after start-up, {:.1} MiB after {scans} scans",
        mib(before),
        mib(after)
    );
    println!(
        "resident memory, app with its WebKit processes: {:.1} MiB after start-up, {:.1} MiB after {scans} scans",
        mib(before_all),
        mib(after_all)
    );
}
