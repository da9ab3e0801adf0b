//! Tresen's use cases: every flow both front ends (the app and the command-line tools)
//! offer, written once over the floors below. Knows nothing of Tauri or clap.
#![forbid(unsafe_code)]

pub mod about;
pub mod autostart;
pub mod dashboard;
pub mod demo;
mod error;
pub mod key_restore;
pub mod outcome;
pub mod pc_preferences;
pub mod printing;
pub mod request_file;

pub use error::Error;
