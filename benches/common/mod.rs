//! The venue every benchmark starts from: an authority, a venue with one area, on the
//! disk named by TRESEN_BENCH_DIR (default: target/ of this checkout).
#![allow(dead_code)]

use std::path::PathBuf;

use tempfile::TempDir;
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::contact::ContactData;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::Passphrase;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::{Venue, VenueSetup};

pub struct BenchVenue {
    pub dir: TempDir,
    pub authority: AuthorityKeys,
    pub venue: Venue,
    pub area: i64,
    pub key_file: PathBuf,
    pub pass: Passphrase,
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn base_dir() -> PathBuf {
    let base = std::env::var_os("TRESEN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).expect("bench folder");
    base
}

pub fn venue() -> BenchVenue {
    let dir = tempfile::tempdir_in(base_dir()).expect("tempdir");
    let authority = AuthorityKeys::generate("Bench-Amt");
    let trust = authority.trust_file(1, now()).expect("trust");
    let pass = Passphrase::new("correct horse battery staple tresen");
    let key_file = dir.path().join("k.age");
    let mut venue = Venue::init(
        &dir.path().join("data"),
        &VenueSetup {
            name: "Bench",
            address: "Weg 1",
            trust_file: &trust,
            expect_root: &tresen_protocol::trust::root_fingerprint(&authority.root.public_key()),
            key_file: &key_file,
            passphrase: &pass,
            secret_store: SecretStore::File,
        },
        now(),
    )
    .expect("venue");
    let loc = venue.add_location("L", now()).expect("location");
    let area = venue.add_area(loc, "A", None, now()).expect("area");
    BenchVenue {
        dir,
        authority,
        venue,
        area,
        key_file,
        pass,
    }
}

/// `n` distinct guest codes.
pub fn guest_codes(v: &BenchVenue, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let c = ContactData {
                name: format!("Gast {i}"),
                street: "Weg 1".into(),
                postcode: "10115".into(),
                city: "Berlin".into(),
                phone: format!("030{i:08}"),
                email: String::new(),
            };
            GuestCode::create(&c, &v.authority.contact_key())
                .expect("code")
                .to_text()
        })
        .collect()
}

/// How many to run: `TRESEN_BENCH_N`, else `default`. None when cargo only lists the
/// benchmarks (`--list`).
pub fn size(default: usize) -> Option<usize> {
    if std::env::args().any(|a| a == "--list") {
        return None;
    }
    Some(
        std::env::var("TRESEN_BENCH_N")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}

/// A field of `/proc/PID/status` in KiB (`pid` "self" for this process); 0 if unknown.
pub fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The comparison for a check-in: a bare, durable insert of a row as large as a check-in
/// into the same database. Call `bare_table` once first.
pub fn bare_table(k: &Venue) {
    k.sqlite()
        .execute_batch("CREATE TABLE bench_bare (id BLOB NOT NULL, payload BLOB NOT NULL)")
        .expect("bare table");
}

pub fn bare_insert(k: &Venue, i: usize) -> std::time::Duration {
    let payload = [0x5Au8; 286 + 51];
    let t = std::time::Instant::now();
    k.sqlite()
        .prepare_cached("INSERT INTO bench_bare (id, payload) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute((&(i as u64).to_be_bytes()[..], &payload[..])))
        .expect("bare insert");
    t.elapsed()
}
