//! Writing new files that hold something worth protecting (answers, contact lists, key
//! files, documents): created 0600, never over an existing file or through a symbolic
//! link, written completely and synced before they appear under their name.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::keyfile::KeyFileError;

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `path` with what `fill` writes: first as a hidden temporary file in the same
/// folder, synced, then linked to its name (which fails if anything, even a dangling
/// link, is there). Where the file system has no hard links (FAT, exFAT), the file is
/// created under its name directly with O_EXCL. On any error nothing is left behind.
pub fn write_new_with<E: From<KeyFileError>>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
    let werr = |source| KeyFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.symlink_metadata().is_ok() {
        return Err(KeyFileError::Exists(path.to_path_buf()).into());
    }
    let dir = folder_of(path);
    let tmp = dir.join(format!(
        ".tresen-tmp-{}",
        crate::textcode::encode_base32(&crate::crypto::random_bytes::<10>())
    ));
    let mut file = create_private(&tmp).map_err(werr)?;
    let filled = fill(&mut file).and_then(|()| file.sync_all().map_err(|e| werr(e).into()));
    if let Err(e) = filled {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    let linked = match fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => copy_new(&tmp, path),
        other => other,
    };
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists(path.to_path_buf()).into())
        }
        Err(e) => return Err(werr(e).into()),
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The fallback for file systems without hard links: the finished temporary file is
/// copied to a file created under its name with O_EXCL, then synced. A partial copy is
/// removed; a file that existed before is never touched.
fn copy_new(tmp: &Path, path: &Path) -> std::io::Result<()> {
    let mut out = create_private(path)?;
    let copied = File::open(tmp)
        .and_then(|mut src| std::io::copy(&mut src, &mut out))
        .and_then(|_| out.sync_all());
    if copied.is_err() {
        let _ = fs::remove_file(path);
    }
    copied
}
