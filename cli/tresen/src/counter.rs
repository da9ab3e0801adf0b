//! `tresen checkin`, `checkout`, `guest`, `present`: the counter's work without scanners.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tresen::outcome::Outcome;
use tresen::printing::ReceiptPrinter;
use tresen_cli_support::now;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::time::format_time;
use tresen_venue::{Error, RecordId, Refusal, Venue};

use crate::batch::{for_each_contact, open, read_scan_line, ScanLine};
use crate::{Result, EXIT_REFUSED};

#[derive(clap::Args)]
pub struct CheckinArgs {
    #[arg(long)]
    area: String,
    #[arg(long)]
    table: Option<u16>,
    /// How the code was presented.
    #[arg(long, default_value = "fob", value_parser = ["fob", "app"])]
    method: String,
    /// The scanned code text; `-` reads one code per line from standard input.
    code: Option<String>,
    /// Read one code per line from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "code")]
    codes_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CheckoutArgs {
    /// The check-in id (from `tresen checkin` or the open list).
    #[arg(long, conflicts_with = "all")]
    record: Option<String>,
    /// Check out everyone (at closing time), or everyone in --area.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    area: Option<String>,
}

#[derive(Subcommand)]
pub enum GuestCmd {
    /// Register and check in guests without a code; prints each new code for a fob. The
    /// contact data is read from standard input, never from the command line (which shell
    /// histories and the process list keep): on a terminal one prompt per field; from a
    /// script one JSON object per line with name, street, postcode, city, phone, email.
    Register {
        #[arg(long)]
        area: String,
        #[arg(long)]
        table: Option<u16>,
        /// Also print each guest's slip on the receipt printer (`tresen printer receipt`).
        #[arg(long)]
        slip: bool,
    },
    /// Make guest codes (for key fobs or cards); nothing is stored. Contact data from
    /// standard input, as for `register`.
    Code {
        /// Also print each code's slip on the receipt printer (`tresen printer receipt`).
        #[arg(long)]
        slip: bool,
    },
    /// List open check-ins (ids and times; the kiosk never sees names).
    Open {
        #[arg(long)]
        area: Option<String>,
    },
    /// Assign a table to an open check-in.
    AssignTable { record: String, table: u16 },
}

pub fn checkin(k: &mut Venue, a: CheckinArgs) -> Result<ExitCode> {
    let area = k.area_id(&a.area)?;
    let method = Method::parse(&a.method).unwrap_or(Method::Fob);
    // `line` names the line of a batch in refusals; a refused line never stops the batch,
    // just as a bad scan does not stop the counter.
    let scan = |k: &mut Venue, text: &str, line: Option<usize>| -> Result<bool> {
        let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
        match k.scan_guest(text, area, a.table, method, now()) {
            Ok(o) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", Outcome::of_scan(k, &o).line())?;
                out.flush()?;
                Ok(true)
            }
            Err(Error::Refused(r)) => {
                println!("{at}refused: {r}");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    };
    let mut input: Box<dyn std::io::BufRead> = match (&a.code, &a.codes_file) {
        (Some(c), _) if c != "-" => {
            return Ok(if scan(k, c, None)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_REFUSED)
            })
        }
        (_, Some(f)) => Box::new(std::io::BufReader::new(open(f)?)),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut refused = 0usize;
    let mut n = 0usize;
    while let Some(line) = read_scan_line(&mut input)? {
        n += 1;
        let text = match line {
            ScanLine::Text(t) => t,
            ScanLine::NotText => {
                println!("line {n}: refused: this line is not text (a misread or a foreign code); scan it again");
                refused += 1;
                continue;
            }
            ScanLine::TooLong => {
                println!("line {n}: refused: this line is far longer than any code (a misread); scan it again");
                refused += 1;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if !scan(k, &text, Some(n))? {
            refused += 1;
        }
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}

/// The receipt printer of this PC, when slips are asked for.
fn slip_printer(dir: &std::path::Path, slip: bool) -> Result<Option<ReceiptPrinter>> {
    if !slip {
        return Ok(None);
    }
    let prefs = tresen::pc_preferences::Preferences::load(dir)?;
    let printer = prefs
        .receipt_printer
        .ok_or(tresen::Error::NoReceiptPrinter)?;
    printer.check()?;
    Ok(Some(printer))
}

/// Prints a guest's slip; a failure is said and counted, and the batch goes on (the guest
/// is registered already).
fn print_slip(printer: Option<&ReceiptPrinter>, code: &str, failed: &mut usize) {
    if let Some(p) = printer {
        match tresen::printing::print_slip(p, code) {
            Ok(()) => println!("slip printed on {}", p.device),
            Err(e) => {
                *failed += 1;
                eprintln!("slip not printed: {e}");
            }
        }
    }
}

fn slips_failed(failed: usize) -> Result<()> {
    if failed > 0 {
        return Err(format!(
            "{failed} slip(s) not printed; the guests are registered, print their codes from the lines above"
        )
        .into());
    }
    Ok(())
}

pub fn guest(k: &mut Venue, c: GuestCmd, dir: &std::path::Path) -> Result<ExitCode> {
    match c {
        GuestCmd::Register { area, table, slip } => {
            let id = k.area_id(&area)?;
            let slip = slip_printer(dir, slip)?;
            let mut slips_lost = 0;
            let refused =
                for_each_contact(|c, line| match k.register_guest(c, id, table, now()) {
                    Ok((code, o)) => {
                        println!("{}", Outcome::of_scan(k, &o).line());
                        println!("guest code (print it on a fob card):\n{}", code.to_text());
                        print_slip(slip.as_ref(), &code.to_text(), &mut slips_lost);
                        Ok(true)
                    }
                    Err(Error::Refused(r)) => {
                        println!("{line}refused: {r}");
                        Ok(false)
                    }
                    Err(Error::Contact(e)) => {
                        println!("{line}refused: {e}");
                        Ok(false)
                    }
                    Err(e) => Err(e.into()),
                })?;
            slips_failed(slips_lost)?;
            if refused > 0 {
                return Ok(ExitCode::from(EXIT_REFUSED));
            }
        }
        GuestCmd::Code { slip } => {
            let slip = slip_printer(dir, slip)?;
            let mut slips_lost = 0;
            let refused = for_each_contact(|c, line| match k.make_guest_code(c) {
                Ok(code) => {
                    println!("{}", code.to_text());
                    print_slip(slip.as_ref(), &code.to_text(), &mut slips_lost);
                    Ok(true)
                }
                Err(Error::Contact(e)) => {
                    println!("{line}refused: {e}");
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            })?;
            slips_failed(slips_lost)?;
            if refused > 0 {
                return Ok(ExitCode::from(EXIT_REFUSED));
            }
        }
        GuestCmd::Open { area } => {
            let area = area.as_deref().map(|s| k.area_id(s)).transpose()?;
            for o in k.open_checkins(area, now())? {
                let name = k.area(o.area).map(|a| a.name).unwrap_or_default();
                println!("{}  {}  {}", o.record, format_time(o.checked_in_at), name);
            }
        }
        GuestCmd::AssignTable { record, table } => {
            let id = RecordId::parse(&record).ok_or("that is not a check-in id")?;
            match k.assign_table(id, table) {
                Ok(()) => println!("Table {table} assigned."),
                Err(Error::Refused(Refusal::NoSuchTable(a, t))) => {
                    return Err(format!("area '{a}' has no table {t}").into())
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn checkout(k: &mut Venue, a: CheckoutArgs) -> Result<()> {
    if let Some(r) = a.record {
        let id = RecordId::parse(&r).ok_or("that is not a check-in id")?;
        k.check_out_record(id, now())?;
        println!("checked-out {id}");
    } else if a.all {
        let area = a.area.as_deref().map(|s| k.area_id(s)).transpose()?;
        let n = k.close_all(area, now())?;
        println!("{n} guest(s) checked out.");
    } else {
        return Err("say which check-in (--record ID) or --all".into());
    }
    Ok(())
}

pub fn present(k: &mut Venue) -> Result<()> {
    let n = now();
    for (a, count) in k.present(n)? {
        println!("{:>5}  {}/{}", count, a.location, a.name);
    }
    println!("{:>5}  total", k.present_total(n)?);
    Ok(())
}
