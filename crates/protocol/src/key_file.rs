//! Passphrase-protected key files in the age format (scrypt recipient, ASCII armour), so
//! that an operator can open them with the standard `age` tool in an emergency: the
//! container, the passphrase rules and the `name: value` plaintext the venue, authority
//! and office key files share. See docs/protocol.md, section 7.

use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

/// The scrypt work factor written (2^18: about half a second on a slow PC in release).
pub const WORK_FACTOR: u8 = 18;
/// The largest work factor accepted when opening: scrypt needs 1 KiB of memory per unit,
/// so 2^20 takes 1 GiB. A forged file with a higher factor is refused before scrypt runs
/// (age checks it against this limit first), even where no PIN is asked.
pub const MAX_WORK_FACTOR: u8 = 20;
/// Minimum passphrase length in characters, in addition to the strength estimate.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Minimum estimated guesses (log10) by zxcvbn: the key file can be attacked offline.
pub const MIN_GUESSES_LOG10: f64 = 12.0;
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// A passphrase file holds one line; anything much longer is the wrong file.
const MAX_PASSPHRASE_FILE_BYTES: u64 = 4 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the passphrase is too weak: {0}")]
    WeakPassphrase(String),
    #[error("the passphrase is wrong for this key file")]
    WrongPassphrase,
    #[error("this file is not a key file in the age format, or it is damaged")]
    NotAKeyFile,
    #[error("the key file is damaged: {0}")]
    Corrupt(String),
    #[error("this file asks for too much work to open (scrypt 2^{required}, Tresen allows at most 2^{max}), so it was not opened: it was not saved by Tresen and may be forged. Use a key file saved by Tresen, such as your backup copy")]
    TooExpensive { required: u8, max: u8 },
    #[error("{} already exists; choose another file name (an existing key file is never overwritten)", .0.display())]
    Exists(PathBuf),
    #[error("could not read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write {}: {source} (is the medium full, read-only or removed?)", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the copy at {} does not match the original byte for byte; the medium may be faulty", .0.display())]
    CopyMismatch(PathBuf),
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

/// A passphrase held only in memory and zeroized on drop.
pub struct Passphrase(SecretString);

impl Passphrase {
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    fn expose(&self) -> &str {
        use age::secrecy::ExposeSecret;
        self.0.expose_secret()
    }

    /// The text as typed, for a code that is read before it is used as a passphrase
    /// (a join file's one-time passphrase, written in groups).
    pub fn typed(&self) -> &str {
        self.expose()
    }

    /// Reads a passphrase from the first line of a file (for scripts).
    pub fn from_file(path: &Path) -> Result<Self, KeyFileError> {
        let err = |source| KeyFileError::Read {
            path: path.to_path_buf(),
            source,
        };
        // Zeroizing from the start: the buffer holds the passphrase while it is read.
        let mut bytes = Zeroizing::new(Vec::new());
        read_bounded_into(path, MAX_PASSPHRASE_FILE_BYTES, &mut bytes).map_err(err)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the passphrase file is not UTF-8 text",
            ))
        })?;
        Ok(Self::new(text.lines().next().unwrap_or("").to_string()))
    }
}

/// How strong a new passphrase is, for live feedback while it is typed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Strength {
    pub chars: usize,
    pub min_chars: usize,
    /// log10 of the estimated number of guesses an attacker needs.
    pub guesses_log10: f64,
    pub min_guesses_log10: f64,
    /// Whether [`check_strength`] accepts it.
    pub enough: bool,
    /// zxcvbn's hint (English), shown when the window has no words of its own.
    pub hint: Option<String>,
}

/// Rates a new passphrase the way [`check_strength`] judges it.
pub fn strength(pass: &Passphrase, context: &[&str]) -> Strength {
    let p = pass.expose();
    let chars = p.chars().count();
    let words = context_words(context);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let est = zxcvbn::zxcvbn(p, &words);
    let hint = est
        .feedback()
        .map(|f| {
            let mut parts: Vec<String> = f.warning().map(|w| w.to_string()).into_iter().collect();
            parts.extend(f.suggestions().iter().map(|s| s.to_string()));
            parts.join(" ")
        })
        .filter(|s| !s.is_empty());
    let guesses_log10 = if p.is_empty() {
        0.0
    } else {
        est.guesses_log10()
    };
    Strength {
        chars,
        min_chars: MIN_PASSPHRASE_CHARS,
        guesses_log10,
        min_guesses_log10: MIN_GUESSES_LOG10,
        enough: chars >= MIN_PASSPHRASE_CHARS && guesses_log10 >= MIN_GUESSES_LOG10,
        hint,
    }
}

/// Checks that a new passphrase is long and hard enough to guess.
pub fn check_strength(pass: &Passphrase, context: &[&str]) -> Result<(), KeyFileError> {
    let s = strength(pass, context);
    if s.chars < MIN_PASSPHRASE_CHARS {
        return Err(KeyFileError::WeakPassphrase(format!(
            "use at least {MIN_PASSPHRASE_CHARS} characters, for example four unrelated words"
        )));
    }
    if !s.enough {
        return Err(KeyFileError::WeakPassphrase(
            s.hint.unwrap_or_else(|| "add more unrelated words".into()),
        ));
    }
    Ok(())
}

/// The venue's own name, its words and their ASCII spellings ("Mönch" -> "moench"):
/// the first things an attacker who knows the venue would try.
fn context_words(context: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for c in context {
        let lower = c.to_lowercase();
        let ascii: String = lower
            .chars()
            .flat_map(|ch| match ch {
                'ä' => "ae".chars().collect::<Vec<_>>(),
                'ö' => "oe".chars().collect(),
                'ü' => "ue".chars().collect(),
                'ß' => "ss".chars().collect(),
                'é' | 'è' | 'ê' => vec!['e'],
                'á' | 'à' | 'â' => vec!['a'],
                other => vec![other],
            })
            .collect();
        for variant in [lower, ascii] {
            let words: Vec<&str> = variant
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| w.len() >= 3)
                .collect();
            out.push(words.concat());
            out.extend(words.iter().map(|w| w.to_string()));
            out.push(variant.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Encrypts a text with the passphrase (scrypt, fixed work factor) as armoured age.
pub fn encrypt_text(pass: &Passphrase, text: &str) -> Result<String, KeyFileError> {
    let mut r = age::scrypt::Recipient::new(pass.0.clone());
    r.set_work_factor(WORK_FACTOR);
    age::encrypt_and_armor(&r, text.as_bytes()).map_err(|e| KeyFileError::Encrypt(e.to_string()))
}

/// Decrypts an age file made with a passphrase.
pub fn decrypt_text(pass: &Passphrase, data: &[u8]) -> Result<Zeroizing<String>, KeyFileError> {
    let mut id = age::scrypt::Identity::new(pass.0.clone());
    id.set_max_work_factor(MAX_WORK_FACTOR);
    let plain = age::decrypt(&id, data).map_err(|e| match e {
        age::DecryptError::DecryptionFailed
        | age::DecryptError::KeyDecryptionFailed
        | age::DecryptError::NoMatchingKeys => KeyFileError::WrongPassphrase,
        age::DecryptError::ExcessiveWork { required, .. } => KeyFileError::TooExpensive {
            required,
            max: MAX_WORK_FACTOR,
        },
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            KeyFileError::NotAKeyFile
        }
        other => KeyFileError::Corrupt(other.to_string()),
    })?;
    let plain = Zeroizing::new(plain);
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| KeyFileError::Corrupt("the content is not text".into()))
}

/// Reads a key file's bytes, refusing anything implausibly large.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    read_bounded(path, MAX_KEY_FILE_BYTES).map_err(|source| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::FileTooLarge | std::io::ErrorKind::InvalidInput
        ) {
            KeyFileError::NotAKeyFile
        } else {
            KeyFileError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

pub use crate::files::read_bounded;
use crate::files::read_bounded_into;

pub use crate::files::write_new_file;

/// Copies a key file to a second medium and checks the copy byte for byte.
pub fn copy_verified(from: &Path, to: &Path) -> Result<(), KeyFileError> {
    let data = read_bytes(from)?;
    if !data.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        && !data.starts_with(b"age-encryption.org/")
    {
        return Err(KeyFileError::NotAKeyFile);
    }
    write_new_file(to, &data)?;
    if read_bytes(to)? != data {
        return Err(KeyFileError::CopyMismatch(to.to_path_buf()));
    }
    Ok(())
}

/// Parses `key: value` lines after a fixed first line, as used inside key files.
pub fn parse_fields<'a>(
    text: &'a str,
    header: &str,
) -> Result<Vec<(&'a str, &'a str)>, KeyFileError> {
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        return Err(KeyFileError::Corrupt(format!("expected a '{header}' file")));
    }
    lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once(": ")
                .ok_or_else(|| KeyFileError::Corrupt("a line is not 'name: value'".into()))
        })
        .collect()
}

pub fn field<'a>(fields: &[(&str, &'a str)], name: &str) -> Result<&'a str, KeyFileError> {
    fields
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| KeyFileError::Corrupt(format!("the field '{name}' is missing")))
}

pub fn field_bytes(
    fields: &[(&str, &str)],
    name: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(field(fields, name)?)
        .map(Zeroizing::new)
        .map_err(|_| KeyFileError::Corrupt(format!("the field '{name}' is not valid base64")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_are_bounded_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, vec![7u8; 100]).unwrap();
        assert_eq!(read_bounded(&p, 100).unwrap().len(), 100);
        let e = read_bounded(&p, 99).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("larger than 99 bytes"), "{e}");
        #[cfg(target_os = "linux")]
        {
            let e = read_bounded(Path::new("/dev/zero"), 1000).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        }
        fs::write(&p, vec![b'a'; MAX_KEY_FILE_BYTES as usize]).unwrap();
        assert_eq!(
            read_bytes(&p).unwrap().len() as u64,
            MAX_KEY_FILE_BYTES,
            "the limit itself is allowed"
        );
    }
}
