#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{Local, TimeZone};
use tempfile::TempDir;
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::contact::ContactData;
use tresen_protocol::key_file::Passphrase;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::{Venue, VenueSetup};

pub const PASS: &str = "correct horse battery staple tresen";

pub fn pass() -> Passphrase {
    Passphrase::new(PASS)
}

/// A local time as Unix seconds.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Local
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("valid local time")
        .timestamp()
}

pub struct TestVenue {
    pub dir: TempDir,
    pub authority: AuthorityKeys,
    pub trust: String,
    pub venue: Venue,
    pub key_file: PathBuf,
    pub terrasse: i64,
    pub bar: i64,
}

impl TestVenue {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn reopen(&mut self, now: i64) {
        let dir = self.data_dir();
        // Drop the old connection first so the new one sees a closed database.
        let fresh = Venue::open(&dir, now).expect("reopen");
        self.venue = fresh;
    }
}

/// An authority and a venue ("Filiale 1" with "Terrasse", tables 1-10, and "Bar"),
/// set up at `now` with the file-based local secret.
pub fn venue(now: i64) -> TestVenue {
    let authority = AuthorityKeys::generate("Gesundheitsamt Test");
    let trust = authority.trust_file(1, now).expect("trust file");
    venue_with(authority, trust, now)
}

pub fn venue_with(authority: AuthorityKeys, trust: String, now: i64) -> TestVenue {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("venue-key.age");
    let p = pass();
    let mut venue = Venue::init(
        &dir.path().join("data"),
        &VenueSetup {
            name: "Café Mönch",
            address: "Hauptstraße 1, 10115 Berlin",
            trust_file: &trust,
            expect_root: &tresen_protocol::trust::root_fingerprint(&authority.root.public_key()),
            key_file: &key_file,
            passphrase: &p,
            secret_store: SecretStore::File,
        },
        now,
    )
    .expect("venue init");
    let loc = venue.add_location("Filiale 1", now).expect("location");
    let terrasse = venue.add_area(loc, "Terrasse", None, now).expect("area");
    venue
        .add_tables(terrasse, &(1..=10).collect::<Vec<_>>())
        .expect("tables");
    let bar = venue.add_area(loc, "Bar", None, now).expect("area");
    TestVenue {
        dir,
        authority,
        trust,
        venue,
        key_file,
        terrasse,
        bar,
    }
}

/// Purges once a day from `from` to `to`, as the running app does every hour: the clock
/// never looks as if it jumped.
pub fn purge_daily(venue: &mut Venue, from: i64, to: i64) -> tresen_venue::PurgeReport {
    let mut t = from;
    while t + 86_400 < to {
        t += 86_400;
        let r = venue.purge(t).expect("purge");
        assert!(!r.skipped_clock);
    }
    let r = venue.purge(to).expect("purge");
    assert!(!r.skipped_clock);
    r
}

pub fn contact(i: usize) -> ContactData {
    ContactData {
        name: format!("Gast Nummer {i}"),
        street: format!("Lindenstraße {i}"),
        postcode: "10115".into(),
        city: "Berlin".into(),
        phone: format!("+49 30 {:06}", 100_000 + i),
        email: String::new(),
    }
}

/// A tiny tmpfs mounted for a test (needs root, as in CI); unmounted on drop.
pub struct Tmpfs {
    pub path: PathBuf,
    _dir: TempDir,
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

/// Mounts a tmpfs of `kib` KiB, or says why not. With TRESEN_REQUIRE_TMPFS=1 (CI) a
/// failure to mount fails the test instead of skipping it.
pub fn tiny_tmpfs(kib: u32) -> Option<Tmpfs> {
    tiny_tmpfs_in(&std::env::temp_dir(), kib)
}

/// A real second drive: an ext4 file system on a loop device (root only), mounted in a
/// temporary folder, or where the desktop mounts removable drives (/media/…) so that
/// Tresen takes it for a USB stick. Unmounted and detached on drop.
pub struct Drive {
    pub path: PathBuf,
    loop_dev: String,
    _dir: TempDir,
}

impl Drop for Drive {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.loop_dev])
            .status();
    }
}

pub fn drive() -> Option<Drive> {
    loop_drive(&std::env::temp_dir())
}

pub fn stick() -> Option<Drive> {
    std::fs::create_dir_all("/media").ok()?;
    loop_drive(std::path::Path::new("/media"))
}

fn loop_drive(parent: &std::path::Path) -> Option<Drive> {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir_in(parent).expect("tempdir");
    let image = tempfile::NamedTempFile::new()
        .expect("image")
        .into_temp_path();
    let made = (|| -> Option<Drive> {
        std::fs::File::create(&image).ok()?.set_len(4 << 20).ok()?;
        let quiet = |c: &mut Command| {
            c.stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
        };
        quiet(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image))?;
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .ok()?;
        let loop_dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || loop_dev.is_empty() {
            return None;
        }
        if quiet(Command::new("mount").arg(&loop_dev).arg(dir.path())).is_none() {
            let _ = Command::new("losetup").args(["-d", &loop_dev]).status();
            return None;
        }
        Some(Drive {
            path: dir.path().to_path_buf(),
            loop_dev,
            _dir: tempfile::tempdir().expect("tempdir"),
        })
    })();
    match made {
        Some(mut d) => {
            // The folder must outlive the mount: keep it, not a fresh one.
            d._dir = dir;
            // The image file is deleted now; the loop device keeps it until detached.
            drop(image);
            Some(d)
        }
        None => {
            assert!(
                std::env::var("TRESEN_REQUIRE_TMPFS").as_deref() != Ok("1"),
                "could not mount an ext4 image on a loop device as a second drive"
            );
            eprintln!("skipped: cannot mount a second drive here (needs root, losetup, mkfs.ext4)");
            None
        }
    }
}

pub fn tiny_tmpfs_in(parent: &std::path::Path, kib: u32) -> Option<Tmpfs> {
    let dir = tempfile::tempdir_in(parent).expect("tempdir");
    let ok = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={kib}k,mode=0700"),
            "tmpfs",
        ])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(Tmpfs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        });
    }
    assert!(
        std::env::var("TRESEN_REQUIRE_TMPFS").as_deref() != Ok("1"),
        "could not mount a tmpfs for the full-disk test"
    );
    eprintln!("skipped: cannot mount a tmpfs here (needs root)");
    None
}

/// Fills a file system to the last byte.
pub fn fill(dir: &std::path::Path) -> PathBuf {
    use std::io::Write;
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).expect("filler");
    let block = vec![0xA5u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0u8; 1]);
    let _ = f.sync_all();
    p
}

/// The FAT family as found on USB sticks and SD cards: no hard links, no symbolic links,
/// no Unix permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fat {
    ExFat,
    Fat32,
}

/// A FAT or exFAT image mounted read-write through FUSE (exfat-fuse, fusefat), since the
/// kernel may have no vfat or exfat module. Unmounted on drop.
pub struct FuseFat {
    pub path: PathBuf,
    kind: Fat,
    image: PathBuf,
    loop_dev: Option<String>,
    daemon: Option<std::process::Child>,
    _dir: TempDir,
}

impl FuseFat {
    /// Unmounts and mounts again, so what is read next comes from the image.
    pub fn remount(&mut self) {
        self.unmount();
        if let Err(e) = self.mount() {
            panic!("could not mount the {:?} image again: {e}", self.kind);
        }
    }

    fn mount(&mut self) -> Result<(), String> {
        use std::process::{Command, Stdio};
        // Both run in the foreground, so that waiting for them after unmounting means
        // everything has reached the image.
        let mut cmd = match self.kind {
            Fat::ExFat => {
                // As root, exfat-fuse insists on a block device.
                let source = self
                    .loop_dev
                    .clone()
                    .unwrap_or_else(|| self.image.to_string_lossy().into_owned());
                let mut c = Command::new("mount.exfat-fuse");
                c.arg("-d").arg(source);
                c
            }
            Fat::Fat32 => {
                let mut c = Command::new("fusefat");
                // fusefat mounts read-only unless its read-write mode is asked for.
                c.args(["-f", "-o", "rw+"]).arg(&self.image);
                c
            }
        };
        let mut daemon = cmd
            .arg(&self.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the FUSE driver: {e}"))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if is_mount_point(&self.path) {
                self.daemon = Some(daemon);
                return Ok(());
            }
            if let Ok(Some(status)) = daemon.try_wait() {
                return Err(format!("the FUSE driver exited: {status}"));
            }
            if std::time::Instant::now() > deadline {
                let _ = daemon.kill();
                let _ = daemon.wait();
                return Err("the FUSE driver did not mount within 20 s".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn unmount(&mut self) {
        let Some(mut daemon) = self.daemon.take() else {
            return;
        };
        for (cmd, arg) in [("umount", None), ("fusermount", Some("-u"))] {
            let mut c = std::process::Command::new(cmd);
            c.args(arg)
                .arg(&self.path)
                .stderr(std::process::Stdio::null());
            if c.status().map(|s| s.success()).unwrap_or(false) {
                break;
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while matches!(daemon.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = daemon.kill();
        let _ = daemon.wait();
        if is_mount_point(&self.path) {
            let _ = std::process::Command::new("umount")
                .args(["-l"])
                .arg(&self.path)
                .status();
        }
    }
}

impl Drop for FuseFat {
    fn drop(&mut self) {
        self.unmount();
        if let Some(dev) = &self.loop_dev {
            let _ = std::process::Command::new("losetup")
                .args(["-d", dev])
                .status();
        }
    }
}

fn is_mount_point(path: &std::path::Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let want = path.to_string_lossy().replace(' ', "\\040");
    text.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// Makes a FAT file system image of the given kind and mounts it through FUSE, or says
/// why not. With TRESEN_REQUIRE_FUSE=1 (CI, as root: /dev/fuse, loop devices) a failure
/// fails the test instead of skipping it.
pub fn fuse_fat(kind: Fat) -> Option<FuseFat> {
    match try_fuse_fat(kind) {
        Ok(fs) => Some(fs),
        Err(why) => {
            assert!(
                std::env::var("TRESEN_REQUIRE_FUSE").as_deref() != Ok("1"),
                "could not mount a {kind:?} file system through FUSE: {why} (needs root and the \
                 Debian packages exfat-fuse, exfatprogs, fusefat, dosfstools)"
            );
            eprintln!("skipped: cannot mount a {kind:?} file system through FUSE here: {why}");
            None
        }
    }
}

fn try_fuse_fat(kind: Fat) -> Result<FuseFat, String> {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let image = dir.path().join("stick.img");
    let path = dir.path().join("mnt");
    std::fs::create_dir(&path).map_err(|e| e.to_string())?;
    // The smallest sizes the tools accept: FAT32 needs 65525 clusters.
    let (size, mkfs, args): (u64, _, &[&str]) = match kind {
        Fat::ExFat => (8 << 20, "mkfs.exfat", &["-L", "TRESEN"]),
        Fat::Fat32 => (34 << 20, "mkfs.vfat", &["-F", "32", "-s", "1"]),
    };
    std::fs::File::create(&image)
        .and_then(|f| f.set_len(size))
        .map_err(|e| e.to_string())?;
    let made = Command::new(mkfs)
        .args(args)
        .arg(&image)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {mkfs}: {e}"))?;
    if !made.success() {
        return Err(format!("{mkfs} failed: {made}"));
    }
    let loop_dev = if kind == Fat::ExFat {
        Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        None
    };
    let mut fs = FuseFat {
        path,
        kind,
        image,
        loop_dev,
        daemon: None,
        _dir: dir,
    };
    fs.mount()?;
    Ok(fs)
}

// ----- health offices -----

pub const OFFICE_PASS: &str = "amtsstube fensterbank regenschirm 77";

pub struct Office {
    pub dir: PathBuf,
    pub desk: tresen_office::desk::OfficeDesk,
}

/// Certifies an office and gives the venue the authority's next trust file, which lists
/// it (only listed offices may ask).
pub fn office(v: &mut TestVenue, id: &str) -> Office {
    let o = office_unlisted(v, id);
    let auth_dir = v.dir.path().join("authority");
    let serial = v.venue.trust().unwrap().body.serial + 1;
    let trust = v
        .authority
        .trust_file_with(
            serial,
            at(2026, 11, 1, 0, 0),
            tresen_office::authority::office_certificates(&auth_dir),
        )
        .unwrap();
    v.venue.update_trust(&trust, at(2026, 11, 1, 0, 0)).unwrap();
    o
}

/// Certifies an office without telling the venue.
pub fn office_unlisted(v: &TestVenue, id: &str) -> Office {
    let dir = v.dir.path().join(format!("office-{id}"));
    let auth_dir = v.dir.path().join("authority");
    tresen_office::authority::add_office(
        &auth_dir,
        &v.authority,
        &tresen_office::authority::NewOffice {
            dir: &dir,
            id,
            name: "Gesundheitsamt Mitte",
            passphrase: &Passphrase::new(OFFICE_PASS),
            valid_days: 365,
        },
        at(2026, 11, 1, 0, 0),
    )
    .unwrap();
    let desk = tresen_office::desk::OfficeDesk::open(&dir, &Passphrase::new(OFFICE_PASS)).unwrap();
    Office { dir, desk }
}

pub fn keys(v: &TestVenue) -> tresen_protocol::venue_keys::VenueSecretKeys {
    tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&v.key_file, &pass()).unwrap()
}

pub fn no_progress(_: u64, _: u64) {}

/// Whether any file in `dir` holds `needle`: what a copy of the data folder would show.
pub fn folder_holds(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

pub fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}
