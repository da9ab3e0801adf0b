//! `scanner-sim`: a serial scanner simulator for demos and tests. It creates a
//! pseudo-terminal (and optionally a stable link to it), prints its path, then sends each
//! line of standard input as one scan, paced at the baud rate.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tresen_devices::scanner::sim::{SerialSim, SimConfig};

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
}

fn main() -> ExitCode {
    let a = Args::parse();
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
