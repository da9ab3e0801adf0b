//! Mounted drives: which are removable (USB sticks, SD cards), and whether two paths lie
//! on the same file system, so that the key file is proposed off the counter PC's disk
//! and the operator is told plainly when it is not. Reads Linux's /proc/self/mountinfo
//! and /sys/dev/block; elsewhere nothing is found and every answer is "unknown".

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tresen_protocol::key_file::read_bounded;

const MOUNTINFO: &str = "/proc/self/mountinfo";
const SYS: &str = "/sys";
/// Generous for a desktop; thousands of container mounts still fit.
const MAX_MOUNTINFO_BYTES: u64 = 16 << 20;

/// A mounted file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub path: PathBuf,
    /// What to call it: the mount point's name (the drive's label where the desktop
    /// mounts it under /media/USER/LABEL), else the device.
    pub label: String,
    pub removable: bool,
}

/// Mounted removable drives (USB sticks, SD cards) the current user can write to.
pub fn removable_mounts() -> Vec<Mount> {
    let Some(entries) = live_entries() else {
        return Vec::new();
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for e in entries {
        // A bind mount of a folder, or the same drive mounted twice, is listed once.
        let whole_drive = e.root == Path::new("/");
        if !e.removable || !whole_drive || e.path == Path::new("/") || seen.contains(&e.dev) {
            continue;
        }
        if e.read_only || rustix::fs::access(&e.path, rustix::fs::Access::WRITE_OK).is_err() {
            continue;
        }
        seen.push(e.dev);
        out.push(Mount {
            label: e.label(),
            path: e.path,
            removable: true,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Whether two paths lie on the same file system (st_dev of each path, or of its nearest
/// existing ancestor). None if either cannot be examined.
pub fn same_filesystem(a: &Path, b: &Path) -> Option<bool> {
    let (_, ma) = nearest_existing(a)?;
    let (_, mb) = nearest_existing(b)?;
    Some(ma.dev() == mb.dev())
}

/// Whether two paths lie on the same physical drive: the same file system, or file
/// systems on partitions of the same disk. A file system held only in memory (tmpfs,
/// ramfs) counts as the same drive as anything: it is gone at the next start, so no copy
/// lies safely there. None if either path cannot be examined.
pub fn same_drive(a: &Path, b: &Path) -> Option<bool> {
    let (pa, ma) = nearest_existing(a)?;
    let (pb, mb) = nearest_existing(b)?;
    if ma.dev() == mb.dev() {
        return Some(true);
    }
    let entries = live_entries().unwrap_or_default();
    let mount = |p: &Path| {
        fs::canonicalize(p)
            .ok()
            .and_then(|real| mount_of(&entries, &real).cloned())
    };
    let (ea, eb) = (mount(&pa), mount(&pb));
    if [&ea, &eb]
        .iter()
        .any(|e| e.as_ref().is_some_and(Entry::in_memory))
    {
        return Some(true);
    }
    let disk = |m: &fs::Metadata, e: &Option<Entry>| disk_of(Path::new(SYS), m, e.as_ref());
    match (disk(&ma, &ea), disk(&mb, &eb)) {
        (Some(x), Some(y)) => Some(x == y),
        _ => Some(false),
    }
}

/// The sysfs folder of the whole disk behind a file system: its block device, or for a
/// FUSE file system the device it was mounted from.
fn disk_of(sys: &Path, meta: &fs::Metadata, entry: Option<&Entry>) -> Option<PathBuf> {
    let (major, minor) = (rustix::fs::major(meta.dev()), rustix::fs::minor(meta.dev()));
    let (major, minor) = if major != 0 {
        (major, minor)
    } else {
        let source = entry?.source.clone();
        let rdev = fs::metadata(source.strip_prefix("/dev/").map(|_| &source)?)
            .ok()?
            .rdev();
        (rustix::fs::major(rdev), rustix::fs::minor(rdev))
    };
    let dev = fs::canonicalize(sys.join(format!("dev/block/{major}:{minor}"))).ok()?;
    if dev.join("partition").exists() {
        dev.parent().map(Path::to_path_buf)
    } else {
        Some(dev)
    }
}

/// Whether a path lies on a removable drive. None if unknown.
pub fn is_removable(path: &Path) -> Option<bool> {
    let (existing, _) = nearest_existing(path)?;
    let real = fs::canonicalize(existing).ok()?;
    mount_of(&live_entries()?, &real).map(|e| e.removable)
}

/// The mount that holds `path` (canonical): the longest mount point above it, the last
/// one where several are stacked on the same point.
fn mount_of<'a>(entries: &'a [Entry], path: &Path) -> Option<&'a Entry> {
    entries
        .iter()
        .filter(|e| path.starts_with(&e.path))
        .max_by_key(|e| e.path.components().count())
}

/// The path itself or its nearest ancestor that exists, with its metadata. None when a
/// step cannot be examined (no permission, no such device), rather than a wrong answer
/// from further up.
fn nearest_existing(path: &Path) -> Option<(PathBuf, fs::Metadata)> {
    let absolute = std::path::absolute(path).ok()?;
    for p in absolute.ancestors() {
        match fs::metadata(p) {
            Ok(m) => return Some((p.to_path_buf(), m)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) => {}
            Err(_) => return None,
        }
    }
    None
}

fn live_entries() -> Option<Vec<Entry>> {
    let text = read_bounded(Path::new(MOUNTINFO), MAX_MOUNTINFO_BYTES).ok()?;
    Some(parse_mountinfo(&text, |major, minor| {
        block_removable(Path::new(SYS), major, minor)
    }))
}

/// One line of mountinfo, as far as it matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: PathBuf,
    /// The folder of the file system that is mounted: "/" for a whole drive.
    root: PathBuf,
    dev: (u32, u32),
    source: String,
    fs_type: String,
    read_only: bool,
    removable: bool,
}

impl Entry {
    fn in_memory(&self) -> bool {
        matches!(self.fs_type.as_str(), "tmpfs" | "ramfs" | "devtmpfs")
    }

    fn label(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.source.clone())
    }
}

/// Parses /proc/self/mountinfo (see proc(5)):
/// `36 35 98:0 /root /mount/point rw,noatime master:1 - ext4 /dev/sda1 rw,errors=continue`.
/// A mount is removable when `block_removable(major, minor)` says so for its block device,
/// or when it is mounted where desktops mount removable drives (/media, /run/media): an SD
/// card reader or a drive in a USB enclosure does not always say it is removable.
/// Lines that do not parse are skipped.
fn parse_mountinfo(text: &[u8], block_removable: impl Fn(u32, u32) -> Option<bool>) -> Vec<Entry> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| parse_line(line, &block_removable))
        .collect()
}

fn parse_line(line: &[u8], block_removable: &impl Fn(u32, u32) -> Option<bool>) -> Option<Entry> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let (major, minor) = std::str::from_utf8(fields.get(2)?).ok()?.split_once(':')?;
    let dev = (major.parse().ok()?, minor.parse().ok()?);
    let root = PathBuf::from(unescape(fields.get(3)?));
    let path = PathBuf::from(unescape(fields.get(4)?));
    let options = fields.get(5)?;
    let sep = fields.iter().skip(6).position(|f| *f == b"-")? + 6;
    let text = |i: usize| {
        fields
            .get(i)
            .map(|f| String::from_utf8_lossy(&unescape(f).into_vec()).into_owned())
    };
    let fs_type = text(sep + 1)?;
    let source = text(sep + 2)?;
    let super_options = fields.get(sep + 3).copied().unwrap_or_default();
    let read_only = [*options, super_options]
        .iter()
        .any(|o| o.split(|&b| b == b',').any(|opt| opt == b"ro"));
    // Major 0: no block device behind it (tmpfs, proc, most FUSE mounts).
    let block = dev.0 != 0 && block_removable(dev.0, dev.1) == Some(true);
    let removable = block || under_media(&path);
    Some(Entry {
        path,
        root,
        dev,
        source,
        fs_type,
        read_only,
        removable,
    })
}

/// Where udisks mounts drives a user plugs in: /media/USER/LABEL or /run/media/USER/LABEL.
fn under_media(path: &Path) -> bool {
    ["/media", "/run/media"].iter().any(|base| {
        path.strip_prefix(base)
            .is_ok_and(|rest| !rest.as_os_str().is_empty())
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(field: &[u8]) -> OsString {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        let value = octal.map(|d| d.iter().fold(0u32, |n, c| n * 8 + u32::from(c - b'0')));
        match value.and_then(|v| u8::try_from(v).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            _ => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

/// Whether the block device `major:minor` is a removable drive, from sysfs under `sys`:
/// its own `removable` flag or, for a partition, its disk's; a disk attached by USB; an
/// SD card. None if the device is not known there.
fn block_removable(sys: &Path, major: u32, minor: u32) -> Option<bool> {
    let dev = fs::canonicalize(sys.join(format!("dev/block/{major}:{minor}"))).ok()?;
    // A partition is a folder inside its disk's folder and has no flag of its own.
    let disk = if dev.join("partition").exists() {
        dev.parent()?.to_path_buf()
    } else {
        dev.clone()
    };
    let read = |p: PathBuf| {
        read_bounded(&p, 64)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    let flagged = read(disk.join("removable")).is_some_and(|v| v == "1");
    let usb = disk
        .components()
        .any(|c| c.as_os_str().to_str().is_some_and(|s| s.starts_with("usb")));
    let sd_card = read(disk.join("device/type")).is_some_and(|v| v == "SD");
    Some(flagged || usb || sd_card)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A removable USB stick with a partition, an SD card, a USB hard disk that does not
    /// call itself removable, an internal disk and a loop device, laid out as sysfs does.
    fn fake_sysfs() -> tempfile::TempDir {
        use std::os::unix::fs::symlink;
        let sys = tempfile::tempdir().unwrap();
        let s = sys.path();
        let devices: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            // (device folder, major:minor, removable flag, device/type)
            ("devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "8:0", Some("0"), None),
            ("devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2", "8:2", None, None),
            ("devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb", "8:16", Some("1"), None),
            ("devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1", "8:17", None, None),
            ("devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block/sdc/sdc1", "8:33", None, None),
            ("devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block/sdc", "8:32", Some("0"), None),
            ("devices/pci0000:00/0000:00:1c.0/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0", "179:0", Some("0"), Some("SD")),
            ("devices/pci0000:00/0000:00:1c.0/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0/mmcblk0p1", "179:1", None, None),
            ("devices/virtual/block/loop0", "7:0", Some("0"), None),
        ];
        fs::create_dir_all(s.join("dev/block")).unwrap();
        for (folder, majmin, removable, kind) in devices {
            let dir = s.join(folder);
            fs::create_dir_all(&dir).unwrap();
            if let Some(r) = removable {
                fs::write(dir.join("removable"), format!("{r}\n")).unwrap();
            } else {
                fs::write(dir.join("partition"), "1\n").unwrap();
            }
            if let Some(k) = kind {
                fs::create_dir_all(dir.join("device")).unwrap();
                fs::write(dir.join("device/type"), format!("{k}\n")).unwrap();
            }
            symlink(&dir, s.join("dev/block").join(majmin)).unwrap();
        }
        sys
    }

    const MOUNTINFO_SAMPLE: &str = "\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 22 0:26 / /tmp rw,nosuid,nodev shared:14 - tmpfs tmpfs rw,size=4096k
31 22 0:27 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1620016k,mode=755
40 31 8:17 / /run/media/anna/TRESEN\\040STICK rw,nosuid,nodev,relatime shared:80 - vfat /dev/sdb1 rw,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,utf8,errors=remount-ro
41 22 8:17 /backups /srv/backups rw,relatime shared:80 - vfat /dev/sdb1 rw,fmask=0022
42 22 8:33 / /mnt/usb-disk rw,relatime shared:81 - ext4 /dev/sdc1 rw
43 22 179:1 / /mnt/sd ro,relatime shared:82 - exfat /dev/mmcblk0p1 ro
44 31 0:45 / /run/user/1000/doc rw,nosuid,nodev,relatime shared:90 - fuse.portal portal rw,user_id=1000,group_id=1000
45 22 0:46 / /media/anna/phone rw,nosuid,nodev,relatime shared:91 - fuse.jmtpfs jmtpfs rw,user_id=1000,group_id=1000
46 22 7:0 / /snap/core/1 ro,nodev,relatime shared:92 - squashfs /dev/loop0 ro
47 22 8:2 /home/anna/data /var/lib/tresen rw,relatime shared:1 - ext4 /dev/sda2 rw
broken line
";

    fn sample() -> Vec<Entry> {
        let sys = fake_sysfs();
        parse_mountinfo(MOUNTINFO_SAMPLE.as_bytes(), |major, minor| {
            block_removable(sys.path(), major, minor)
        })
    }

    fn entry<'a>(entries: &'a [Entry], path: &str) -> &'a Entry {
        entries
            .iter()
            .find(|e| e.path == Path::new(path))
            .unwrap_or_else(|| panic!("{path} not parsed"))
    }

    #[test]
    fn mountinfo_is_parsed_and_removable_drives_are_recognised() {
        let entries = sample();
        assert_eq!(entries.len(), 13, "the broken line is skipped");
        let root = entry(&entries, "/");
        assert!(!root.removable);
        assert_eq!((root.dev, root.source.as_str()), ((8, 2), "/dev/sda2"));
        assert!(!entry(&entries, "/tmp").removable, "tmpfs");
        assert!(!entry(&entries, "/proc").removable);

        // A partition of a removable USB stick, mounted with a space in its name.
        let stick = entry(&entries, "/run/media/anna/TRESEN STICK");
        assert!(stick.removable);
        assert_eq!(stick.label(), "TRESEN STICK");
        assert_eq!(stick.source, "/dev/sdb1");
        assert_eq!(stick.root, Path::new("/"));
        let bind = entry(&entries, "/srv/backups");
        assert!(bind.removable, "the same stick, elsewhere");
        assert_eq!(bind.root, Path::new("/backups"));

        assert!(
            entry(&entries, "/mnt/usb-disk").removable,
            "attached by USB"
        );
        let sd = entry(&entries, "/mnt/sd");
        assert!(sd.removable && sd.read_only, "an SD card, read-only");
        assert!(!entry(&entries, "/run/user/1000/doc").removable, "FUSE");
        assert!(
            entry(&entries, "/media/anna/phone").removable,
            "FUSE where the desktop mounts drives"
        );
        assert!(!entry(&entries, "/snap/core/1").removable, "a loop device");
        assert!(!entry(&entries, "/var/lib/tresen").removable);
        assert!(!entries
            .iter()
            .any(|e| e.read_only && e.path == Path::new("/")));
    }

    #[test]
    fn the_mount_holding_a_path_is_the_longest_mount_point_above_it() {
        let entries = sample();
        let at = |p: &str| mount_of(&entries, Path::new(p)).map(|e| e.path.clone());
        assert_eq!(
            at("/run/media/anna/TRESEN STICK/keys/venue-key.age"),
            Some(PathBuf::from("/run/media/anna/TRESEN STICK"))
        );
        assert_eq!(at("/run/media/anna/TRESEN STICKS"), Some("/run".into()));
        assert_eq!(at("/home/anna/Documents"), Some("/".into()));
        assert_eq!(at("/tmp"), Some("/tmp".into()));
    }

    #[test]
    fn octal_escapes_are_undone() {
        assert_eq!(
            unescape(br"/a\040b\011c\012d\134e"),
            OsString::from("/a b\tc\nd\\e")
        );
        assert_eq!(unescape(br"/plain\0"), OsString::from(r"/plain\0"));
        assert_eq!(
            unescape(br"/not\999octal"),
            OsString::from(r"/not\999octal")
        );
        assert_eq!(
            unescape(br"/caf\303\251"),
            OsString::from("/café"),
            "UTF-8 bytes, escaped one by one"
        );
    }

    #[test]
    fn only_mounts_below_the_media_folders_count_as_plugged_in() {
        assert!(under_media(Path::new("/media/anna/STICK")));
        assert!(under_media(Path::new("/run/media/anna/STICK")));
        assert!(!under_media(Path::new("/media")));
        assert!(!under_media(Path::new("/mediathek/x")));
        assert!(!under_media(Path::new("/run/mediax/a")));
    }

    #[test]
    fn unknown_block_devices_are_unknown() {
        let sys = fake_sysfs();
        assert_eq!(block_removable(sys.path(), 8, 99), None);
        assert_eq!(block_removable(sys.path(), 8, 0), Some(false));
        assert_eq!(block_removable(sys.path(), 8, 16), Some(true));
    }

    #[test]
    fn paths_are_compared_by_file_system_even_before_they_exist() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let key = dir.path().join("not/yet/there/venue-key.age");
        assert_eq!(same_filesystem(&data, &key), Some(true));
        assert_eq!(same_filesystem(&data, Path::new("/proc/self")), Some(false));
        if Path::new(MOUNTINFO).exists() {
            assert_eq!(is_removable(Path::new("/proc/self/status")), Some(false));
            assert!(is_removable(&key).is_some());
            // Whatever is mounted here: every listed drive is writable and removable.
            for m in removable_mounts() {
                assert!(m.removable && m.path.is_absolute(), "{m:?}");
            }
        }
    }
}
