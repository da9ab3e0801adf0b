//! USB HID scanners read directly with libusb (`rusb`): the interface is claimed (and the
//! kernel's keyboard driver detached where the OS allows) so that scans do not leak as
//! keystrokes into other programs, and reports are decoded by [`super::hid`] — keyboard
//! reports through the scanner's own layout, or point-of-sale reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusb::UsbContext;
use serde::Serialize;

use super::hid::{KeyboardDecoder, PosDecoder};
use super::{report, DeviceState, Scan, ScanSource, ScannerEvent};
use tresen_protocol::keyboard_layout::Layout;

/// Vendors whose HID devices are taken for scanners without asking.
pub const KNOWN_VENDORS: &[(u16, &str)] = &[
    (0x0c2e, "Honeywell"),
    (0x05e0, "Zebra (Symbol)"),
    (0x05f9, "Datalogic"),
    (0x1eab, "Newland"),
    (0x065a, "Opticon"),
    (0x2745, "Unitech"),
];

const RESCAN: Duration = Duration::from_millis(500);
const READ_TIMEOUT: Duration = Duration::from_millis(100);
const UDEV_ADVICE: &str = "install the udev rule shipped with Tresen: sudo cp assets/udev/70-tresen-scanners.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger, then replug the scanner";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Decide from the device: point-of-sale if its report descriptor uses page 0x8C.
    Auto,
    Keyboard,
    PointOfSale,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbConfig {
    pub vendor_id: u16,
    pub product_id: Option<u16>,
    /// The layout the scanner is set to type in (keyboard reports only).
    pub layout: Layout,
    pub protocol: Protocol,
}

/// A USB device that looks like a scanner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbDeviceInfo {
    pub vendor_id: u16,
    pub product_id: u16,
    pub vendor: Option<String>,
    pub bus: u8,
    pub address: u8,
    pub state: DeviceState,
}

/// Lists HID devices of known scanner vendors, with whether Tresen may open them.
pub fn list_devices() -> Result<Vec<UsbDeviceInfo>, String> {
    let ctx = rusb::Context::new().map_err(|e| format!("USB is not available: {e}"))?;
    let devices = ctx.devices().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in devices.iter() {
        let Ok(desc) = d.device_descriptor() else {
            continue;
        };
        let Some(&(_, vendor)) = KNOWN_VENDORS.iter().find(|(v, _)| *v == desc.vendor_id()) else {
            continue;
        };
        let state = match d.open() {
            Ok(_) => DeviceState::Connected,
            Err(e) => error_state(e),
        };
        out.push(UsbDeviceInfo {
            vendor_id: desc.vendor_id(),
            product_id: desc.product_id(),
            vendor: Some(vendor.to_string()),
            bus: d.bus_number(),
            address: d.address(),
            state,
        });
    }
    Ok(out)
}

fn error_state(e: rusb::Error) -> DeviceState {
    match e {
        rusb::Error::Access => DeviceState::Error {
            code: "usb-access",
            reason: "the system refuses access to the scanner".into(),
            advice: UDEV_ADVICE.into(),
        },
        rusb::Error::Busy => DeviceState::Error {
            code: "usb-busy",
            reason: "the scanner is in use by another program or driver".into(),
            advice: "close other scanner programs; if the kernel keeps it, unplug and replug the scanner".into(),
        },
        rusb::Error::NoDevice | rusb::Error::NotFound => DeviceState::Waiting {
            code: "not-connected",
            reason: "the scanner is not connected".into(),
        },
        other => DeviceState::Error {
            code: "usb-error",
            reason: format!("USB error: {other}"),
            advice: "unplug and replug the scanner; if it persists, try another USB port".into(),
        },
    }
}

pub struct UsbScanner {
    cfg: UsbConfig,
}

impl UsbScanner {
    pub fn new(cfg: UsbConfig) -> Self {
        Self { cfg }
    }
}

/// The HID interface to read: its number, interrupt-IN endpoint and packet size.
struct Endpoint {
    interface: u8,
    address: u8,
    max_packet: usize,
    boot_keyboard: bool,
}

fn find_endpoint(device: &rusb::Device<rusb::Context>) -> Result<Endpoint, rusb::Error> {
    let config = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))?;
    for interface in config.interfaces() {
        for alt in interface.descriptors() {
            if alt.class_code() != 0x03 {
                continue;
            }
            for ep in alt.endpoint_descriptors() {
                if ep.direction() == rusb::Direction::In
                    && ep.transfer_type() == rusb::TransferType::Interrupt
                {
                    return Ok(Endpoint {
                        interface: alt.interface_number(),
                        address: ep.address(),
                        max_packet: usize::from(ep.max_packet_size()).clamp(8, 1024),
                        boot_keyboard: alt.sub_class_code() == 1 && alt.protocol_code() == 1,
                    });
                }
            }
        }
    }
    Err(rusb::Error::NotFound)
}

/// True if the interface's HID report descriptor uses the point-of-sale usage page 0x8C.
fn is_point_of_sale(handle: &rusb::DeviceHandle<rusb::Context>, interface: u8) -> bool {
    let mut buf = [0u8; 1024];
    let request_type = rusb::request_type(
        rusb::Direction::In,
        rusb::RequestType::Standard,
        rusb::Recipient::Interface,
    );
    match handle.read_control(
        request_type,
        0x06,
        0x2200,
        u16::from(interface),
        &mut buf,
        Duration::from_millis(500),
    ) {
        Ok(n) => {
            buf[..n].windows(2).any(|w| w == [0x05, 0x8C])
                || buf[..n].windows(3).any(|w| w == [0x06, 0x8C, 0x00])
        }
        Err(_) => false,
    }
}

enum Decoder {
    Keyboard(KeyboardDecoder),
    Pos(PosDecoder),
}

impl UsbScanner {
    fn find(&self, ctx: &rusb::Context) -> Option<rusb::Device<rusb::Context>> {
        ctx.devices().ok()?.iter().find(|d| {
            d.device_descriptor()
                .map(|desc| {
                    desc.vendor_id() == self.cfg.vendor_id
                        && self.cfg.product_id.is_none_or(|p| p == desc.product_id())
                })
                .unwrap_or(false)
        })
    }

    /// Reads from one connected device until it goes away or `stop` is set.
    fn serve(
        &self,
        device: rusb::Device<rusb::Context>,
        name: &str,
        tx: &Sender<ScannerEvent>,
        stop: &AtomicBool,
    ) -> Result<(), rusb::Error> {
        let ep = find_endpoint(&device)?;
        let handle = device.open()?;
        // Where detaching is not supported (not Linux) the claim below says so.
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle.claim_interface(ep.interface)?;
        let pos = match self.cfg.protocol {
            Protocol::PointOfSale => true,
            Protocol::Keyboard => false,
            Protocol::Auto => is_point_of_sale(&handle, ep.interface),
        };
        if !pos && ep.boot_keyboard {
            // SET_PROTOCOL(boot): 8-byte keyboard reports whatever the device defaults to.
            let request_type = rusb::request_type(
                rusb::Direction::Out,
                rusb::RequestType::Class,
                rusb::Recipient::Interface,
            );
            let _ = handle.write_control(
                request_type,
                0x0B,
                0,
                u16::from(ep.interface),
                &[],
                Duration::from_millis(200),
            );
        }
        let mut decoder = if pos {
            Decoder::Pos(PosDecoder::new())
        } else {
            Decoder::Keyboard(KeyboardDecoder::new(self.cfg.layout))
        };
        report(tx, name, DeviceState::Connected);
        tracing::info!(event = "scanner.connected", device = %name, pos);
        let mut buf = vec![0u8; ep.max_packet.max(64)];
        while !stop.load(Ordering::SeqCst) {
            let n = match handle.read_interrupt(ep.address, &mut buf, READ_TIMEOUT) {
                Ok(n) => n,
                Err(rusb::Error::Timeout) | Err(rusb::Error::Interrupted) => continue,
                Err(e) => return Err(e),
            };
            let scan = match &mut decoder {
                Decoder::Keyboard(d) => d.feed(&buf[..n]).map(|t| (t, None)),
                Decoder::Pos(d) => d.feed(&buf[..n]).unwrap_or_else(|e| {
                    tracing::warn!(event = "scanner.bad_report", device = %name, error = %e);
                    None
                }),
            };
            if let Some((text, symbology)) = scan {
                let _ = tx.send(ScannerEvent::Scan(Scan {
                    text,
                    device: name.to_string(),
                    symbology,
                    received: Instant::now(),
                }));
            }
        }
        let _ = handle.release_interface(ep.interface);
        Ok(())
    }
}

impl ScanSource for UsbScanner {
    fn name(&self) -> String {
        match self.cfg.product_id {
            Some(p) => format!("usb:{:04x}:{:04x}", self.cfg.vendor_id, p),
            None => format!("usb:{:04x}", self.cfg.vendor_id),
        }
    }

    fn run(self: Box<Self>, tx: Sender<ScannerEvent>, stop: Arc<AtomicBool>) {
        let name = self.name();
        let ctx = match rusb::Context::new() {
            Ok(c) => c,
            Err(e) => {
                report(
                    &tx,
                    &name,
                    DeviceState::Error {
                        code: "usb-unavailable",
                        reason: format!("USB is not available on this PC: {e}"),
                        advice: "use a serial (virtual COM) or keyboard-wedge scanner".into(),
                    },
                );
                return;
            }
        };
        let mut ctx = ctx;
        let mut last: Option<DeviceState> = None;
        while !stop.load(Ordering::SeqCst) {
            let state = match self.find(&ctx) {
                None => DeviceState::Waiting {
                    code: "not-connected",
                    reason: "the scanner is not connected".into(),
                },
                Some(device) => match self.serve(device, &name, &tx, &stop) {
                    Ok(()) => return,
                    Err(e) => {
                        last = Some(DeviceState::Connected);
                        error_state(e)
                    }
                },
            };
            if last.as_ref() != Some(&state) {
                report(&tx, &name, state.clone());
                last = Some(state);
            }
            std::thread::sleep(RESCAN);
            // libusb learns of a replugged device from udev's events; where no udev daemon
            // runs (a minimal system, a container) only a fresh context lists it again.
            if let Ok(fresh) = rusb::Context::new() {
                ctx = fresh;
            }
        }
    }
}
