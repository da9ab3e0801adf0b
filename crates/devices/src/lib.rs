//! Scanners: serial ports, USB HID (boot keyboard and point-of-sale), the keyboard wedge
//! and a simulator, behind one interface that yields decoded scans.
#![forbid(unsafe_code)]

pub mod scanner;
pub mod setting;
