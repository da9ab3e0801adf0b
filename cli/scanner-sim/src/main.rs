//! `scanner-sim`: a serial scanner simulator for demos and tests. It creates a
//! pseudo-terminal (and optionally a stable link to it), prints its path, then sends each
//! line of standard input as one scan, paced at the baud rate. With `--hidg`, it is the
//! device side of a USB gadget instead (`/dev/hidg0`, in the hardware-in-the-loop tests):
//! each line is typed as keyboard reports in a layout, or sent as point-of-sale reports.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tresen_devices::scanner::hid::{keyboard_reports, pos_reports};
use tresen_devices::scanner::sim::{SerialSim, SimConfig};
use tresen_protocol::keyboard_layout::Layout;

#[derive(Parser)]
#[command(
    name = "scanner-sim",
    version,
    about = "Simulates a serial QR scanner on a pseudo-terminal"
)]
struct Args {
    /// Make a symbolic link to the terminal at this path (replaced if it exists).
    #[arg(long)]
    link: Option<PathBuf>,
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// cr, lf, crlf or none.
    #[arg(long, default_value = "cr")]
    terminator: String,
    /// AIM identifier to send before each code, e.g. "]Q1".
    #[arg(long)]
    aim: Option<String>,
    #[arg(long, default_value = "")]
    prefix: String,
    #[arg(long, default_value = "")]
    suffix: String,
    /// Write in chunks of this many bytes (0: as the baud rate allows).
    #[arg(long, default_value_t = 0)]
    chunk: usize,
    /// Send line-noise bytes before each scan.
    #[arg(long)]
    noise: bool,
    /// Write HID reports to this gadget device (`/dev/hidg0`) instead of a terminal.
    #[arg(long, value_name = "DEVICE")]
    hidg: Option<PathBuf>,
    /// With --hidg: `keyboard` (press/release reports, Enter at the end) or `pos`.
    #[arg(long, default_value = "keyboard", value_parser = ["keyboard", "pos"])]
    reports: String,
    /// With --hidg: the layout a keyboard scanner types in (us or de).
    #[arg(long, default_value = "us")]
    layout: String,
    /// With --hidg: pause between reports, in milliseconds.
    #[arg(long, default_value_t = 2)]
    interval_ms: u64,
    /// With --hidg: stop after this many reports of the next line (an unplug in the
    /// middle of a scan).
    #[arg(long)]
    cut_after: Option<usize>,
}

/// The device side of a USB gadget: every line of standard input as reports.
fn gadget(a: &Args, device: &std::path::Path) -> ExitCode {
    let Some(layout) = Layout::parse(&a.layout) else {
        eprintln!("scanner-sim: unknown layout '{}' (us, de)", a.layout);
        return ExitCode::from(2);
    };
    let aim: [u8; 3] = match a.aim.as_deref().map(str::as_bytes) {
        Some([x, y, z]) => [*x, *y, *z],
        _ => [0; 3],
    };
    let mut out = match std::fs::OpenOptions::new().write(true).open(device) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("scanner-sim: cannot open {}: {e}", device.display());
            return ExitCode::FAILURE;
        }
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let code = line.trim_end_matches(['\r', '\n']);
        if code.is_empty() {
            continue;
        }
        let reports: Vec<Vec<u8>> = if a.reports == "pos" {
            pos_reports(code.as_bytes(), &aim)
                .into_iter()
                .map(|r| r.to_vec())
                .collect()
        } else {
            keyboard_reports(code, layout)
                .into_iter()
                .map(|r| r.to_vec())
                .collect()
        };
        let n = a.cut_after.unwrap_or(reports.len()).min(reports.len());
        for r in &reports[..n] {
            if let Err(e) = out.write_all(r) {
                eprintln!("scanner-sim: write failed: {e}");
                return ExitCode::FAILURE;
            }
            std::thread::sleep(std::time::Duration::from_millis(a.interval_ms));
        }
        eprintln!("sent {} of {} reports", n, reports.len());
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let a = Args::parse();
    if let Some(device) = a.hidg.clone() {
        return gadget(&a, &device);
    }
    let terminator = match a.terminator.as_str() {
        "cr" => b"\r".to_vec(),
        "lf" => b"\n".to_vec(),
        "crlf" => b"\r\n".to_vec(),
        "none" => Vec::new(),
        other => {
            eprintln!("scanner-sim: unknown terminator '{other}' (cr, lf, crlf, none)");
            return ExitCode::from(2);
        }
    };
    let cfg = SimConfig {
        baud: a.baud,
        terminator,
        aim: a.aim,
        prefix: a.prefix,
        suffix: a.suffix,
        chunk: a.chunk,
        noise: if a.noise {
            vec![0x00, 0xFF, 0xF0]
        } else {
            Vec::new()
        },
    };
    let mut sim = match SerialSim::new(a.link.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scanner-sim: cannot create a pseudo-terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sim.path().display());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let code = line.trim();
        if code.is_empty() {
            continue;
        }
        match sim.send(code, &cfg) {
            Ok(t) => eprintln!(
                "sent {} characters in {:.1} ms",
                code.len(),
                (t.last_byte - t.first_byte).as_secs_f64() * 1e3
            ),
            Err(e) => {
                eprintln!("scanner-sim: write failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    sim.unplug();
    ExitCode::SUCCESS
}
