//! Scanners: serial ports, USB HID (boot keyboard and point-of-sale), the keyboard wedge
//! and a simulator, behind one interface that yields decoded scans; printers: CUPS over
//! IPP and ESC/POS receipt printers.
#![forbid(unsafe_code)]

pub mod printer;
pub mod scanner;
pub mod setting;
