//! Helpers shared by the command-line tools: passphrase input, times, the trust file.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use zeroize::Zeroizing;

use tresen_protocol::key_file::{KeyFileError, Passphrase};

/// Where a command takes a passphrase from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PassphraseSource {
    /// Read the passphrase from the first line of this file (for scripts).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_stdin")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from the first line of standard input (for scripts).
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("could not read the passphrase: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "no terminal to ask for the passphrase: use --passphrase-file FILE or --passphrase-stdin"
    )]
    NoTerminal,
    #[error("the two passphrases differ; nothing was changed")]
    Mismatch,
}

impl PassphraseSource {
    /// Whether a file or standard input was named for the passphrase.
    pub fn given(&self) -> bool {
        self.passphrase_file.is_some() || self.passphrase_stdin
    }

    /// Reads the passphrase; `confirm` asks twice on a terminal (for a new passphrase).
    pub fn read(&self, prompt: &str, confirm: bool) -> Result<Passphrase, InputError> {
        if let Some(f) = &self.passphrase_file {
            return Ok(Passphrase::from_file(f)?);
        }
        if self.passphrase_stdin {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line)?;
            return Ok(Passphrase::new(
                line.trim_end_matches(['\r', '\n']).to_string(),
            ));
        }
        if !std::io::stdin().is_terminal() {
            return Err(InputError::NoTerminal);
        }
        let first = Zeroizing::new(rpassword::prompt_password(format!("{prompt}: "))?);
        if confirm {
            let second = Zeroizing::new(rpassword::prompt_password("Repeat the passphrase: ")?);
            if *first != *second {
                return Err(InputError::Mismatch);
            }
        }
        Ok(Passphrase::new(first.to_string()))
    }
}

pub use tresen_protocol::time::now;

/// Reads a time: `YYYY-MM-DD HH:MM` (local time), RFC 3339, or `@SECONDS` (Unix).
pub fn parse_time(s: &str) -> Result<i64, String> {
    use chrono::TimeZone;
    let s = s.trim();
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse().map_err(|_| format!("'{s}' is not @SECONDS"));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return chrono::Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp())
                .ok_or_else(|| format!("'{s}' does not exist in local time"));
        }
    }
    Err(format!("'{s}' is not a time; write YYYY-MM-DD HH:MM"))
}

/// What a trust file says, as both tools show it.
pub fn print_trust(t: &tresen_protocol::trust::TrustList) {
    println!("authority:        {}", t.body.authority);
    println!("root fingerprint: {}", t.root_fingerprint());
    println!("serial:           {}", t.body.serial);
    println!(
        "contact key id:   {}",
        tresen_protocol::encoding::hex(&t.contact_key.key_id)
    );
}
