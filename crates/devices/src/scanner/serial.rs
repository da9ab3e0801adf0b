//! Serial scanners (USB-CDC virtual COM ports, RS-232): open at the configured baud rate,
//! cut the stream into scans, and reconnect when the device is unplugged and comes back.

use std::io::{ErrorKind, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::framing::{Framer, FramingConfig};
use super::{report, DeviceState, Scan, ScanSource, ScannerEvent};

/// How often a missing device is looked for again.
const RETRY: Duration = Duration::from_millis(200);
const READ_TIMEOUT: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// The port, e.g. `/dev/ttyACM0` or a stable `/dev/serial/by-id/…` link.
    pub path: PathBuf,
    /// 9600 by default; 115200 is common.
    pub baud: u32,
    pub framing: FramingConfig,
    /// If set, the port is found again by USB serial number when its path changes
    /// (e.g. `/dev/ttyACM0` comes back as `/dev/ttyACM1`).
    pub usb_serial_number: Option<String>,
}

impl SerialConfig {
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            framing: FramingConfig::default(),
            usb_serial_number: None,
        }
    }
}

pub struct SerialScanner {
    cfg: SerialConfig,
}

impl SerialScanner {
    pub fn new(cfg: SerialConfig) -> Self {
        Self { cfg }
    }
}

/// A serial port as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    pub path: String,
    pub kind: String,
    pub vendor_id: Option<u16>,
    pub product_id: Option<u16>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

/// Lists serial ports with their USB vendor, product and serial number where known.
pub fn list_ports() -> Result<Vec<PortInfo>, String> {
    let ports = serialport::available_ports().map_err(|e| e.to_string())?;
    Ok(ports
        .into_iter()
        .map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(u) => PortInfo {
                path: p.port_name,
                kind: "usb".into(),
                vendor_id: Some(u.vid),
                product_id: Some(u.pid),
                serial_number: u.serial_number,
                manufacturer: u.manufacturer,
                product: u.product,
            },
            other => PortInfo {
                path: p.port_name,
                kind: match other {
                    serialport::SerialPortType::PciPort => "pci",
                    serialport::SerialPortType::BluetoothPort => "bluetooth",
                    _ => "other",
                }
                .into(),
                vendor_id: None,
                product_id: None,
                serial_number: None,
                manufacturer: None,
                product: None,
            },
        })
        .collect())
}

fn advice_for(kind: ErrorKind) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        ErrorKind::PermissionDenied => Some((
            "serial-permission",
            "permission denied",
            "add the user to the 'dialout' group (sudo usermod -aG dialout $USER) and log in again",
        )),
        ErrorKind::ResourceBusy => Some((
            "serial-busy",
            "the port is in use by another program",
            "close the other program (a terminal, ModemManager) or unplug and replug the scanner",
        )),
        _ => None,
    }
}

/// The USB serial number of the device behind a terminal (`ttyACM0`), read from sysfs, so
/// that it works with or without a udev daemon.
fn usb_serial_of(tty: &std::path::Path) -> Option<String> {
    let real = std::fs::canonicalize(tty).ok()?;
    let name = real.file_name()?.to_str()?.to_string();
    let interface = std::fs::canonicalize(format!("/sys/class/tty/{name}/device")).ok()?;
    let serial = std::fs::read_to_string(interface.parent()?.join("serial")).ok()?;
    Some(serial.trim().to_string()).filter(|s| !s.is_empty())
}

/// The terminal whose USB device has this serial number, if one is plugged in.
fn tty_with_serial(serial: &str) -> Option<PathBuf> {
    std::fs::read_dir("/sys/class/tty")
        .ok()?
        .flatten()
        .map(|e| PathBuf::from("/dev").join(e.file_name()))
        .find(|dev| usb_serial_of(dev).as_deref() == Some(serial))
}

impl SerialScanner {
    /// Where the scanner is now: found by its USB serial number once it is known (its path
    /// changes when another device took it meanwhile), else the configured path.
    fn current_path(&self, serial: Option<&str>) -> Option<PathBuf> {
        let Some(sn) = serial else {
            return Some(self.cfg.path.clone());
        };
        if let Some(p) = tty_with_serial(sn) {
            return Some(p);
        }
        list_ports()
            .ok()?
            .into_iter()
            .find(|p| p.serial_number.as_deref() == Some(sn))
            .map(|p| PathBuf::from(p.path))
    }
}

impl ScanSource for SerialScanner {
    fn name(&self) -> String {
        format!("serial:{}", self.cfg.path.display())
    }

    fn run(self: Box<Self>, tx: Sender<ScannerEvent>, stop: Arc<AtomicBool>) {
        let name = self.name();
        let mut last_state: Option<DeviceState> = None;
        let mut set_state = |s: DeviceState| {
            if last_state.as_ref() != Some(&s) {
                report(&tx, &name, s.clone());
                last_state = Some(s);
            }
        };
        // A USB scanner's serial number, once seen: from then on it is followed by it.
        let mut serial = self.cfg.usb_serial_number.clone();
        while !stop.load(Ordering::SeqCst) {
            let Some(path) = self.current_path(serial.as_deref()) else {
                set_state(DeviceState::Waiting {
                    code: "not-connected",
                    reason: format!(
                        "{} is not connected (serial number {})",
                        self.cfg.path.display(),
                        serial.as_deref().unwrap_or_default()
                    ),
                });
                std::thread::sleep(RETRY);
                continue;
            };
            let opened = serialport::new(path.to_string_lossy(), self.cfg.baud)
                .timeout(READ_TIMEOUT)
                .open_native();
            let mut port = match opened {
                Ok(p) => p,
                Err(e) => {
                    let io: std::io::Error = e.into();
                    match advice_for(io.kind()) {
                        Some((code, reason, advice)) => set_state(DeviceState::Error {
                            code,
                            reason: format!("{}: {reason}", path.display()),
                            advice: advice.into(),
                        }),
                        None => set_state(DeviceState::Waiting {
                            code: "not-connected",
                            reason: format!("{} is not connected", path.display()),
                        }),
                    }
                    std::thread::sleep(RETRY);
                    continue;
                }
            };
            if serial.is_none() {
                serial = usb_serial_of(&path);
            }
            set_state(DeviceState::Connected);
            tracing::info!(event = "scanner.connected", device = %name, path = %path.display(), serial = serial.as_deref().unwrap_or(""));
            let mut framer = Framer::new(self.cfg.framing.clone());
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::SeqCst) {
                let result = port.read(&mut buf);
                let now = Instant::now();
                let framed = match result {
                    Ok(0) => break,
                    Ok(n) => framer.feed(&buf[..n], now),
                    Err(e)
                        if e.kind() == ErrorKind::TimedOut
                            || e.kind() == ErrorKind::Interrupted =>
                    {
                        framer.poll(now).into_iter().collect()
                    }
                    Err(_) => break,
                };
                for f in framed {
                    let _ = tx.send(ScannerEvent::Scan(Scan {
                        text: f.text,
                        device: name.clone(),
                        symbology: f.symbology,
                        received: f.last_byte_at,
                    }));
                }
            }
            tracing::info!(event = "scanner.disconnected", device = %name);
            set_state(DeviceState::Waiting {
                code: "unplugged",
                reason: "the scanner was unplugged; waiting for it to come back".into(),
            });
        }
    }
}
