//! `tresen location`, `tresen area`, `tresen table`: the venue's places and their codes.

use std::path::PathBuf;

use clap::Subcommand;
use tresen_cli_support::now;
use tresen_venue::{Error, Venue};

use crate::printing::{save_document, Document, Paper, TableLayout};
use crate::Result;

#[derive(Subcommand)]
pub enum LocationCmd {
    Add { name: String },
    List,
    Rename { old: String, new: String },
}

#[derive(Subcommand)]
pub enum AreaCmd {
    /// Add an area to a location (the location is created if it does not exist).
    Add {
        name: String,
        #[arg(long)]
        location: String,
        /// Maximum stay in minutes (default: the venue setting).
        #[arg(long, value_name = "MINUTES")]
        max_stay: Option<u32>,
        /// Tables to create, e.g. `1-12` or `1,2,5`.
        #[arg(long)]
        tables: Option<String>,
    },
    List,
    Rename {
        area: String,
        new: String,
    },
    /// Close for new check-ins (check-outs still work).
    Close {
        area: String,
    },
    Reopen {
        area: String,
    },
    /// Delete: archived, closed to check-ins, purged after the retention period.
    Delete {
        area: String,
    },
    /// Replace the area's code; the old one is refused from now on.
    ReplaceCode {
        area: String,
        /// Write the new poster (A4) to this PDF right away.
        #[arg(long, value_name = "FILE")]
        reprint: Option<PathBuf>,
    },
    MaxStay {
        area: String,
        minutes: u32,
    },
    /// Print the area's (or a table's) code text.
    Code {
        area: String,
        #[arg(long)]
        table: Option<u16>,
    },
}

#[derive(Subcommand)]
pub enum TableCmd {
    /// Add tables, e.g. `1-12` or `1,2,5`.
    Add {
        area: String,
        numbers: String,
    },
    /// Remove a table: its card is refused from now on (added again, it gets a new code).
    Remove {
        area: String,
        table: u16,
    },
    /// Replace a table's code; the old card is refused from now on.
    ReplaceCode {
        area: String,
        table: u16,
        /// Write the new table card (A6 tent) to this PDF right away.
        #[arg(long, value_name = "FILE")]
        reprint: Option<PathBuf>,
    },
    Code {
        area: String,
        table: u16,
    },
}

pub fn parse_numbers(s: &str) -> Result<Vec<u16>> {
    Ok(tresen_venue::parse_table_numbers(s)?)
}

pub fn area(k: &mut Venue, c: AreaCmd) -> Result<()> {
    let n = now();
    match c {
        AreaCmd::Add {
            name,
            location,
            max_stay,
            tables,
        } => {
            let loc = match k.location_id(&location) {
                Ok(id) => id,
                Err(Error::UnknownLocation(_)) => k.add_location(&location, n)?,
                Err(e) => return Err(e.into()),
            };
            let id = k.add_area(loc, &name, max_stay, n)?;
            if let Some(t) = tables {
                k.add_tables(id, &parse_numbers(&t)?)?;
            }
            println!("Area '{}' added to '{}'.", name.trim(), location.trim());
        }
        AreaCmd::List => {
            for a in k.areas()? {
                let tables = if a.tables.is_empty() {
                    String::new()
                } else {
                    format!(", tables {}", ranges(&a.tables))
                };
                println!(
                    "{}/{}  [{:?}] max stay {} min, {} present{}",
                    a.location,
                    a.name,
                    a.state,
                    a.max_stay_secs / 60,
                    a.present,
                    tables
                );
            }
        }
        AreaCmd::Rename { area, new } => {
            let id = k.area_id(&area)?;
            k.rename_area(id, &new, now())?;
            println!("Area renamed.");
        }
        AreaCmd::Close { area } => {
            let id = k.area_id(&area)?;
            k.close_area(id)?;
            println!("Area closed for new check-ins.");
        }
        AreaCmd::Reopen { area } => {
            let id = k.area_id(&area)?;
            k.reopen_area(id)?;
            println!("Area open again.");
        }
        AreaCmd::Delete { area } => {
            let id = k.area_id(&area)?;
            let closed = k.archive_area(id, n)?;
            println!(
                "Area deleted: it takes no new check-ins; its data is kept {} days for health-office requests, then purged. {closed} guest(s) were checked out.",
                k.settings().retention_days
            );
        }
        AreaCmd::ReplaceCode { area, reprint } => {
            let id = k.area_id(&area)?;
            let code = k.replace_area_code(id, n)?;
            println!("The area's code was replaced; the old poster is refused from now on. New code:\n{code}");
            match reprint {
                Some(out) => save_document(
                    k,
                    &Document::Posters {
                        areas: &[id],
                        paper: Paper::A4,
                    },
                    &out,
                )?,
                None => println!(
                    "Reprint its poster: tresen print posters --area '{}' --out poster.pdf",
                    area.trim()
                ),
            }
        }
        AreaCmd::MaxStay { area, minutes } => {
            let id = k.area_id(&area)?;
            k.set_max_stay(id, minutes, now())?;
            println!("Maximum stay set to {minutes} minutes.");
        }
        AreaCmd::Code { area, table } => {
            let id = k.area_id(&area)?;
            match table {
                Some(t) => println!("{}", k.table_code(id, t)?),
                None => println!("{}", k.area_code(id)?),
            }
        }
    }
    Ok(())
}

fn ranges(nums: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        let start = nums[i];
        let mut end = start;
        while i + 1 < nums.len() && nums[i + 1] == end + 1 {
            i += 1;
            end = nums[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

pub fn location(k: &mut Venue, c: LocationCmd) -> Result<()> {
    match c {
        LocationCmd::Add { name } => {
            k.add_location(&name, now())?;
            println!("Location '{}' added.", name.trim());
        }
        LocationCmd::List => {
            for l in k.locations()? {
                println!("{}", l.name);
            }
        }
        LocationCmd::Rename { old, new } => {
            let id = k.location_id(&old)?;
            k.rename_location(id, &new, now())?;
            println!("Location renamed.");
        }
    }
    Ok(())
}

pub fn table(k: &mut Venue, c: TableCmd) -> Result<()> {
    match c {
        TableCmd::Add { area, numbers } => {
            let id = k.area_id(&area)?;
            let nums = parse_numbers(&numbers)?;
            k.add_tables(id, &nums)?;
            println!("{} table(s) added.", nums.len());
        }
        TableCmd::Remove { area, table } => {
            let id = k.area_id(&area)?;
            k.remove_table(id, table, now())?;
            println!("Table {table} removed; its card is refused from now on.");
        }
        TableCmd::ReplaceCode {
            area,
            table,
            reprint,
        } => {
            let id = k.area_id(&area)?;
            let code = k.replace_table_code(id, table, now())?;
            println!("The code of table {table} was replaced; the old card is refused from now on. New code:\n{code}");
            match reprint {
                Some(out) => save_document(
                    k,
                    &Document::TableCards {
                        area: Some(id),
                        tables: &[table],
                        layout: TableLayout::Tents,
                    },
                    &out,
                )?,
                None => println!(
                    "Reprint its card: tresen print tables --area '{}' --tables {table} --out table.pdf",
                    area.trim()
                ),
            }
        }
        TableCmd::Code { area, table } => {
            let id = k.area_id(&area)?;
            println!("{}", k.table_code(id, table)?);
        }
    }
    Ok(())
}
