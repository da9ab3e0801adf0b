#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{Local, TimeZone};
use tempfile::TempDir;
use tresen::authority::AuthorityKeys;
use tresen::contact::ContactData;
use tresen::keyfile::Passphrase;
use tresen::kiosk::{Kiosk, VenueSetup};
use tresen::local_secret::SecretStore;

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

pub struct Venue {
    pub dir: TempDir,
    pub authority: AuthorityKeys,
    pub trust: String,
    pub kiosk: Kiosk,
    pub key_file: PathBuf,
    pub terrasse: i64,
    pub bar: i64,
}

impl Venue {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn reopen(&mut self, now: i64) {
        let dir = self.data_dir();
        // Drop the old connection first so the new one sees a closed database.
        let fresh = Kiosk::open(&dir, now).expect("reopen");
        self.kiosk = fresh;
    }
}

/// An authority and a venue ("Filiale 1" with "Terrasse", tables 1-10, and "Bar"),
/// set up at `now` with the file-based local secret.
pub fn venue(now: i64) -> Venue {
    let authority = AuthorityKeys::generate("Gesundheitsamt Test");
    let trust = authority.trust_file(1, now).expect("trust file");
    venue_with(authority, trust, now)
}

pub fn venue_with(authority: AuthorityKeys, trust: String, now: i64) -> Venue {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("venue-key.age");
    let p = pass();
    let mut kiosk = Kiosk::init(
        &dir.path().join("data"),
        &VenueSetup {
            name: "Café Mönch",
            address: "Hauptstraße 1, 10115 Berlin",
            trust_file: &trust,
            expect_root: None,
            key_file: &key_file,
            passphrase: &p,
            secret_store: SecretStore::File,
        },
        now,
    )
    .expect("venue init");
    let loc = kiosk.add_location("Filiale 1", now).expect("location");
    let terrasse = kiosk.add_area(loc, "Terrasse", None, now).expect("area");
    kiosk
        .add_tables(terrasse, &(1..=10).collect::<Vec<_>>())
        .expect("tables");
    let bar = kiosk.add_area(loc, "Bar", None, now).expect("area");
    Venue {
        dir,
        authority,
        trust,
        kiosk,
        key_file,
        terrasse,
        bar,
    }
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
    let dir = tempfile::tempdir().expect("tempdir");
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
