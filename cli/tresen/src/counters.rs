//! `tresen counter`: several counters of one venue sharing a server database — join
//! files from the operator's PC, joining a new counter, the counters' logins, and
//! forwarding the scans a counter kept while the server was away.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use tresen_cli_support::{now, PassphraseSource};
use tresen_protocol::files::read_bounded;
use tresen_protocol::join_file;
use tresen_protocol::time::format_time;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::Venue;

use crate::Result;

#[derive(Subcommand)]
pub enum CounterCmd {
    /// Set this PC up as a counter of a venue on a server, from the join file the
    /// operator made; asks for the one-time passphrase shown next to it.
    Join {
        file: PathBuf,
        /// Where this counter keeps the venue's pseudonym secret: the OS keychain, or
        /// (explicitly) a file.
        #[arg(long, default_value = "keyring", value_parser = ["keyring", "file"])]
        secret_store: String,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Make a join file for a new counter (operator's PC); prints its one-time passphrase.
    Add {
        /// A name for the counter, e.g. "Terrasse" or "Eingang 2".
        name: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The counters that joined, with their database logins.
    List,
    /// Take a counter's database login away (a stolen or retired PC).
    Revoke { login: String },
    /// Forward the scans this counter kept while the server was away, now.
    Sync,
}

/// `counter join` works before a venue is open here.
pub fn join(
    dir: &Path,
    file: &Path,
    secret_store: &str,
    pass: &PassphraseSource,
) -> Result<ExitCode> {
    let sealed = read_bounded(file, join_file::MAX_BYTES)
        .map_err(|e| format!("could not read the join file {}: {e}", file.display()))?;
    let passphrase = pass.read("One-time passphrase of the join file", false)?;
    let store = SecretStore::parse(secret_store).unwrap_or(SecretStore::Keyring);
    let venue = Venue::join(dir, &sealed, passphrase.typed(), store, now())?;
    println!(
        "This PC is now a counter of '{}' (venue key {}).",
        venue.venue_name()?,
        venue.fingerprint()
    );
    println!("Check the venue key against the one on the operator's screen.");
    Ok(ExitCode::SUCCESS)
}

pub fn run(k: &mut Venue, c: CounterCmd) -> Result<()> {
    match c {
        CounterCmd::Join { .. } => {}
        CounterCmd::Add { name, out } => {
            let made = k.make_join_file(&name, &out, now())?;
            println!("Join file for '{name}' written to {}.", made.path);
            println!("One-time passphrase: {}", made.passphrase);
            println!("Database login:      {}", made.login);
            println!(
                "Give the file to the new counter (USB stick) and type the passphrase there: tresen counter join FILE. Delete the file afterwards."
            );
        }
        CounterCmd::List => {
            for c in k.counters()? {
                let state = match c.revoked_at {
                    Some(at) => format!("revoked {}", format_time(at)),
                    None => "active".into(),
                };
                println!(
                    "{}\t{}\tjoined {}\t{state}",
                    c.login,
                    c.name,
                    format_time(c.created_at)
                );
            }
        }
        CounterCmd::Revoke { login } => {
            k.revoke_counter(&login, now())?;
            println!("Counter {login} can no longer reach the venue's database.");
        }
        CounterCmd::Sync => {
            let start = std::time::Instant::now();
            let mut total = tresen_venue::store::ForwardReport::default();
            loop {
                let r = k.forward_pending(std::time::Duration::from_secs(1))?;
                total.forwarded += r.forwarded;
                total.already += r.already;
                total.failed += r.failed;
                total.waiting = r.waiting;
                if r.waiting == 0 || r.forwarded + r.already + r.failed == 0 {
                    break;
                }
                eprintln!("{} forwarded, {} waiting", total.forwarded, r.waiting);
            }
            println!(
                "forwarded {} ({} were there already), {} refused by the server, {} waiting, in {:.1} s",
                total.forwarded,
                total.already,
                total.failed,
                total.waiting,
                start.elapsed().as_secs_f64()
            );
            if total.waiting > 0 {
                let s = k.sync_state();
                return Err(format!(
                    "{} scans still wait: {}",
                    total.waiting,
                    s.detail
                        .unwrap_or_else(|| "the server is not reached".into())
                )
                .into());
            }
        }
    }
    Ok(())
}

/// The sync line of `tresen status`.
pub fn status_line(k: &Venue) -> Option<String> {
    let s = k.sync_state();
    if !s.server {
        return None;
    }
    let role = match s.role {
        Some(tresen_venue::store::server::ServerRole::Operator) => "operator",
        _ => "counter",
    };
    Some(if s.online {
        format!(
            "server:       online ({role}), {} waiting, {} refused",
            s.waiting, s.failed
        )
    } else {
        format!(
            "server:       OFFLINE ({role}) — {} waiting: {}",
            s.waiting,
            s.detail.unwrap_or_default()
        )
    })
}
