//! Starting the counter when the counter user logs in: an XDG autostart entry that runs
//! the app in kiosk mode (full screen; only the operator's "Quit" closes it). Turning it
//! off removes the entry. The choice is kept in this PC's preferences.

use std::path::{Path, PathBuf};

use crate::pc_preferences::{Preferences, PreferencesError};

/// The entry's file name in `~/.config/autostart/`.
pub const ENTRY: &str = "de.tresen.kiosk.desktop";

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error(
        "no configuration folder is known for this user (neither XDG_CONFIG_HOME nor HOME is set)"
    )]
    NoConfigDir,
    #[error("could not {action} the start-at-login entry {}: {source}", .path.display())]
    Entry {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Preferences(#[from] PreferencesError),
}

/// `$XDG_CONFIG_HOME/autostart/de.tresen.kiosk.desktop` (else `~/.config/autostart/…`).
pub fn entry_path() -> Result<PathBuf, AutostartError> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or(AutostartError::NoConfigDir)?;
    Ok(config.join("autostart").join(ENTRY))
}

/// Turns starting at login on or off for this PC: writes or removes the entry, then keeps
/// the choice in the preferences (damaged preferences, or an entry that cannot be
/// written, change neither). `app` is the app's program; `data_dir` is named in the entry
/// when it is not the default one.
pub fn set(
    data_dir: &Path,
    on: bool,
    app: &Path,
    custom_data_dir: bool,
) -> Result<PathBuf, AutostartError> {
    let mut prefs = Preferences::load(data_dir)?;
    let path = write_entry(data_dir, on, app, custom_data_dir)?;
    if prefs.start_at_login != on {
        prefs.start_at_login = on;
        prefs.save(data_dir)?;
    }
    Ok(path)
}

/// Writes (on) or removes (off) the entry alone, for a caller that keeps the preferences
/// itself (the app saves them with the rest of its settings).
pub fn write_entry(
    data_dir: &Path,
    on: bool,
    app: &Path,
    custom_data_dir: bool,
) -> Result<PathBuf, AutostartError> {
    let path = entry_path()?;
    let err = |action, source| AutostartError::Entry {
        action,
        path: path.clone(),
        source,
    };
    if on {
        let mut exec = format!("{} --kiosk", quote(app));
        if custom_data_dir {
            // At login the working folder is the home folder: the entry names the data
            // folder as a whole path.
            let dir = std::path::absolute(data_dir).map_err(|e| err("write", e))?;
            exec.push_str(&format!(" --data-dir {}", quote(&dir)));
        }
        let entry = format!(
            "[Desktop Entry]\nType=Application\nName=Tresen\nComment=Start the counter at login, full screen\nComment[de]=Die Theke beim Anmelden im Vollbild starten\nExec={exec}\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err("write", e))?;
        }
        let tmp = path.with_extension("desktop.tmp");
        std::fs::write(&tmp, entry.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err("write", e)
            })?;
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err("remove", e)),
        }
    }
    Ok(path)
}

/// A path as the desktop entry specification quotes arguments.
fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s
    } else {
        let escaped: String = s
            .chars()
            .flat_map(|c| match c {
                '"' | '`' | '$' | '\\' => vec!['\\', c],
                '%' => vec!['%', '%'],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}
