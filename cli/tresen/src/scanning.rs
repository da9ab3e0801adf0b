//! `tresen scan` and `tresen scanner`: listening on real scanners at the counter.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use tresen::outcome::Outcome;
use tresen_cli_support::now;
use tresen_devices::scanner::framing::{AimMode, FramingConfig};
use tresen_devices::scanner::serial::{list_ports, SerialScanner};
use tresen_devices::scanner::usb::{list_devices, Protocol};
use tresen_devices::scanner::{DeviceState, ScannerEvent, Scanners};
use tresen_devices::setting::ScannerSetting;
use tresen_protocol::checkin_record::Method;
use tresen_venue::scan_session::ScanSession;
use tresen_venue::Venue;

use crate::Result;

#[derive(clap::Args)]
pub struct ScanArgs {
    /// The area to start at (scanning an area code switches it).
    #[arg(long)]
    area: Option<String>,
    /// A serial scanner: PATH or PATH@BAUD (default 9600); repeatable.
    #[arg(long = "serial", value_name = "PATH[@BAUD]")]
    serial: Vec<String>,
    /// A USB HID scanner by vendor (and product) id in hex, e.g. 0c2e or 0c2e:0b61; repeatable.
    #[arg(long = "usb", value_name = "VID[:PID]")]
    usb: Vec<String>,
    /// Listen on every serial port and every USB scanner of a known vendor.
    #[arg(long)]
    all: bool,
    /// How serial scanners end a scan: cr, lf, crlf, pause or pause:MS.
    #[arg(long, default_value = "cr")]
    terminator: String,
    /// The keyboard layout USB scanners type in: us or de.
    #[arg(long, default_value = "us")]
    layout: String,
    /// USB report protocol: auto, keyboard or pos.
    #[arg(long, default_value = "auto", value_parser = ["auto", "keyboard", "pos"])]
    usb_protocol: String,
    /// Text the scanner puts before every scan.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Text the scanner puts after every scan.
    #[arg(long, default_value = "")]
    suffix: String,
    /// Keep AIM symbology identifiers (]Q1) instead of stripping them.
    #[arg(long)]
    keep_aim: bool,
    /// How the guests' codes are presented.
    #[arg(long, default_value = "fob", value_parser = ["fob", "app"])]
    method: String,
    /// Add to each line the time from the scan's last byte to its durable record.
    #[arg(long)]
    timings: bool,
}

#[derive(Subcommand)]
pub enum ScannerCmd {
    /// List serial ports and USB scanners, with whether they can be opened.
    List,
}

pub fn list() {
    match list_ports() {
        Ok(ports) if ports.is_empty() => println!("serial: no ports"),
        Ok(ports) => {
            for p in ports {
                let usb = match (p.vendor_id, p.product_id) {
                    (Some(v), Some(pid)) => format!(
                        " usb {v:04x}:{pid:04x} {} {} serial {}",
                        p.manufacturer.unwrap_or_default(),
                        p.product.unwrap_or_default(),
                        p.serial_number.unwrap_or_else(|| "-".into())
                    ),
                    _ => String::new(),
                };
                println!("serial: {} ({}){usb}", p.path, p.kind);
            }
        }
        Err(e) => println!("serial: cannot list ports: {e}"),
    }
    match list_devices() {
        Ok(devs) if devs.is_empty() => println!("usb: no scanners of known vendors"),
        Ok(devs) => {
            for d in devs {
                println!(
                    "usb: {:04x}:{:04x} {} (bus {} address {}): {}",
                    d.vendor_id,
                    d.product_id,
                    d.vendor.unwrap_or_default(),
                    d.bus,
                    d.address,
                    state_text(&d.state)
                );
            }
        }
        Err(e) => println!("usb: {e}"),
    }
}

fn state_text(s: &DeviceState) -> String {
    match s {
        DeviceState::Connected => "connected".into(),
        DeviceState::Waiting { reason, .. } => format!("waiting: {reason}"),
        DeviceState::Error { reason, advice, .. } => format!("error: {reason}; {advice}"),
    }
}

pub fn scan(k: &mut Venue, a: ScanArgs) -> Result<ExitCode> {
    let protocol = match a.usb_protocol.as_str() {
        "keyboard" => Protocol::Keyboard,
        "pos" => Protocol::PointOfSale,
        _ => Protocol::Auto,
    };
    let framing = FramingConfig {
        aim: if a.keep_aim {
            AimMode::Keep
        } else {
            AimMode::Strip
        },
        prefix: a.prefix.clone(),
        suffix: a.suffix.clone(),
        ..FramingConfig::default()
    };
    let mut settings = Vec::new();
    for spec in &a.serial {
        settings.push(ScannerSetting::parse_serial(spec, &a.terminator)?);
    }
    for spec in &a.usb {
        settings.push(ScannerSetting::parse_usb(spec, &a.layout)?);
    }
    let mut scanners = Scanners::new();
    let mut added = 0usize;
    for s in &settings {
        added += 1;
        scanners.add(s.source_with(framing.clone(), protocol)?);
    }
    if a.all {
        let named = |path: &str| {
            settings
                .iter()
                .any(|s| matches!(s, ScannerSetting::Serial { path: p, .. } if p.as_str() == path))
        };
        for p in list_ports().unwrap_or_default() {
            if p.kind == "usb" && !named(&p.path) {
                let s = ScannerSetting::parse_serial(&p.path, &a.terminator)?;
                if let Some(mut c) = s.serial_config(framing.clone())? {
                    c.usb_serial_number = p.serial_number;
                    added += 1;
                    scanners.add(Box::new(SerialScanner::new(c)));
                }
            }
        }
        for d in list_devices().unwrap_or_default() {
            let s = ScannerSetting::Usb {
                vendor_id: d.vendor_id,
                product_id: Some(d.product_id),
                layout: a.layout.clone(),
            };
            added += 1;
            scanners.add(s.source_with(framing.clone(), protocol)?);
        }
    }
    if added == 0 {
        return Err("name a scanner (--serial PATH[@BAUD], --usb VID[:PID]) or use --all; `tresen scanner list` shows what is connected".into());
    }
    let mut session = ScanSession::new(a.area.as_deref().map(|s| k.area_id(s)).transpose()?);
    let method = Method::parse(&a.method).unwrap_or(Method::Fob);
    loop {
        // Idle moments prepare the sealing of the next check-ins.
        k.use_idle_time()?;
        let Some(ev) = scanners.next_event(std::time::Duration::from_secs(3600)) else {
            continue;
        };
        let mut out = std::io::stdout().lock();
        match ev {
            ScannerEvent::State { device, state } => {
                writeln!(out, "# {device}: {}", state_text(&state))?;
            }
            ScannerEvent::Scan(s) => {
                let o = session.handle(k, &s.text, method, now())?;
                write!(out, "{} {}", s.device, Outcome::of_counter(k, &o).line())?;
                if a.timings {
                    // From the scan's last byte or report to here, after the durable write.
                    write!(
                        out,
                        " took={:.3}ms",
                        s.received.elapsed().as_secs_f64() * 1e3
                    )?;
                }
                writeln!(out)?;
            }
        }
        out.flush()?;
    }
}
