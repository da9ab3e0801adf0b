//! `tresen`: the venue kiosk from the command line — setup, areas and tables, check-in,
//! key backups and retention, all without the GUI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tresen::checkin_record::Method;
use tresen::cli::{now, PassphraseSource};
use tresen::contact::ContactData;
use tresen::kiosk::{format_time, Error, Kiosk, RecordId, Refusal, ScanOutcome, VenueSetup};
use tresen::local_secret::SecretStore;

#[derive(Parser)]
#[command(
    name = "tresen",
    version,
    about = "Tresen venue kiosk: guest registration for contact tracing"
)]
struct Cli {
    /// Data folder (default: the user's data directory).
    #[arg(long, global = true, env = "TRESEN_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set up or show the venue.
    #[command(subcommand)]
    Venue(VenueCmd),
    /// Show the venue's state, present guests and any warnings.
    Status,
    /// Show or update the health authority's trust file.
    #[command(subcommand)]
    Trust(TrustCmd),
    /// Locations (branches) of the venue.
    #[command(subcommand)]
    Location(LocationCmd),
    /// Areas of a location.
    #[command(subcommand)]
    Area(AreaCmd),
    /// Numbered tables of an area.
    #[command(subcommand)]
    Table(TableCmd),
    /// Scan guest codes at an area: check in, check out, or move.
    Checkin(CheckinArgs),
    /// Check guests out by hand or at closing time.
    Checkout(CheckoutArgs),
    /// Guests without a code, and codes for key fobs.
    #[command(subcommand)]
    Guest(GuestCmd),
    /// Present guests per area.
    Present,
    /// The venue key file: backups, verification, replacement.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Delete check-ins and archived areas past the retention period now.
    Purge,
    /// Show or change settings.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// The kiosk's local secret (the key of the daily pseudonyms).
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Listen on scanners and handle every scan at the counter: guest codes check in,
    /// area codes switch the area, table cards assign the last guest's table.
    Scan(ScanArgs),
    /// Scanner devices.
    #[command(subcommand)]
    Scanner(ScannerCmd),
    /// Health-office data requests: check, approve with the key file, or decline.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Print and verify the audit log of data requests.
    Audit,
    /// The clock of this PC: when it looks wrong, nothing is purged or approved until
    /// it is set right or confirmed here.
    #[command(subcommand)]
    Clock(ClockCmd),
    /// Print-ready PDFs: posters, table cards, guest fob cards, the key recovery sheet.
    #[command(subcommand)]
    Print(PrintCmd),
}

#[derive(Subcommand)]
enum PrintCmd {
    /// Area posters (all areas, or the ones named).
    Posters {
        #[arg(long = "area")]
        areas: Vec<String>,
        /// A3 instead of A4.
        #[arg(long)]
        a3: bool,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Table cards of an area: A6 table tents, or a 3 x 8 label sheet.
    Tables {
        #[arg(long)]
        area: String,
        /// Tables, e.g. 1-12 or 1,2,5 (default: all).
        #[arg(long)]
        tables: Option<String>,
        #[arg(long)]
        labels: bool,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Guest fob cards from guest codes (one per line in FILE).
    Fobs {
        #[arg(long, value_name = "FILE")]
        codes_file: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The key recovery sheet for the operator's safe (holds only the protected key file).
    RecoverySheet {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
}

#[derive(Subcommand)]
enum RequestCmd {
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

#[derive(clap::Args)]
struct ScanArgs {
    /// The area to start at (scanning an area code switches it).
    #[arg(long)]
    area: Option<String>,
    /// A serial scanner: PATH or PATH@BAUD (default 9600); repeatable.
    #[arg(long = "serial", value_name = "PATH[@BAUD]")]
    serial: Vec<String>,
    /// A USB HID scanner by vendor (and product) id in hex, e.g. 0c2e or 0c2e:0b61; repeatable.
    #[arg(long = "usb", value_name = "VID[:PID]")]
    usb: Vec<String>,
    /// Listen on every serial port and every USB scanner of a known vendor.
    #[arg(long)]
    all: bool,
    /// How serial scanners end a scan: cr, lf, crlf, pause or pause:MS.
    #[arg(long, default_value = "cr")]
    terminator: String,
    /// The keyboard layout USB scanners type in: us or de.
    #[arg(long, default_value = "us")]
    layout: String,
    /// USB report protocol: auto, keyboard or pos.
    #[arg(long, default_value = "auto", value_parser = ["auto", "keyboard", "pos"])]
    usb_protocol: String,
    /// Text the scanner puts before every scan.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Text the scanner puts after every scan.
    #[arg(long, default_value = "")]
    suffix: String,
    /// Keep AIM symbology identifiers (]Q1) instead of stripping them.
    #[arg(long)]
    keep_aim: bool,
    /// How the guests' codes are presented.
    #[arg(long, default_value = "fob", value_parser = ["fob", "app"])]
    method: String,
}

#[derive(Subcommand)]
enum ScannerCmd {
    /// List serial ports and USB scanners, with whether they can be opened.
    List,
}

#[derive(Subcommand)]
enum SecretCmd {
    /// Make a new local secret, in the OS keychain or (explicitly) a file. Today's open
    /// check-ins can then not be checked out by scanning; they end at their maximum stay.
    Reset {
        #[arg(long, default_value = "keyring", value_parser = ["keyring", "file"])]
        store: String,
    },
}

#[derive(Subcommand)]
enum VenueCmd {
    /// Create the venue, its key pair and the passphrase-protected key file.
    Init {
        #[arg(long)]
        name: String,
        #[arg(long)]
        address: String,
        /// The health authority's trust file.
        #[arg(long, value_name = "FILE")]
        trust: PathBuf,
        /// The root fingerprint the health authority published (its letter or website):
        /// the trust file is checked against it; setup stops without a match.
        #[arg(long, value_name = "FINGERPRINT")]
        expect_root: String,
        /// Where to write the venue's private key file (never overwritten).
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Where the kiosk keeps its local secret: the OS keychain, or (explicitly) a file.
        #[arg(long, default_value = "keyring", value_parser = ["keyring", "file"])]
        secret_store: String,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Show the venue's name, address and key fingerprint.
    Show,
}

#[derive(Subcommand)]
enum TrustCmd {
    Show,
    /// Install a newer trust file signed by the same authority root.
    Update {
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum LocationCmd {
    Add { name: String },
    List,
    Rename { old: String, new: String },
}

#[derive(Subcommand)]
enum AreaCmd {
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
enum TableCmd {
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

#[derive(clap::Args)]
struct CheckinArgs {
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
struct CheckoutArgs {
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
enum GuestCmd {
    /// Register and check in guests without a code; prints each new code for a fob. The
    /// contact data is read from standard input, never from the command line (which shell
    /// histories and the process list keep): on a terminal one prompt per field; from a
    /// script one JSON object per line with name, street, postcode, city, phone, email.
    Register {
        #[arg(long)]
        area: String,
        #[arg(long)]
        table: Option<u16>,
    },
    /// Make guest codes (for key fobs or cards); nothing is stored. Contact data from
    /// standard input, as for `register`.
    Code,
    /// List open check-ins (ids and times; the kiosk never sees names).
    Open {
        #[arg(long)]
        area: Option<String>,
    },
    /// Assign a table to an open check-in.
    AssignTable { record: String, table: u16 },
}

#[derive(Subcommand)]
enum ClockCmd {
    /// Whether the clock looks right.
    Show,
    /// Confirm that the clock is right although it looks wrong (written to the audit log).
    Confirm,
}

#[derive(Subcommand)]
enum KeyCmd {
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

#[derive(Subcommand)]
enum SettingsCmd {
    Show,
    Set { key: String, value: String },
}

/// Exit codes: 0 done, 1 error, 2 usage, 3 a scan was refused.
const EXIT_REFUSED: u8 = 3;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRESEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tresen: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn data_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.data_dir {
        Some(d) => Ok(d.clone()),
        None => tresen::kiosk::default_data_dir()
            .ok_or_else(|| "no user data directory is known; use --data-dir DIR".into()),
    }
}

fn parse_numbers(s: &str) -> Result<Vec<u16>> {
    Ok(tresen::kiosk::parse_table_numbers(s)?)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = data_dir(&cli)?;
    if let Command::Venue(VenueCmd::Init {
        name,
        address,
        trust,
        expect_root,
        key_file,
        secret_store,
        pass,
    }) = &cli.command
    {
        let trust_text = tresen::files::read_text_bounded(trust, tresen::files::limits::TRUST_FILE)
            .map_err(|e| format!("could not read the trust file {}: {e}", trust.display()))?;
        let passphrase = pass.read("New passphrase for the venue key file", true)?;
        let store = SecretStore::parse(secret_store).unwrap_or(SecretStore::Keyring);
        let kiosk = Kiosk::init(
            &dir,
            &VenueSetup {
                name,
                address,
                trust_file: &trust_text,
                expect_root,
                key_file,
                passphrase: &passphrase,
                secret_store: store,
            },
            now(),
        )?;
        let t = kiosk.trust()?;
        println!(
            "Venue '{}' is set up in {}.",
            kiosk.venue_name()?,
            dir.display()
        );
        println!("Venue key fingerprint: {}", kiosk.fingerprint());
        println!(
            "Health authority: {} (root fingerprint {})",
            t.body.authority,
            t.root_fingerprint()
        );
        println!("Key file written to {}.", key_file.display());
        if kiosk.key_file_place(key_file).on_this_pc == Some(true) {
            println!("WARNING: the key file lies on this PC's own disk (the file system of the data folder). Whoever steals the PC gets it and can attack the passphrase offline: keep the key file on removable media (a USB stick), not on this PC.");
        }
        if let Some(w) = kiosk.secret_warning() {
            println!("WARNING: {w}.");
        }
        println!(
            "Next: save a second copy on another medium: tresen key backup --from {} --to COPY",
            key_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Secret(SecretCmd::Reset { store }) = &cli.command {
        let store = SecretStore::parse(store).unwrap_or(SecretStore::Keyring);
        Kiosk::reset_secret(&dir, store)?;
        println!(
            "A new local secret is kept in the {}.",
            match store {
                SecretStore::Keyring => "OS keychain",
                SecretStore::File => "file local-secret in the data folder (less protected)",
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut k = Kiosk::open(&dir, now())?;
    let code = match cli.command {
        Command::Venue(VenueCmd::Init { .. }) | Command::Secret(_) => ExitCode::SUCCESS,
        Command::Scan(a) => scan(&mut k, a)?,
        Command::Request(c) => request_cmd(&mut k, c)?,
        Command::Print(c) => print_cmd(&mut k, c)?,
        Command::Audit => {
            for e in k.audit_entries()? {
                println!(
                    "{:>4}  {}  {:<8}  {}  {}  {}",
                    e.seq,
                    format_time(e.at),
                    e.event,
                    if e.request_id.is_empty() {
                        "-"
                    } else {
                        &e.request_id
                    },
                    if e.office.is_empty() { "-" } else { &e.office },
                    e.detail
                );
            }
            let n = k.verify_audit()?;
            println!("The audit log is intact ({n} entries).");
            ExitCode::SUCCESS
        }
        Command::Scanner(ScannerCmd::List) => {
            scanner_list();
            ExitCode::SUCCESS
        }
        Command::Venue(VenueCmd::Show) => {
            println!("name:        {}", k.venue_name()?);
            println!("address:     {}", k.venue_address()?);
            println!("fingerprint: {}", k.fingerprint());
            println!("data folder: {}", k.data_dir().display());
            ExitCode::SUCCESS
        }
        Command::Status => {
            status(&mut k)?;
            ExitCode::SUCCESS
        }
        Command::Clock(ClockCmd::Show) => {
            match k.clock_state(now())? {
                tresen::kiosk::ClockState::Ok => {
                    println!("The clock looks right: {}.", format_time(now()))
                }
                _ => println!("WARNING: {}", k.check_clock_message(now())?),
            }
            ExitCode::SUCCESS
        }
        Command::Clock(ClockCmd::Confirm) => {
            let before = k.confirm_clock(now())?;
            if before == tresen::kiosk::ClockState::Ok {
                println!("The clock looked right already; nothing to confirm.");
            } else {
                println!("Confirmed: {} is the time now. Purges and approvals run again; the confirmation is in the audit log.", format_time(now()));
            }
            ExitCode::SUCCESS
        }
        Command::Trust(TrustCmd::Show) => {
            let t = k.trust()?;
            println!("authority:        {}", t.body.authority);
            println!("root fingerprint: {}", t.root_fingerprint());
            println!("serial:           {}", t.body.serial);
            println!(
                "contact key id:   {}",
                tresen::trust::hex(&t.contact_key.key_id)
            );
            ExitCode::SUCCESS
        }
        Command::Trust(TrustCmd::Update { file }) => {
            let text = tresen::files::read_text_bounded(&file, tresen::files::limits::TRUST_FILE)
                .map_err(|e| format!("could not read {}: {e}", file.display()))?;
            let t = k.update_trust(&text, now())?;
            println!("Trust file updated to serial {}.", t.body.serial);
            ExitCode::SUCCESS
        }
        Command::Location(c) => {
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
            ExitCode::SUCCESS
        }
        Command::Area(c) => {
            area_cmd(&mut k, c)?;
            ExitCode::SUCCESS
        }
        Command::Table(c) => {
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
                        Some(out) => {
                            let pdf = tresen::documents::table_cards(
                                &k.venue_name()?,
                                &k.table_infos(id, &[table])?,
                                tresen::documents::TableLayout::Tents,
                            )?;
                            write_pdf(&pdf, &out)?;
                        }
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
            ExitCode::SUCCESS
        }
        Command::Checkin(a) => checkin(&mut k, a)?,
        Command::Checkout(a) => {
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
            ExitCode::SUCCESS
        }
        Command::Guest(c) => guest_cmd(&mut k, c)?,
        Command::Present => {
            let n = now();
            for (a, count) in k.present(n)? {
                println!("{:>5}  {}/{}", count, a.location, a.name);
            }
            println!("{:>5}  total", k.present_total(n)?);
            ExitCode::SUCCESS
        }
        Command::Key(c) => key_cmd(&mut k, c)?,
        Command::Purge => {
            let r = k.purge(now())?;
            if r.skipped_clock {
                println!(
                    "Nothing was deleted: {} (`tresen clock confirm`)",
                    k.check_clock_message(now())?
                );
                return Ok(ExitCode::from(1));
            }
            println!(
                "Deleted {} check-in(s) and {} archived area(s); cleared {} old pseudonym(s); {} stay(s) closed at their maximum.",
                r.checkins_deleted, r.areas_deleted, r.pseudonyms_cleared, r.auto_checked_out
            );
            ExitCode::SUCCESS
        }
        Command::Settings(SettingsCmd::Show) => {
            for (key, min, max, what) in tresen::settings::KEYS {
                let v = k.settings().get(key).unwrap_or_default();
                println!("{key:<26} {v:>6}   ({what}; {min}..{max})");
            }
            ExitCode::SUCCESS
        }
        Command::Settings(SettingsCmd::Set { key, value }) => {
            k.set_setting(&key, &value, now())?;
            println!("{key} = {}", value.trim());
            ExitCode::SUCCESS
        }
    };
    Ok(code)
}

fn status(k: &mut Kiosk) -> Result<()> {
    let n = now();
    println!("venue:        {}", k.venue_name()?);
    println!("fingerprint:  {}", k.fingerprint());
    println!("data folder:  {}", k.data_dir().display());
    println!("local secret: {}", k.secret_store().as_str());
    let t = k.trust()?;
    println!(
        "authority:    {} (trust serial {})",
        t.body.authority, t.body.serial
    );
    println!("retention:    {} days", k.settings().retention_days);
    println!("present:      {}", k.present_total(n)?);
    let b = k.backup_status(n)?;
    match b.verified_at {
        Some(v) => println!("key backup:   verified {}", format_time(v)),
        None => println!("key backup:   not verified"),
    }
    if let Some(w) = b.warning {
        println!("WARNING: {w}");
    }
    if let Some(w) = k.secret_warning() {
        println!("WARNING: {w}");
    }
    if k.clock_state(n)? != tresen::kiosk::ClockState::Ok {
        println!(
            "WARNING: {} (`tresen clock confirm`)",
            k.check_clock_message(n)?
        );
    }
    Ok(())
}

fn area_cmd(k: &mut Kiosk, c: AreaCmd) -> Result<()> {
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
                Some(out) => {
                    let pdf = tresen::documents::posters(
                        &k.poster_infos(&[id])?,
                        tresen::print::Paper::A4,
                    )?;
                    write_pdf(&pdf, &out)?;
                }
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

fn describe(k: &Kiosk, o: &ScanOutcome) -> String {
    let name = |id: i64| {
        k.area(id)
            .map(|a| a.name)
            .unwrap_or_else(|_| format!("#{id}"))
    };
    match o {
        ScanOutcome::CheckedIn {
            record,
            area,
            table,
        } => format!(
            "checked-in {record} area={}{}",
            name(*area),
            table.map(|t| format!(" table={t}")).unwrap_or_default()
        ),
        ScanOutcome::CheckedOut { record, area, .. } => {
            format!("checked-out {record} area={}", name(*area))
        }
        ScanOutcome::Moved {
            record,
            from_area,
            to_area,
            ..
        } => format!(
            "moved {record} from={} area={}",
            name(*from_area),
            name(*to_area)
        ),
        ScanOutcome::DoubleRead { area } => format!("double-read area={} (ignored)", name(*area)),
    }
}

fn checkin(k: &mut Kiosk, a: CheckinArgs) -> Result<ExitCode> {
    let area = k.area_id(&a.area)?;
    let method = Method::parse(&a.method).unwrap_or(Method::Fob);
    // `line` names the line of a batch in refusals; a refused line never stops the batch,
    // just as a bad scan does not stop the counter.
    let scan = |k: &mut Kiosk, text: &str, line: Option<usize>| -> Result<bool> {
        let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
        match k.scan_guest(text, area, a.table, method, now()) {
            Ok(o) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", describe(k, &o))?;
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

/// Reads guests' contact data from standard input and hands each to `f` (with a "line N: "
/// prefix for messages in a batch): on a terminal one prompt per field, else one JSON
/// object per line. A line that is not a contact is refused on its own. Returns how many
/// were refused.
fn for_each_contact(mut f: impl FnMut(&ContactData, &str) -> Result<bool>) -> Result<usize> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let c = prompt_contact()?;
        return Ok(usize::from(!f(&c, "")?));
    }
    let mut input = std::io::stdin().lock();
    let (mut n, mut refused) = (0usize, 0usize);
    while let Some(line) = read_scan_line(&mut input)? {
        n += 1;
        let prefix = format!("line {n}: ");
        let contact = match line {
            ScanLine::Text(t) if t.trim().is_empty() => continue,
            ScanLine::Text(t) => serde_json::from_str::<ContactData>(&t).map_err(|e| {
                format!("not a contact (one JSON object per line with name, street, postcode, city, phone, email): {e}")
            }),
            ScanLine::NotText => Err("the line is not text (UTF-8)".to_string()),
            ScanLine::TooLong => Err("the line is far too long for contact data".to_string()),
        };
        match contact {
            Ok(c) => {
                if !f(&c, &prefix)? {
                    refused += 1;
                }
            }
            Err(why) => {
                println!("{prefix}refused: {why}");
                refused += 1;
            }
        }
    }
    Ok(refused)
}

/// Asks for a guest's contact data field by field on the terminal.
fn prompt_contact() -> Result<ContactData> {
    use std::io::BufRead;
    let ask = |label: &str| -> Result<String> {
        eprint!("{label}: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    Ok(ContactData {
        name: ask("Name")?,
        street: ask("Street and house number")?,
        postcode: ask("Postcode")?,
        city: ask("City")?,
        phone: ask("Phone")?,
        email: ask("E-mail (optional)")?,
    })
}

/// One line of a batch of scans.
enum ScanLine {
    Text(String),
    NotText,
    TooLong,
}

/// No code is longer; a longer line is a misread, read past without keeping it.
const MAX_SCAN_LINE: u64 = 16 * 1024;

/// Reads one line (without its CR/LF), bounded in length; `None` at the end.
fn read_scan_line(r: &mut dyn std::io::BufRead) -> std::io::Result<Option<ScanLine>> {
    use std::io::{BufRead, Read};
    let mut buf = Vec::new();
    let n = r.take(MAX_SCAN_LINE + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() as u64 > MAX_SCAN_LINE {
        // Skip the rest of the overlong line a chunk at a time.
        loop {
            let mut rest = Vec::new();
            let m = r.take(MAX_SCAN_LINE).read_until(b'\n', &mut rest)?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(ScanLine::TooLong));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(match String::from_utf8(buf) {
        Ok(t) => ScanLine::Text(t),
        Err(_) => ScanLine::NotText,
    }))
}

fn open(p: &Path) -> Result<std::fs::File> {
    std::fs::File::open(p).map_err(|e| format!("could not read {}: {e}", p.display()).into())
}

fn guest_cmd(k: &mut Kiosk, c: GuestCmd) -> Result<ExitCode> {
    match c {
        GuestCmd::Register { area, table } => {
            let id = k.area_id(&area)?;
            let refused =
                for_each_contact(|c, line| match k.register_guest(c, id, table, now()) {
                    Ok((code, o)) => {
                        println!("{}", describe(k, &o));
                        println!("guest code (print it on a fob card):\n{}", code.to_text());
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
            if refused > 0 {
                return Ok(ExitCode::from(EXIT_REFUSED));
            }
        }
        GuestCmd::Code => {
            let refused = for_each_contact(|c, line| match k.make_guest_code(c) {
                Ok(code) => {
                    println!("{}", code.to_text());
                    Ok(true)
                }
                Err(Error::Contact(e)) => {
                    println!("{line}refused: {e}");
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            })?;
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

fn key_cmd(k: &mut Kiosk, c: KeyCmd) -> Result<ExitCode> {
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
        KeyCmd::Restore { images, out } => {
            let imgs = images
                .iter()
                .map(|p| tresen::documents::load_image(p))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let text = tresen::documents::restore_key_file(&imgs)?;
            tresen::keyfile::write_new_file(&out, text.as_bytes())?;
            println!(
                "Key file rebuilt into {}. Check it opens: tresen key verify --file {}",
                out.display(),
                out.display()
            );
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
    Ok(ExitCode::SUCCESS)
}

fn print_backup_outcome(o: &tresen::kiosk::BackupOutcome) {
    if !o.counted {
        println!("WARNING: it lies on the same drive as the key file, which does not count as a backup: if the drive breaks or is lost, both are gone. Copy it to another drive (a USB stick).");
        return;
    }
    println!("It counts as the second copy. Keep it on that medium, away from this PC.");
    if let Some(pc) = &o.pc_copy {
        println!("The key file {pc} on this PC's own disk is no longer needed; a thief of the PC would get it. Delete it with `tresen key delete-pc-copy`, then make a second copy on another drive.");
    }
}

fn scanner_list() {
    match tresen::scanner::serial::list_ports() {
        Ok(ports) if ports.is_empty() => println!("serial: no ports"),
        Ok(ports) => {
            for p in ports {
                let usb = match (p.vendor_id, p.product_id) {
                    (Some(v), Some(pid)) => format!(
                        " usb {v:04x}:{pid:04x} {} {} serial {}",
                        p.manufacturer.unwrap_or_default(),
                        p.product.unwrap_or_default(),
                        p.serial_number.unwrap_or_else(|| "-".into())
                    ),
                    _ => String::new(),
                };
                println!("serial: {} ({}){usb}", p.path, p.kind);
            }
        }
        Err(e) => println!("serial: cannot list ports: {e}"),
    }
    match tresen::scanner::usb::list_devices() {
        Ok(devs) if devs.is_empty() => println!("usb: no scanners of known vendors"),
        Ok(devs) => {
            for d in devs {
                println!(
                    "usb: {:04x}:{:04x} {} (bus {} address {}): {}",
                    d.vendor_id,
                    d.product_id,
                    d.vendor.unwrap_or_default(),
                    d.bus,
                    d.address,
                    state_text(&d.state)
                );
            }
        }
        Err(e) => println!("usb: {e}"),
    }
}

fn state_text(s: &tresen::scanner::DeviceState) -> String {
    use tresen::scanner::DeviceState;
    match s {
        DeviceState::Connected => "connected".into(),
        DeviceState::Waiting { reason } => format!("waiting: {reason}"),
        DeviceState::Error { reason, advice } => format!("error: {reason}; {advice}"),
    }
}

fn scan(k: &mut Kiosk, a: ScanArgs) -> Result<ExitCode> {
    use tresen::counter::{Counter, CounterOutcome};
    use tresen::keyboard_layout::Layout;
    use tresen::scanner::framing::{AimMode, FramingConfig, Terminator};
    use tresen::scanner::serial::{SerialConfig, SerialScanner};
    use tresen::scanner::usb::{Protocol, UsbConfig, UsbScanner};
    use tresen::scanner::{ScannerEvent, Scanners};

    let terminator = Terminator::parse(&a.terminator)
        .ok_or("the terminator must be cr, lf, crlf, pause or pause:MS (5 to 2000)")?;
    let layout = Layout::parse(&a.layout).ok_or("the layout must be us or de")?;
    let protocol = match a.usb_protocol.as_str() {
        "keyboard" => Protocol::Keyboard,
        "pos" => Protocol::PointOfSale,
        _ => Protocol::Auto,
    };
    let framing = FramingConfig {
        terminator,
        aim: if a.keep_aim {
            AimMode::Keep
        } else {
            AimMode::Strip
        },
        prefix: a.prefix.clone(),
        suffix: a.suffix.clone(),
        ..FramingConfig::default()
    };
    let mut serial: Vec<SerialConfig> = Vec::new();
    for spec in &a.serial {
        let (path, baud) = match spec.rsplit_once('@') {
            Some((p, b)) => (
                p.to_string(),
                b.parse::<u32>()
                    .ok()
                    .filter(|b| (300..=4_000_000).contains(b))
                    .ok_or_else(|| format!("'{b}' is not a baud rate"))?,
            ),
            None => (spec.clone(), 9600),
        };
        let mut c = SerialConfig::new(path, baud);
        c.framing = framing.clone();
        serial.push(c);
    }
    let mut usb: Vec<UsbConfig> = Vec::new();
    for spec in &a.usb {
        let bad = || format!("'{spec}' is not VID or VID:PID in hex");
        let (v, p) = match spec.split_once(':') {
            Some((v, p)) => (v, Some(u16::from_str_radix(p, 16).map_err(|_| bad())?)),
            None => (spec.as_str(), None),
        };
        usb.push(UsbConfig {
            vendor_id: u16::from_str_radix(v, 16).map_err(|_| bad())?,
            product_id: p,
            layout,
            protocol,
        });
    }
    if a.all {
        for p in tresen::scanner::serial::list_ports().unwrap_or_default() {
            if p.kind == "usb" && !serial.iter().any(|s| s.path.to_string_lossy() == p.path) {
                let mut c = SerialConfig::new(p.path, 9600);
                c.framing = framing.clone();
                c.usb_serial_number = p.serial_number;
                serial.push(c);
            }
        }
        for d in tresen::scanner::usb::list_devices().unwrap_or_default() {
            usb.push(UsbConfig {
                vendor_id: d.vendor_id,
                product_id: Some(d.product_id),
                layout,
                protocol,
            });
        }
    }
    if serial.is_empty() && usb.is_empty() {
        return Err("name a scanner (--serial PATH[@BAUD], --usb VID[:PID]) or use --all; `tresen scanner list` shows what is connected".into());
    }
    let mut counter = Counter::new(a.area.as_deref().map(|s| k.area_id(s)).transpose()?);
    let method = Method::parse(&a.method).unwrap_or(Method::Fob);
    let mut scanners = Scanners::new();
    for c in serial {
        scanners.add(Box::new(SerialScanner::new(c)));
    }
    for c in usb {
        scanners.add(Box::new(UsbScanner::new(c)));
    }
    let area_name = |k: &Kiosk, id: i64| {
        k.area(id)
            .map(|a| a.name)
            .unwrap_or_else(|_| format!("#{id}"))
    };
    loop {
        // Idle moments prepare the sealing of the next check-ins.
        k.prepare_seals(8)?;
        let Some(ev) = scanners.next_event(std::time::Duration::from_secs(3600)) else {
            continue;
        };
        let mut out = std::io::stdout().lock();
        match ev {
            ScannerEvent::State { device, state } => {
                writeln!(out, "# {device}: {}", state_text(&state))?;
            }
            ScannerEvent::Scan(s) => {
                let line = match counter.handle(k, &s.text, method, now())? {
                    CounterOutcome::Guest(o) => describe(k, &o),
                    CounterOutcome::AreaSelected { area } => {
                        format!("area-selected area={}", area_name(k, area))
                    }
                    CounterOutcome::TableAssigned {
                        record,
                        area,
                        table,
                    } => format!(
                        "table-assigned {record} area={} table={table}",
                        area_name(k, area)
                    ),
                    CounterOutcome::Refused(r) => format!("refused: {r}"),
                };
                writeln!(out, "{} {line}", s.device)?;
            }
        }
        out.flush()?;
    }
}

fn print_review(k: &Kiosk, r: &tresen::kiosk::RequestReview) {
    let _ = k;
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

fn request_cmd(k: &mut Kiosk, c: RequestCmd) -> Result<ExitCode> {
    // At most one byte over the limit, so that the core can say "too large".
    let read = |p: &Path| {
        use std::io::Read;
        let mut bytes = Vec::new();
        open(p)?
            .take(tresen::request::MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("could not read {}: {e}", p.display()))?;
        Ok::<_, Box<dyn std::error::Error>>(bytes)
    };
    match c {
        RequestCmd::Show { file } => {
            let r = k.review_request(&read(&file)?, now())?;
            println!("The request is genuine: signed by a health office certified by your health authority.");
            print_review(k, &r);
        }
        RequestCmd::Approve {
            file,
            key_file,
            out,
            pass,
        } => {
            let text = read(&file)?;
            let r = k.review_request(&text, now())?;
            print_review(k, &r);
            let p = pass.read("Passphrase of the venue key file", false)?;
            let keys = tresen::keyfile::VenueSecretKeys::read_key_file(&key_file, &p)?;
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
    Ok(ExitCode::SUCCESS)
}

fn write_pdf(pdf: &tresen::print::Pdf, out: &Path) -> Result<()> {
    tresen::keyfile::write_new_file(out, &pdf.bytes)?;
    println!("{} page(s) written to {}.", pdf.pages, out.display());
    Ok(())
}

fn print_cmd(k: &mut Kiosk, c: PrintCmd) -> Result<ExitCode> {
    use tresen::documents::{self, TableLayout};
    use tresen::print::Paper;
    match c {
        PrintCmd::Posters { areas, a3, out } => {
            let ids = areas
                .iter()
                .map(|a| k.area_id(a))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let pdf = documents::posters(
                &k.poster_infos(&ids)?,
                if a3 { Paper::A3 } else { Paper::A4 },
            )?;
            write_pdf(&pdf, &out)?;
        }
        PrintCmd::Tables {
            area,
            tables,
            labels,
            out,
        } => {
            let id = k.area_id(&area)?;
            let nums = tables
                .as_deref()
                .map(parse_numbers)
                .transpose()?
                .unwrap_or_default();
            let layout = if labels {
                TableLayout::Labels
            } else {
                TableLayout::Tents
            };
            let pdf = documents::table_cards(&k.venue_name()?, &k.table_infos(id, &nums)?, layout)?;
            write_pdf(&pdf, &out)?;
        }
        PrintCmd::Fobs { codes_file, out } => {
            let text =
                tresen::files::read_text_bounded(&codes_file, tresen::files::limits::CODES_FILE)
                    .map_err(|e| format!("could not read {}: {e}", codes_file.display()))?;
            let mut codes = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match k.classify(line) {
                    Ok(tresen::kiosk::Scanned::Guest(g)) => codes.push(g.to_text()),
                    Ok(_) => return Err(format!("line {}: not a guest code", i + 1).into()),
                    Err(e) => return Err(format!("line {}: {e}", i + 1).into()),
                }
            }
            write_pdf(&documents::fob_cards(&codes)?, &out)?;
        }
        PrintCmd::RecoverySheet {
            key_file,
            out,
            pass,
        } => {
            let p = pass.read("Passphrase of the venue key file", false)?;
            // The sheet is printed only from a key file that opens and holds this venue's key.
            k.verify_key_file(&key_file, &p, now())?;
            let text = tresen::files::read_text_bounded(&key_file, 64 * 1024)
                .map_err(|e| format!("could not read {}: {e}", key_file.display()))?;
            let date = chrono::Local::now().format("%Y-%m-%d").to_string();
            let pdf = documents::recovery_sheet(&k.venue_name()?, &k.fingerprint(), &date, &text)?;
            write_pdf(&pdf, &out)?;
            println!("Keep the sheet in a safe place; it is useless without the passphrase.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
