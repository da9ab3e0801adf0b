//! Scanners: one interface that yields decoded scans from any source — serial ports, USB
//! HID scanners (keyboard and point-of-sale reports), the keyboard-wedge field of the app,
//! and the simulator — so the check-in logic does not care where a scan came from.
//!
//! Every source runs on its own thread and sends [`ScannerEvent`]s (scans and device
//! state changes) into one channel that [`Scanners`] owns.

pub mod framing;
pub mod hid;
pub mod serial;
pub mod sim;
pub mod usb;
pub mod wedge;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The symbology a scanner reported (from an AIM identifier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symbology {
    Qr,
    DataMatrix,
    Aztec,
    Code128,
    EanUpc,
    Code39,
    Pdf417,
    Other(String),
}

impl Symbology {
    /// From the AIM identifier `]` + code character + modifier (ISO/IEC 15424).
    pub fn from_aim(code: char, modifier: char) -> Symbology {
        match code {
            'Q' => Symbology::Qr,
            'd' => Symbology::DataMatrix,
            'z' => Symbology::Aztec,
            'C' => Symbology::Code128,
            'E' => Symbology::EanUpc,
            'A' => Symbology::Code39,
            'L' => Symbology::Pdf417,
            _ => Symbology::Other(format!("]{code}{modifier}")),
        }
    }
}

/// One decoded scan.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub text: String,
    /// The device it came from, e.g. `serial:/dev/ttyACM0` or `usb:0c2e:0b61`.
    pub device: String,
    pub symbology: Option<Symbology>,
    /// When the last byte of the scan arrived (for latency measurements).
    #[serde(skip)]
    pub received: Instant,
}

/// What a device is doing, with what to do about an error. `code` names the situation
/// for the window to word (`device.<code>` in its texts); `reason` and `advice` are the
/// English sentences the `tresen` tool prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DeviceState {
    Connected,
    /// Not plugged in (or not yet found); Tresen keeps looking.
    Waiting {
        code: &'static str,
        reason: String,
    },
    /// The device is there but cannot be used; `advice` says what to do.
    Error {
        code: &'static str,
        reason: String,
        advice: String,
    },
}

#[derive(Debug, Clone)]
pub enum ScannerEvent {
    Scan(Scan),
    State { device: String, state: DeviceState },
}

/// A source of scans that runs until `stop` is set.
pub trait ScanSource: Send + 'static {
    fn name(&self) -> String;
    fn run(self: Box<Self>, events: Sender<ScannerEvent>, stop: Arc<AtomicBool>);
}

/// The running sources and the channel their events arrive on.
pub struct Scanners {
    tx: Sender<ScannerEvent>,
    rx: Receiver<ScannerEvent>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    states: BTreeMap<String, DeviceState>,
}

impl Default for Scanners {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanners {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Self {
            tx,
            rx,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            states: BTreeMap::new(),
        }
    }

    /// Starts a source on its own thread.
    pub fn add(&mut self, source: Box<dyn ScanSource>) {
        let name = source.name();
        self.states.insert(
            name.clone(),
            DeviceState::Waiting {
                code: "starting",
                reason: "starting".into(),
            },
        );
        let tx = self.tx.clone();
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("scanner {name}"))
            .spawn(move || source.run(tx, stop));
        match spawned {
            Ok(h) => self.threads.push(h),
            Err(e) => {
                self.states.insert(
                    name,
                    DeviceState::Error {
                        code: "thread-failed",
                        reason: format!("could not start a reader thread: {e}"),
                        advice: "restart Tresen".into(),
                    },
                );
            }
        }
    }

    /// A sender for in-process sources (the app's keyboard-wedge field).
    pub fn sender(&self) -> Sender<ScannerEvent> {
        self.tx.clone()
    }

    /// Waits up to `timeout` for the next event and records device states.
    pub fn next_event(&mut self, timeout: Duration) -> Option<ScannerEvent> {
        match self.rx.recv_timeout(timeout) {
            Ok(ev) => {
                if let ScannerEvent::State { device, state } = &ev {
                    self.states.insert(device.clone(), state.clone());
                }
                Some(ev)
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    pub fn states(&self) -> &BTreeMap<String, DeviceState> {
        &self.states
    }
}

impl Drop for Scanners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sends a state change, ignoring a receiver that has gone away (shutting down).
pub(crate) fn report(tx: &Sender<ScannerEvent>, device: &str, state: DeviceState) {
    let _ = tx.send(ScannerEvent::State {
        device: device.to_string(),
        state,
    });
}
