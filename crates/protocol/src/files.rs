//! Reading files with a bound, and writing new files that hold something worth
//! protecting (key files, answers, contact lists, documents): created 0600, never over an
//! existing file or through a symbolic link, complete and synced before they appear under
//! their name, and on FAT and exFAT sticks (no hard links) by an exclusive create.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::key_file::KeyFileError;

/// Reads a whole regular file of at most `max` bytes. The limit holds while reading, so a
/// file that grows cannot exhaust memory; a device, a FIFO or a folder is refused before
/// anything is read (opening does not wait for a FIFO's writer), as an error of kind
/// `InvalidInput`. More than `max` bytes is an error of kind `FileTooLarge`.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    read_bounded_into(path, max, &mut buf)?;
    Ok(buf)
}

pub(crate) fn read_bounded_into(path: &Path, max: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut opts,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "this is not a regular file (a device, a pipe or a folder)",
        ));
    }
    // Room for a regular file's bytes up front, so that growing the buffer leaves no
    // copies of its content behind in freed memory.
    let hint = file.metadata().map(|m| m.len().min(max)).unwrap_or(0);
    buf.reserve_exact(usize::try_from(hint).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is larger than {max} bytes, so it is not the expected file"),
        ));
    }
    Ok(())
}

/// Reads a whole text file of at most `max` bytes (see [`read_bounded`]); text that is
/// not UTF-8 is an error of kind `InvalidData`.
pub fn read_text_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, max)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not text (UTF-8), so it is not the expected file",
        )
    })
}

/// Upper bounds for the files Tresen reads.
pub mod limits {
    /// Trust files (also `trust::MAX_BYTES`).
    pub const TRUST_FILE: u64 = 1024 * 1024;
    /// Small JSON files of the app and the office folder.
    pub const SMALL_JSON: u64 = 1024 * 1024;
    /// A list of guest codes to print, one per line.
    pub const CODES_FILE: u64 = 16 * 1024 * 1024;
    /// Scans or photos of the key recovery sheet.
    pub const IMAGE: u64 = 64 * 1024 * 1024;
}

/// Writes a new file with `data` (see [`write_new_with`]).
pub fn write_new_file(path: &Path, data: &[u8]) -> Result<(), KeyFileError> {
    write_new_with(path, |f| {
        f.write_all(data).map_err(|e| write_error(path, e))
    })
}

fn write_error(path: &Path, source: std::io::Error) -> KeyFileError {
    if source.kind() == std::io::ErrorKind::AlreadyExists {
        KeyFileError::Exists(path.to_path_buf())
    } else {
        KeyFileError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Creates `path` with what `fill` writes into it, readable and writable by its owner
/// only (0600). `fill` writes into a hidden temporary file in the same folder, which is
/// synced and then linked to `path`: the link fails if anything is there, even a dangling
/// symbolic link, and the file appears complete or not at all. Where the file system has
/// no hard links (FAT, exFAT), the finished file is copied to `path` created with O_EXCL
/// and synced. On any error nothing is left behind.
pub fn write_new_with<E: From<KeyFileError>>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
    write_new(path, fill, true)
}

fn write_new<E: From<KeyFileError>>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
    try_hard_link: bool,
) -> Result<(), E> {
    // Only a quick answer: the link or the exclusive create below is what guarantees it.
    if fs::symlink_metadata(path).is_ok() {
        return Err(KeyFileError::Exists(path.to_path_buf()).into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp, mut file) = temp_file_in(&dir).map_err(|e| write_error(path, e))?;
    let filled =
        fill(&mut file).and_then(|()| file.sync_all().map_err(|e| write_error(path, e).into()));
    drop(file);
    if let Err(e) = filled {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let published = publish(&dir, &tmp, path, try_hard_link);
    let _ = fs::remove_file(&tmp);
    published.map_err(|e| write_error(path, e).into())
}

/// Gives the finished temporary file its name: by a hard link, or on file systems
/// without them by an exclusive copy.
fn publish(dir: &Path, tmp: &Path, path: &Path, try_hard_link: bool) -> std::io::Result<()> {
    let linked = if try_hard_link {
        match fs::hard_link(tmp, path) {
            Ok(()) => true,
            Err(e) if no_hard_links(&e) => false,
            Err(e) => return Err(e),
        }
    } else {
        false
    };
    if !linked {
        return copy_exclusive(dir, tmp, path);
    }
    // The link succeeded, so the file at `path` is the one made here.
    sync_dir(dir).inspect_err(|_| {
        let _ = fs::remove_file(path);
    })
}

/// How link(2) fails where a file system has no hard links: EPERM on FAT and exFAT (the
/// kernel's vfat and the FUSE drivers alike), EOPNOTSUPP or ENOSYS elsewhere, EMLINK where
/// a file may have one name only.
fn no_hard_links(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{PermissionDenied, TooManyLinks, Unsupported};
    matches!(e.kind(), PermissionDenied | Unsupported | TooManyLinks)
}

/// Creates `path` exclusively (O_EXCL: an existing file or a symbolic link, even a
/// dangling one, is refused), copies the finished temporary file into it and syncs it. On
/// failure it removes the file it created, and only that.
fn copy_exclusive(dir: &Path, tmp: &Path, path: &Path) -> std::io::Result<()> {
    let mut file = private_options().open(path)?;
    let result = (|| {
        std::io::copy(&mut File::open(tmp)?, &mut file)?;
        file.sync_all()?;
        sync_dir(dir)
    })();
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result
}

fn private_options() -> fs::OpenOptions {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match File::open(dir)?.sync_all() {
        // Some file systems cannot sync a folder at all; the file itself is synced.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn temp_file_in(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    let name = format!(
        ".tresen-tmp-{}",
        crate::textcode::encode_base32(&crate::crypto::random_bytes::<10>())
    );
    let p = dir.join(name);
    let f = private_options().open(&p)?;
    Ok((p, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn put(path: &Path, data: &[u8], link: bool) -> Result<(), KeyFileError> {
        write_new(
            path,
            |f| f.write_all(data).map_err(|e| write_error(path, e)),
            link,
        )
    }

    /// The path taken on FAT and exFAT, forced here on a file system with hard links.
    #[test]
    fn without_hard_links_a_new_file_is_written_exclusively() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("key.age");
        put(&target, b"first", false).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"first");
        #[cfg(unix)]
        assert_eq!(mode(&target), 0o600);
        assert!(matches!(
            put(&target, b"second", false),
            Err(KeyFileError::Exists(_))
        ));
        assert_eq!(fs::read(&target).unwrap(), b"first");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key.age")]);

        let missing = dir.path().join("no/such/folder/key.age");
        assert!(matches!(
            put(&missing, b"x", false),
            Err(KeyFileError::Write { .. })
        ));
    }

    /// The exclusive create itself refuses what the quick check in front of it would.
    #[cfg(unix)]
    #[test]
    fn the_exclusive_create_refuses_existing_files_and_dangling_links() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::write(&tmp, b"new").unwrap();
        let existing = dir.path().join("existing.age");
        fs::write(&existing, b"keep me").unwrap();
        let e = copy_exclusive(dir.path(), &tmp, &existing).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&existing).unwrap(), b"keep me");

        let link = dir.path().join("link.age");
        let pointee = dir.path().join("elsewhere.age");
        std::os::unix::fs::symlink(&pointee, &link).unwrap();
        let e = copy_exclusive(dir.path(), &tmp, &link).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(!pointee.exists(), "the link was followed");
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    /// A writer that fails half way leaves nothing, under the name or as a temporary file.
    #[test]
    fn a_failed_fill_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("answer");
        let r: Result<(), KeyFileError> = write_new_with(&target, |f| {
            f.write_all(b"half").map_err(|e| write_error(&target, e))?;
            Err(KeyFileError::Corrupt("stopped".into()))
        });
        assert!(matches!(r, Err(KeyFileError::Corrupt(_))));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_hard_link_is_recognised_as_missing_support() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::PermissionDenied,
            ErrorKind::Unsupported,
            ErrorKind::TooManyLinks,
        ] {
            assert!(no_hard_links(&Error::from(kind)), "{kind:?}");
        }
        for kind in [
            ErrorKind::AlreadyExists,
            ErrorKind::StorageFull,
            ErrorKind::NotFound,
        ] {
            assert!(!no_hard_links(&Error::from(kind)), "{kind:?}");
        }
    }
}
