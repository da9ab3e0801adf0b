//! `tresen clock`, `settings`, `purge`: the operator's housekeeping.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use tresen_cli_support::now;
use tresen_protocol::time::format_time;
use tresen_venue::{ClockState, Venue};

use crate::Result;

#[derive(Subcommand)]
pub enum ClockCmd {
    /// Whether the clock looks right.
    Show,
    /// Confirm that the clock is right although it looks wrong (written to the audit log).
    Confirm,
}

#[derive(Subcommand)]
pub enum SettingsCmd {
    Show,
    Set {
        key: String,
        value: String,
    },
    /// Start the app in kiosk mode when this user logs in to this PC (on), or not (off).
    Autostart {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

pub fn clock(k: &mut Venue, c: ClockCmd) -> Result<()> {
    match c {
        ClockCmd::Show => match k.clock_state(now())? {
            ClockState::Ok => println!("The clock looks right: {}.", format_time(now())),
            _ => println!("WARNING: {}", k.check_clock_message(now())?),
        },
        ClockCmd::Confirm => {
            if k.confirm_clock(now())? == ClockState::Ok {
                println!("The clock looked right already; nothing to confirm.");
            } else {
                println!("Confirmed: {} is the time now. Purges and approvals run again; the confirmation is in the audit log.", format_time(now()));
            }
        }
    }
    Ok(())
}

/// `settings autostart on|off`: this PC's start at login, without opening the venue.
pub fn autostart(dir: &Path, custom_data_dir: bool, state: &str) -> Result<()> {
    // The app installed next to this command (both in /usr/bin from the package).
    let app = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("tresen-app")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("tresen-app"));
    let on = state == "on";
    let entry = tresen::autostart::set(dir, on, &app, custom_data_dir)?;
    if on {
        println!(
            "Tresen starts in kiosk mode when this user logs in ({}).",
            entry.display()
        );
    } else {
        println!("Tresen no longer starts at login.");
    }
    Ok(())
}

pub fn settings(k: &mut Venue, c: SettingsCmd) -> Result<()> {
    match c {
        SettingsCmd::Autostart { .. } => {}
        SettingsCmd::Show => {
            for (key, min, max, what) in tresen_venue::settings::KEYS {
                let v = k.settings().get(key).unwrap_or_default();
                println!("{key:<26} {v:>6}   ({what}; {min}..{max})");
            }
        }
        SettingsCmd::Set { key, value } => {
            k.set_setting(&key, &value, now())?;
            println!("{key} = {}", value.trim());
        }
    }
    Ok(())
}

pub fn purge(k: &mut Venue) -> Result<ExitCode> {
    let r = k.purge(now())?;
    if r.skipped_clock {
        println!(
            "Nothing was deleted: {} (`tresen clock confirm`)",
            k.check_clock_message(now())?
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "Deleted {} check-in(s) and {} archived area(s); cleared {} old pseudonym(s); {} stay(s) closed at their maximum.",
        r.checkins_deleted, r.areas_deleted, r.pseudonyms_cleared, r.auto_checked_out
    );
    if r.log_kept {
        eprintln!(
            "The database's log could not be emptied: another program (the app, another `tresen` command) kept the database busy, so deleted rows may still lie in it. Close it and run `tresen purge` again; a running app also empties the log within the hour."
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
