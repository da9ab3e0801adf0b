//! `tresen`: the venue kiosk from the command line — setup, areas and tables, check-in,
//! key backups and retention, all without the GUI. Each command group lives in its own
//! module; the work itself is done by the `tresen` use cases and the venue floor.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tresen_cli_support::now;
use tresen_venue::Venue;

mod admin;
mod areas;
mod batch;
mod counter;
mod counters;
mod docs;
mod keys;
mod printing;
mod requests;
mod scanning;
mod setup;

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
    Venue(setup::VenueCmd),
    /// Show the venue's state, present guests and any warnings.
    Status,
    /// Show or update the health authority's trust file.
    #[command(subcommand)]
    Trust(setup::TrustCmd),
    /// Locations (branches) of the venue.
    #[command(subcommand)]
    Location(areas::LocationCmd),
    /// Areas of a location.
    #[command(subcommand)]
    Area(areas::AreaCmd),
    /// Numbered tables of an area.
    #[command(subcommand)]
    Table(areas::TableCmd),
    /// Scan guest codes at an area: check in, check out, or move.
    Checkin(counter::CheckinArgs),
    /// Check guests out by hand or at closing time.
    Checkout(counter::CheckoutArgs),
    /// Guests without a code, and codes for key fobs.
    #[command(subcommand)]
    Guest(counter::GuestCmd),
    /// Present guests per area.
    Present,
    /// The venue key file: backups, verification, replacement.
    #[command(subcommand)]
    Key(keys::KeyCmd),
    /// Delete check-ins and archived areas past the retention period now.
    Purge,
    /// Show or change settings.
    #[command(subcommand)]
    Settings(admin::SettingsCmd),
    /// The kiosk's local secret (the key of the daily pseudonyms).
    #[command(subcommand)]
    Secret(setup::SecretCmd),
    /// Listen on scanners and handle every scan at the counter: guest codes check in,
    /// area codes switch the area, table cards assign the last guest's table.
    Scan(scanning::ScanArgs),
    /// Scanner devices.
    #[command(subcommand)]
    Scanner(scanning::ScannerCmd),
    /// Health-office data requests: check, approve with the key file, or decline.
    #[command(subcommand)]
    Request(requests::RequestCmd),
    /// Print and verify the audit log of data requests.
    Audit,
    /// The clock of this PC: when it looks wrong, nothing is purged or approved until
    /// it is set right or confirmed here.
    #[command(subcommand)]
    Clock(admin::ClockCmd),
    /// Print-ready PDFs: posters, table cards, guest fob cards, the key recovery sheet;
    /// saved, and sent to a printer with --printer.
    Print(printing::PrintArgs),
    /// The printers of the system's print service, and the counter's receipt printer.
    #[command(subcommand)]
    Printer(printing::PrinterCmd),
    /// Several counters sharing the venue's server database: join files, joining,
    /// the counters' logins, forwarding scans kept while the server was away.
    #[command(subcommand)]
    Counter(counters::CounterCmd),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateDocs {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Exit codes: 0 done, 1 error, 2 usage, 3 a scan was refused.
const EXIT_REFUSED: u8 = 3;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRESEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tresen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line as clap sees it, with the version line that names the protocol and
/// schema versions (shared by `--version`, the man pages and the completions).
fn command() -> clap::Command {
    let version: &'static str = Box::leak(tresen::about::version_text().into_boxed_str());
    Cli::command().version(version)
}

fn data_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.data_dir {
        Some(d) => Ok(d.clone()),
        None => tresen_venue::default_data_dir()
            .ok_or_else(|| "no user data directory is known; use --data-dir DIR".into()),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::GenerateDocs { out } = &cli.command {
        return docs::generate(command(), out).map(|()| ExitCode::SUCCESS);
    }
    let dir = data_dir(&cli)?;
    if let Command::Printer(c) = &cli.command {
        return printing::printer(&dir, c).map(|()| ExitCode::SUCCESS);
    }
    if let Command::Settings(admin::SettingsCmd::Autostart { state }) = &cli.command {
        return admin::autostart(&dir, cli.data_dir.is_some(), state).map(|()| ExitCode::SUCCESS);
    }
    // The two commands that work without an open venue.
    match &cli.command {
        Command::Venue(setup::VenueCmd::Init(args)) => return setup::init(&dir, args),
        Command::Secret(c) => return setup::secret(&dir, c),
        Command::Counter(counters::CounterCmd::Join {
            file,
            secret_store,
            pass,
        }) => return counters::join(&dir, file, secret_store, pass),
        _ => {}
    }
    let mut k = Venue::open(&dir, now())?;
    let done = ExitCode::SUCCESS;
    Ok(match cli.command {
        Command::Venue(setup::VenueCmd::Init(_))
        | Command::Secret(_)
        | Command::GenerateDocs { .. }
        | Command::Printer(_) => done,
        Command::Venue(setup::VenueCmd::Show) => setup::show(&k).map(|()| done)?,
        Command::Status => setup::status(&mut k).map(|()| done)?,
        Command::Trust(c) => setup::trust(&mut k, c).map(|()| done)?,
        Command::Location(c) => areas::location(&mut k, c).map(|()| done)?,
        Command::Area(c) => areas::area(&mut k, c).map(|()| done)?,
        Command::Table(c) => areas::table(&mut k, c).map(|()| done)?,
        Command::Checkin(a) => counter::checkin(&mut k, a)?,
        Command::Checkout(a) => counter::checkout(&mut k, a).map(|()| done)?,
        Command::Guest(c) => counter::guest(&mut k, c, &dir)?,
        Command::Present => counter::present(&mut k).map(|()| done)?,
        Command::Key(c) => keys::run(&mut k, c).map(|()| done)?,
        Command::Purge => admin::purge(&mut k)?,
        Command::Settings(c) => admin::settings(&mut k, c).map(|()| done)?,
        Command::Clock(c) => admin::clock(&mut k, c).map(|()| done)?,
        Command::Scan(a) => scanning::scan(&mut k, a)?,
        Command::Scanner(scanning::ScannerCmd::List) => {
            scanning::list();
            done
        }
        Command::Request(c) => requests::run(&mut k, c).map(|()| done)?,
        Command::Audit => requests::audit(&k).map(|()| done)?,
        Command::Print(c) => printing::run(&mut k, c).map(|()| done)?,
        Command::Counter(c) => counters::run(&mut k, c).map(|()| done)?,
    })
}
