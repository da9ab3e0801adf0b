//! `health-office`: the health authority's side — create the authority's keys, export the
//! trust file venues import, and open guest codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tresen::authority::{self, AuthorityKeys};
use tresen::cli::{now, PassphraseSource};
use tresen::guest_code::GuestCode;
use tresen::keyfile::{self, Passphrase};

#[derive(Parser)]
#[command(
    name = "health-office",
    version,
    about = "Tresen for health authorities and offices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The health authority: root and contact keys, trust file.
    #[command(subcommand)]
    Authority(AuthorityCmd),
    /// Guest codes.
    #[command(subcommand)]
    GuestCode(GuestCodeCmd),
}

#[derive(Subcommand)]
enum AuthorityCmd {
    /// Create an authority in an empty folder: encrypted key file and first trust file.
    Init {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Sign a new trust file (next serial) for venues to import or update.
    ExportTrust {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        pass: PassphraseSource,
    },
    /// Show the root fingerprint (publish it so venues can check their trust file).
    Show {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum GuestCodeCmd {
    /// Open a guest code with the authority's contact key and print the contact data.
    Open {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        code: String,
        #[command(flatten)]
        pass: PassphraseSource,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("health-office: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn open(dir: &std::path::Path, pass: &PassphraseSource) -> Result<AuthorityKeys> {
    let p: Passphrase = pass.read("Passphrase of the authority key file", false)?;
    Ok(AuthorityKeys::open(&dir.join(authority::KEY_FILE), &p)?)
}

fn current_trust(dir: &std::path::Path) -> Result<tresen::trust::TrustList> {
    let path = dir.join(authority::TRUST_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    Ok(tresen::trust::verify(&text, None)?)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Authority(AuthorityCmd::Init { dir, name, pass }) => {
            let p = pass.read("New passphrase for the authority key file", true)?;
            let keys = authority::init(&dir, &name, &p, now())?;
            let t = current_trust(&dir)?;
            println!("Authority '{}' created in {}.", keys.name, dir.display());
            println!("Root fingerprint (publish it): {}", t.root_fingerprint());
            println!(
                "Trust file for venues: {}",
                dir.join(authority::TRUST_FILE).display()
            );
        }
        Command::Authority(AuthorityCmd::ExportTrust { dir, out, pass }) => {
            let keys = open(&dir, &pass)?;
            let serial = current_trust(&dir)?.body.serial + 1;
            let text = keys.trust_file(serial, now())?;
            keyfile::write_new_file(&out, text.as_bytes())?;
            let cur = dir.join(authority::TRUST_FILE);
            let tmp = dir.join(".trust.json.new");
            let _ = std::fs::remove_file(&tmp);
            keyfile::write_new_file(&tmp, text.as_bytes())?;
            std::fs::rename(&tmp, &cur)?;
            println!(
                "Trust file with serial {serial} written to {}.",
                out.display()
            );
        }
        Command::Authority(AuthorityCmd::Show { dir }) => {
            let t = current_trust(&dir)?;
            println!("authority:        {}", t.body.authority);
            println!("root fingerprint: {}", t.root_fingerprint());
            println!("serial:           {}", t.body.serial);
            println!(
                "contact key id:   {}",
                tresen::trust::hex(&t.contact_key.key_id)
            );
        }
        Command::GuestCode(GuestCodeCmd::Open { dir, code, pass }) => {
            let code = GuestCode::parse(&code)?;
            let keys = open(&dir, &pass)?;
            let c = keys.open_guest_code(&code)?;
            println!("{}", serde_json::to_string_pretty(&c)?);
            if let Err(e) = c.check() {
                println!("WARNING: the contact data is not valid: {e}");
            }
        }
    }
    Ok(())
}
