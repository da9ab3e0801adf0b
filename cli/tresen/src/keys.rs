//! `tresen key`: the venue key file's backups, verification, restore and replacement.

use std::path::PathBuf;

use std::io::IsTerminal;

use clap::Subcommand;
use tresen::key_restore;
use tresen_cli_support::{now, PassphraseSource};
use tresen_protocol::time::format_time;
use tresen_venue::Venue;

use crate::Result;

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Backup state and warnings.
    Status,
    /// Copy the key file to a second medium and prove the copy opens.
    Backup {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Load a key file with its passphrase and check it holds the venue's key.
    Verify {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Rebuild the key file from scans or photos of the recovery sheet.
    Restore {
        #[arg(long = "from-image", value_name = "IMAGE", required = true)]
        images: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Delete the key file on this PC's own disk once a verified copy lies on a removable
    /// drive; that copy becomes the key file.
    DeletePcCopy,
    /// The key file is lost: make a new key pair for future check-ins.
    Replace {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
}

pub fn run(k: &mut Venue, c: KeyCmd) -> Result<()> {
    let n = now();
    match c {
        KeyCmd::Status => {
            let b = k.backup_status(n)?;
            println!("fingerprint: {}", b.fingerprint);
            if let Some(hint) = k.key_file_hint()? {
                println!("key file:    {hint} (written at setup)");
            }
            println!(
                "copied:      {}",
                b.copied_at
                    .map(format_time)
                    .unwrap_or_else(|| "never".into())
            );
            println!(
                "verified:    {}",
                b.verified_at
                    .map(format_time)
                    .unwrap_or_else(|| "never".into())
            );
            if let Some(d) = b.due_at {
                println!("next check:  {}", format_time(d));
            }
            if let Some(w) = b.warning {
                println!("WARNING: {w}");
            }
        }
        KeyCmd::Backup { from, to, pass } => {
            let p = pass.read("Passphrase of the venue key file", false)?;
            let o = k.backup_key_file(&from, &to, &p, n)?;
            println!(
                "The copy at {} is verified: it opens with the passphrase and holds the venue key {}.",
                to.display(),
                k.fingerprint()
            );
            print_backup_outcome(&o);
        }
        KeyCmd::Verify { file, pass } => {
            let p = pass.read("Passphrase of the venue key file", false)?;
            let o = k.verify_key_file(&file, &p, n)?;
            println!(
                "{} opens with the passphrase and holds the venue key {}.",
                file.display(),
                k.fingerprint()
            );
            print_backup_outcome(&o);
        }
        KeyCmd::DeletePcCopy => {
            let now_primary = k.delete_pc_key_copy(n)?;
            println!(
                "The key file on this PC's disk was deleted. The key file is now {now_primary}."
            );
            println!("Make a second copy on another drive: tresen key backup --from {now_primary} --to COPY");
        }
        KeyCmd::Restore { images, out, pass } => {
            let images: Vec<&std::path::Path> = images.iter().map(PathBuf::as_path).collect();
            // Checked at once when a passphrase can be had, so no wrong file is left.
            let passphrase = if pass.given() || std::io::stdin().is_terminal() {
                let p = pass.read(
                    "Passphrase of the venue key file (Enter: check it later)",
                    false,
                )?;
                (!p.is_empty()).then_some(p)
            } else {
                None
            };
            // Photos are decoded before the check, which alone needs the venue.
            let rebuilt = key_restore::rebuild(&images, &out)?;
            let r = key_restore::check(k, rebuilt, passphrase.as_ref(), n)?;
            if r.earlier_key {
                println!(
                    "Key file rebuilt into {}. It holds an earlier key of this venue, replaced since: it opens only the check-ins sealed to that key and is no backup of the current key.",
                    out.display()
                );
            } else if r.verified {
                println!(
                    "Key file rebuilt into {}. It opens with the passphrase and holds the venue key {}; it counts as a verified copy.",
                    out.display(),
                    k.fingerprint()
                );
            } else {
                println!(
                    "Key file rebuilt into {}. Check it opens: tresen key verify --file {}",
                    out.display(),
                    out.display()
                );
            }
        }
        KeyCmd::Replace { key_file, pass } => {
            let p = pass.read("New passphrase for the new venue key file", true)?;
            let r = k.replace_key(&key_file, &p, n)?;
            println!(
                "New venue key {} written to {}.",
                r.new_fingerprint,
                key_file.display()
            );
            match (r.unanswerable_from, r.unanswerable_until) {
                (Some(a), Some(b)) => println!(
                    "{} check-in(s) from {} to {} are sealed to the old key {} and can be answered only if its key file is found. They are deleted when their retention period ends.",
                    r.unanswerable_checkins,
                    format_time(a),
                    format_time(b),
                    r.old_fingerprint
                ),
                _ => println!("No check-ins were sealed to the old key {}.", r.old_fingerprint),
            }
            println!(
                "Save a second copy of the new key file: tresen key backup --from {} --to COPY",
                key_file.display()
            );
        }
    }
    Ok(())
}

fn print_backup_outcome(o: &tresen_venue::BackupOutcome) {
    if !o.counted {
        println!("WARNING: it lies on the same drive as the key file, which does not count as a backup: if the drive breaks or is lost, both are gone. Copy it to another drive (a USB stick).");
        return;
    }
    println!("It counts as the second copy. Keep it on that medium, away from this PC.");
    if let Some(pc) = &o.pc_copy {
        println!("The key file {pc} on this PC's own disk is no longer needed; a thief of the PC would get it. Delete it with `tresen key delete-pc-copy`, then make a second copy on another drive.");
    }
}
