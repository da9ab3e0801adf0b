//! Tresen core: guest codes, venue codes, sealed check-ins in a durable store, the venue
//! key file and the health authority's trust file. Knows nothing of Tauri.
#![forbid(unsafe_code)]

pub mod answer;
pub mod audit;
pub mod authority;
pub mod checkin_record;
pub mod cli;
pub mod contact;
pub mod counter;
pub mod crypto;
pub mod demo;
pub mod documents;
pub mod export;
pub mod files;
pub mod guest_code;
pub mod keyboard_layout;
pub mod keyfile;
pub mod kiosk;
pub mod local_secret;
pub mod media;
pub mod office;
pub mod preferences;
pub mod print;
pub mod request;
pub mod scanner;
pub mod settings;
pub mod store;
pub mod textcode;
pub mod trust;
pub mod venue_code;

pub use kiosk::{Error, Kiosk};
