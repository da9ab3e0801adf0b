//! The Tresen desktop app; everything is in the library (`run_app`).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tresen_app::run_app();
}
