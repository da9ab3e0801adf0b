//! `tresen venue`, `status`, `trust`, `secret`: setting the venue up and looking at it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use tresen_cli_support::{now, PassphraseSource};
use tresen_protocol::files::{limits, read_text_bounded};
use tresen_protocol::time::format_time;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::{ClockState, Venue, VenueSetup};

use crate::Result;

#[derive(Subcommand)]
pub enum VenueCmd {
    /// Create the venue, its key pair and the passphrase-protected key file.
    Init(Box<InitArgs>),
    /// Show the venue's name, address and key fingerprint.
    Show,
}

#[derive(clap::Args)]
pub struct InitArgs {
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
    /// Keep the venue in a PostgreSQL server that several counters share, given as
    /// PostgreSQL names a connection: "host=… port=… dbname=… user=…" (the user must
    /// own the database and may create roles). TLS is required and checked.
    #[arg(long, value_name = "CONNECTION", requires = "server_ca")]
    server: Option<String>,
    /// The certificate authority (PEM) that signed the server's certificate.
    #[arg(long, value_name = "FILE")]
    server_ca: Option<PathBuf>,
    /// The database password (else PGPASSWORD, else it is asked).
    #[arg(long, value_name = "FILE")]
    server_password_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum SecretCmd {
    /// Make a new local secret, in the OS keychain or (explicitly) a file. Today's open
    /// check-ins can then not be checked out by scanning; they end at their maximum stay.
    Reset {
        #[arg(long, default_value = "keyring", value_parser = ["keyring", "file"])]
        store: String,
    },
}

#[derive(Subcommand)]
pub enum TrustCmd {
    Show,
    /// Install a newer trust file signed by the same authority root.
    Update {
        file: PathBuf,
    },
}

pub fn status(k: &mut Venue) -> Result<()> {
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
    if let Some(line) = crate::counters::status_line(k) {
        println!("{line}");
    }
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
    if k.clock_state(n)? != ClockState::Ok {
        println!(
            "WARNING: {} (`tresen clock confirm`)",
            k.check_clock_message(n)?
        );
    }
    Ok(())
}

pub fn init(dir: &Path, a: &InitArgs) -> Result<ExitCode> {
    let trust_text = read_text_bounded(&a.trust, limits::TRUST_FILE)
        .map_err(|e| format!("could not read the trust file {}: {e}", a.trust.display()))?;
    let passphrase = a.pass.read("New passphrase for the venue key file", true)?;
    let store = SecretStore::parse(&a.secret_store).unwrap_or(SecretStore::Keyring);
    let setup = VenueSetup {
        name: &a.name,
        address: &a.address,
        trust_file: &trust_text,
        expect_root: &a.expect_root,
        key_file: &a.key_file,
        passphrase: &passphrase,
        secret_store: store,
    };
    let venue = match (&a.server, &a.server_ca) {
        (Some(conn), Some(ca)) => {
            let ca_pem = read_text_bounded(ca, limits::SMALL_JSON).map_err(|e| {
                format!(
                    "could not read the certificate authority {}: {e}",
                    ca.display()
                )
            })?;
            let password = server_password(a.server_password_file.as_deref())?;
            let login = tresen_venue::store::server::link::parse_login(conn, &password, &ca_pem)?;
            Venue::init_on_server(dir, &setup, login, now())?
        }
        _ => Venue::init(dir, &setup, now())?,
    };
    let t = venue.trust()?;
    println!(
        "Venue '{}' is set up in {}.",
        venue.venue_name()?,
        dir.display()
    );
    println!("Venue key fingerprint: {}", venue.fingerprint());
    println!(
        "Health authority: {} (root fingerprint {})",
        t.body.authority,
        t.root_fingerprint()
    );
    println!("Key file written to {}.", a.key_file.display());
    if venue.key_file_place(&a.key_file).on_this_pc == Some(true) {
        println!("WARNING: the key file lies on this PC's own disk (the file system of the data folder). Whoever steals the PC gets it and can attack the passphrase offline: keep the key file on removable media (a USB stick), not on this PC.");
    }
    if let Some(w) = venue.secret_warning() {
        println!("WARNING: {w}.");
    }
    println!(
        "Next: save a second copy on another medium: tresen key backup --from {} --to COPY",
        a.key_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The database password: from a file, from PGPASSWORD as PostgreSQL's own tools take
/// it, or asked on the terminal.
fn server_password(file: Option<&Path>) -> Result<String> {
    if let Some(f) = file {
        let text = read_text_bounded(f, 4096)
            .map_err(|e| format!("could not read the password file {}: {e}", f.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Ok(p);
    }
    let source = PassphraseSource::default();
    Ok(source.read("Database password", false)?.typed().to_string())
}

pub fn secret(dir: &Path, c: &SecretCmd) -> Result<ExitCode> {
    let SecretCmd::Reset { store } = c;
    let store = SecretStore::parse(store).unwrap_or(SecretStore::Keyring);
    Venue::reset_secret(dir, store)?;
    println!(
        "A new local secret is kept in the {}.",
        match store {
            SecretStore::Keyring => "OS keychain",
            SecretStore::File => "file local-secret in the data folder (less protected)",
        }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn show(k: &Venue) -> Result<()> {
    println!("name:        {}", k.venue_name()?);
    println!("address:     {}", k.venue_address()?);
    println!("fingerprint: {}", k.fingerprint());
    println!("data folder: {}", k.data_dir().display());
    Ok(())
}

pub fn trust(k: &mut Venue, c: TrustCmd) -> Result<()> {
    match c {
        TrustCmd::Show => {
            let t = k.trust()?;
            tresen_cli_support::print_trust(&t);
        }
        TrustCmd::Update { file } => {
            let text = read_text_bounded(&file, limits::TRUST_FILE)
                .map_err(|e| format!("could not read {}: {e}", file.display()))?;
            let t = k.update_trust(&text, now())?;
            println!("Trust file updated to serial {}.", t.body.serial);
        }
    }
    Ok(())
}
