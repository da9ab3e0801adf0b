//! `health-office`: the health authority's side — create the authority's keys, export the
//! trust file venues import, and open guest codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tresen_cli_support::{now, parse_time, PassphraseSource};
use tresen_office::authority::{self, NewOffice};
use tresen_office::desk::{OfficeDesk, RequestSpec};
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::{self, Passphrase};

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
    /// Health offices certified by the authority.
    #[command(subcommand)]
    Office(OfficeCmd),
    /// Make a signed data request for a venue.
    Request(RequestArgs),
    /// Open a venue's answer and write the contact list (CSV and JSON).
    Open(OpenArgs),
}

#[derive(Subcommand)]
enum OfficeCmd {
    /// Certify a new health office: its keys, certificate and the contact key sealed to it.
    Add {
        /// The authority's folder.
        #[arg(long, value_name = "DIR")]
        authority_dir: PathBuf,
        /// The new office's folder.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 730)]
        valid_days: u32,
        /// The authority key file's passphrase, from a file (else asked).
        #[arg(long, value_name = "FILE")]
        authority_passphrase_file: Option<PathBuf>,
        /// The new office key file's passphrase, from a file (else asked twice).
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Withdraw an office (leaked key, office closed): writes the next trust file without
    /// it. Venues refuse its requests once they have imported that file.
    Withdraw {
        /// The authority's folder.
        #[arg(long, value_name = "DIR")]
        authority_dir: PathBuf,
        #[arg(long)]
        id: String,
        /// Where to write the new trust file for venues.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The authority key file's passphrase, from a file (else asked).
        #[arg(long, value_name = "FILE")]
        authority_passphrase_file: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RequestArgs {
    /// The office's folder.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The venue's key fingerprint (on its posters and in its app).
    #[arg(long)]
    venue: String,
    /// An area to ask for (repeatable; none: all areas).
    #[arg(long = "area")]
    areas: Vec<String>,
    /// Start of the window: YYYY-MM-DD HH:MM (local), RFC 3339 or @SECONDS.
    #[arg(long)]
    from: String,
    #[arg(long)]
    until: String,
    /// The case this request belongs to.
    #[arg(long = "case")]
    case_reference: String,
    #[arg(long)]
    reason: String,
    /// How long the venue may answer.
    #[arg(long, default_value_t = 7)]
    valid_days: u32,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    pass: PassphraseSource,
}

#[derive(clap::Args)]
struct OpenArgs {
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The request the answer belongs to.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    #[arg(long, value_name = "FILE")]
    answer: PathBuf,
    #[arg(long, value_name = "FILE")]
    csv: PathBuf,
    #[arg(long, value_name = "FILE")]
    json: PathBuf,
    #[command(flatten)]
    pass: PassphraseSource,
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

fn current_trust(dir: &std::path::Path) -> Result<tresen_protocol::trust::TrustList> {
    let path = dir.join(authority::TRUST_FILE);
    let text = tresen_protocol::files::read_text_bounded(
        &path,
        tresen_protocol::files::limits::TRUST_FILE,
    )
    .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    Ok(tresen_protocol::trust::verify(&text, None)?)
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
            if out.symlink_metadata().is_ok() {
                return Err(
                    format!("{} exists already; choose another file name", out.display()).into(),
                );
            }
            let (serial, text) = authority::next_trust_file(&dir, &keys, now())?;
            key_file::write_new_file(&out, text.as_bytes())?;
            println!(
                "Trust file with serial {serial} written to {}.",
                out.display()
            );
        }
        Command::Authority(AuthorityCmd::Show { dir }) => {
            let t = current_trust(&dir)?;
            tresen_cli_support::print_trust(&t);
        }
        Command::Office(OfficeCmd::Add {
            authority_dir,
            dir,
            id,
            name,
            valid_days,
            authority_passphrase_file,
            passphrase_file,
        }) => {
            let auth_src = PassphraseSource {
                passphrase_file: authority_passphrase_file,
                passphrase_stdin: false,
            };
            let keys = open(&authority_dir, &auth_src)?;
            let office_src = PassphraseSource {
                passphrase_file,
                passphrase_stdin: false,
            };
            let p = office_src.read("New passphrase for the office key file", true)?;
            authority::add_office(
                &authority_dir,
                &keys,
                &NewOffice {
                    dir: &dir,
                    id: &id,
                    name: &name,
                    passphrase: &p,
                    valid_days,
                },
                now(),
            )?;
            println!(
                "Office '{name}' ({id}) certified; its folder is {}.",
                dir.display()
            );
            println!("Export a new trust file for venues: health-office authority export-trust --dir {} --out FILE", authority_dir.display());
        }
        Command::Office(OfficeCmd::Withdraw {
            authority_dir,
            id,
            out,
            authority_passphrase_file,
        }) => {
            let auth_src = PassphraseSource {
                passphrase_file: authority_passphrase_file,
                passphrase_stdin: false,
            };
            let keys = open(&authority_dir, &auth_src)?;
            if out.symlink_metadata().is_ok() {
                return Err(
                    format!("{} exists already; choose another file name", out.display()).into(),
                );
            }
            let (serial, text) = authority::withdraw_office(&authority_dir, &keys, &id, now())?;
            key_file::write_new_file(&out, text.as_bytes())?;
            println!("Office '{id}' withdrawn. Trust file with serial {serial} (without it) written to {}.", out.display());
            println!("Send it to every venue now: they refuse the office's requests once they have imported it (`tresen trust update FILE`).");
        }
        Command::Request(a) => {
            let p = a.pass.read("Passphrase of the office key file", false)?;
            let desk = OfficeDesk::open(&a.dir, &p)?;
            let from = parse_time(&a.from)?;
            let until = parse_time(&a.until)?;
            let text = desk.make_request(
                &RequestSpec {
                    venue: &a.venue,
                    areas: &a.areas,
                    from,
                    until,
                    case_reference: &a.case_reference,
                    reason: &a.reason,
                    valid_secs: i64::from(a.valid_days) * 86_400,
                },
                now(),
            )?;
            key_file::write_new_file(&a.out, text.as_bytes())?;
            println!(
                "Request written to {}; send it to the venue.",
                a.out.display()
            );
        }
        Command::Open(a) => {
            let p = a.pass.read("Passphrase of the office key file", false)?;
            let desk = OfficeDesk::open(&a.dir, &p)?;
            let request = tresen_protocol::files::read_bounded(
                &a.request,
                tresen_protocol::request::MAX_BYTES as u64,
            )
            .map_err(|e| format!("could not read {}: {e}", a.request.display()))?;
            let r = desk.open_answer(&request, &a.answer, &a.csv, &a.json)?;
            println!(
                "{} record(s) written to {} and {}; {} flagged as invalid.",
                r.records,
                a.csv.display(),
                a.json.display(),
                r.flagged
            );
            if r.damaged > 0 {
                println!("{} check-in(s) could not be opened by the venue (altered or damaged rows); they are listed with their record id: ask the venue about them.", r.damaged);
            }
            if r.out_of_scope > 0 {
                println!("{} record(s) lie outside the requested areas or time window; their contact data was not opened.", r.out_of_scope);
            }
        }
        Command::GuestCode(GuestCodeCmd::Open { dir, code, pass }) => {
            let code = GuestCode::parse(&code)?;
            let keys = open(&dir, &pass)?;
            let c = authority::open_guest_code(&keys, &code)?;
            println!("{}", serde_json::to_string_pretty(&c)?);
            if let Err(e) = c.check() {
                println!("WARNING: the contact data is not valid: {e}");
            }
        }
    }
    Ok(())
}
