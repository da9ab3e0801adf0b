//! `tresen request` and `tresen audit`: health-office requests and their log.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use tresen_cli_support::{now, PassphraseSource};
use tresen_protocol::time::format_time;
use tresen_venue::Venue;

use crate::Result;
use tresen::request_file::read_request_file;

#[derive(Subcommand)]
pub enum RequestCmd {
    /// Verify a request and show who asks, why, and what matches.
    Show { file: PathBuf },
    /// Approve: open the matching check-ins with the key file and write the sealed answer.
    Approve {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Where to write the answer for the office.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Decline with a reason.
    Decline {
        file: PathBuf,
        #[arg(long)]
        reason: String,
    },
}

fn print_review(r: &tresen_venue::RequestReview) {
    println!("office:     {} ({})", r.office_name, r.office_id);
    println!("case:       {}", r.case_reference);
    println!("reason:     {}", r.reason);
    let areas = if r.all_areas {
        "all areas".to_string()
    } else {
        r.areas
            .iter()
            .map(|(_, n)| n.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("areas:      {areas}");
    println!(
        "window:     {} to {}",
        format_time(r.from),
        format_time(r.until)
    );
    println!("valid until {}", format_time(r.expires_at));
    println!("matching:   {} check-in(s)", r.matching);
    if r.sealed_to_earlier_keys > 0 {
        println!(
            "            {} of them are sealed to an earlier venue key and need that key file",
            r.sealed_to_earlier_keys
        );
    }
}

pub fn run(k: &mut Venue, c: RequestCmd) -> Result<()> {
    let read = |p: &Path| read_request_file(p);
    match c {
        RequestCmd::Show { file } => {
            let r = k.review_request(&read(&file)?, now())?;
            println!("The request is genuine: signed by a health office certified by your health authority.");
            print_review(&r);
        }
        RequestCmd::Approve {
            file,
            key_file,
            out,
            pass,
        } => {
            let text = read(&file)?;
            let r = k.review_request(&text, now())?;
            print_review(&r);
            let p = pass.read("Passphrase of the venue key file", false)?;
            let keys = tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&key_file, &p)?;
            drop(p);
            let bar = indicatif::ProgressBar::new(r.matching);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} check-ins ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let result = k.approve_request(&text, &keys, &out, &progress, now());
            drop(keys);
            bar.finish_and_clear();
            let report = result?;
            println!(
                "Approved: {} record(s) sealed for the office in {}. Send this file to the office.",
                report.records,
                out.display()
            );
            if report.not_opened > 0 {
                println!(
                    "{} matching check-in(s) are sealed to another venue key and were not included.",
                    report.not_opened
                );
            }
        }
        RequestCmd::Decline { file, reason } => {
            let r = k.decline_request(&read(&file)?, &reason, now())?;
            println!(
                "Declined the request of {} (case {}).",
                r.office_name, r.case_reference
            );
        }
    }
    Ok(())
}

pub fn audit(k: &Venue) -> Result<()> {
    for e in k.audit_entries()? {
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        println!(
            "{:>4}  {}  {:<8}  {}  {}  {}",
            e.seq,
            format_time(e.at),
            e.event,
            or_dash(&e.request_id),
            or_dash(&e.office),
            tresen_venue::audit::detail_text(&e.detail)
        );
    }
    let n = k.verify_audit()?;
    println!("The audit log is intact ({n} entries).");
    Ok(())
}
