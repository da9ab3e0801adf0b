//! From a scanned code string to a durable check-in, next to a bare fsync'd SQLite insert
//! on the same disk, measured interleaved in one run.
//!
//! `cargo bench --bench checkin` (N=10000 by default; `TRESEN_BENCH_N` changes it,
//! `TRESEN_BENCH_DIR` picks the folder/disk; default: target/ of this checkout).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tresen::authority::AuthorityKeys;
use tresen::checkin_record::Method;
use tresen::contact::ContactData;
use tresen::guest_code::GuestCode;
use tresen::keyfile::Passphrase;
use tresen::kiosk::{Kiosk, VenueSetup};
use tresen::local_secret::SecretStore;

fn stats(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "{name:<34} n={:<6} median {:>8.3} ms   p99 {:>8.3} ms   mean {:>8.3} ms   max {:>8.3} ms",
        v.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    );
    pct(0.5)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("TRESEN_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let base = std::env::var_os("TRESEN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).expect("bench folder");
    let dir = tempfile::tempdir_in(&base).expect("tempdir");
    let now = || chrono::Utc::now().timestamp();
    let auth = AuthorityKeys::generate("Bench-Amt");
    let trust = auth.trust_file(1, now()).expect("trust");
    let pass = Passphrase::new("correct horse battery staple tresen");
    let mut k = Kiosk::init(
        &dir.path().join("data"),
        &VenueSetup {
            name: "Bench",
            address: "Weg 1",
            trust_file: &trust,
            expect_root: None,
            key_file: &dir.path().join("k.age"),
            passphrase: &pass,
            secret_store: SecretStore::File,
        },
        now(),
    )
    .expect("venue");
    let loc = k.add_location("L", now()).expect("location");
    let area = k.add_area(loc, "A", None, now()).expect("area");
    let codes: Vec<String> = (0..n + 100)
        .map(|i| {
            let c = ContactData {
                name: format!("Gast {i}"),
                street: "Weg 1".into(),
                postcode: "10115".into(),
                city: "Berlin".into(),
                phone: format!("030{:08}", i),
                email: String::new(),
            };
            GuestCode::create(&c, &auth.contact_key())
                .expect("code")
                .to_text()
        })
        .collect();
    k.connection()
        .execute_batch("CREATE TABLE bench_bare (id BLOB NOT NULL, payload BLOB NOT NULL)")
        .expect("bare table");
    let payload = vec![0x5Au8; 286 + 51];
    let mut checkin = Vec::with_capacity(n);
    let mut bare = Vec::with_capacity(n);
    for (i, code) in codes.iter().enumerate() {
        let t = Instant::now();
        k.scan_guest(code, area, None, Method::Fob, now())
            .expect("check-in");
        let d = t.elapsed();
        let t = Instant::now();
        k.connection()
            .execute(
                "INSERT INTO bench_bare (id, payload) VALUES (?1, ?2)",
                (&(i as u64).to_be_bytes()[..], &payload[..]),
            )
            .expect("bare insert");
        let b = t.elapsed();
        if i >= 100 {
            checkin.push(d);
            bare.push(b);
        }
    }
    println!("disk folder: {}", base.display());
    let a = stats("code string -> durable check-in", checkin);
    let b = stats("bare fsync'd insert (same db)", bare);
    println!(
        "median overhead of a check-in over a bare insert: {:.3} ms ({:.2}x)",
        (a.as_secs_f64() - b.as_secs_f64()) * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
}
