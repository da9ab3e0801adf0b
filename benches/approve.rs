//! Approving a request that covers many check-ins: records per second beside the raw rate
//! of the per-record work measured in the same run (one HPKE open of a check-in seal; a
//! record has two seals, guest and table), and peak memory, for two sizes to show that
//! memory does not grow with the number of records.
//!
//! `cargo bench --bench approve` (100 000 and 10 000 records; `TRESEN_BENCH_N` sets the
//! larger size).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rayon::prelude::*;
use tresen_office::authority;
use tresen_office::desk::OfficeDesk;
use tresen_protocol::checkin_record::{self, Method};
use tresen_protocol::contact::ContactData;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::venue_keys::VenueSecretKeys;

mod common;

fn run(n: usize) {
    let now = common::now();
    let v = common::venue();
    let office_dir = v.dir.path().join("office");
    let cert = authority::add_office(
        v.dir.path(),
        &v.authority,
        &tresen_office::authority::NewOffice {
            dir: &office_dir,
            id: "ga",
            name: "Bench-Amt Mitte",
            passphrase: &v.pass,
            valid_days: 30,
        },
        now - 10,
    )
    .expect("office");
    let desk = OfficeDesk::open(&office_dir, &v.pass).expect("desk");
    let (mut k, area, auth, key_file, pass, dir) =
        (v.venue, v.area, v.authority, v.key_file, v.pass, v.dir);
    let listing = auth.trust_file_with(2, now - 5, vec![cert]).expect("trust");
    k.update_trust(&listing, now - 5).expect("trust update");
    let c = ContactData {
        name: "Gast".into(),
        street: "Weg 1".into(),
        postcode: "10115".into(),
        city: "Berlin".into(),
        phone: "030123456".into(),
        email: String::new(),
    };
    let blob = GuestCode::create(&c, &auth.contact_key())
        .expect("code")
        .contact_blob();
    let pk = k.venue_public_keys().seal;
    // Setup: sealed check-ins written directly in one transaction (not measured).
    let start = now - 3 * 86_400;
    let fingerprint = k.venue_public_keys().fingerprint();
    let binding = |i: usize, id: [u8; 16]| checkin_record::Binding {
        record_id: id,
        venue_fingerprint: fingerprint,
        area_id: u32::try_from(area).expect("area id"),
        checked_in_at: start + (i as i64 % 86_400),
    };
    let rows: Vec<(checkin_record::Binding, Vec<u8>, Vec<u8>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let b = binding(i, tresen_protocol::crypto::random_bytes());
            (
                b,
                checkin_record::seal_guest(&pk, &b, Method::Fob, &blob).expect("seal"),
                checkin_record::seal_table(&pk, &b, Some(3)).expect("seal"),
            )
        })
        .collect();
    {
        let tx = k.sqlite().unchecked_transaction().expect("tx");
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, checked_out_at, last_read_at, guest_seal, table_seal, seal_version)
                     VALUES (?1, ?2, 1, ?3, ?3 + 3600, ?3 + 1800, ?3, ?4, ?5, 2)",
                )
                .expect("prepare");
            for (b, g, t) in &rows {
                st.execute(rusqlite::params![
                    &b.record_id[..],
                    area,
                    b.checked_in_at,
                    g,
                    t
                ])
                .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let sample: Vec<_> = rows.iter().take(2000).cloned().collect();
    drop(rows);
    let keys = VenueSecretKeys::read_key_file(&key_file, &pass).expect("key file");

    // Raw rate: one HPKE open of a check-in seal, single thread.
    let t = Instant::now();
    for (b, g, _) in &sample {
        keys.seal
            .open(checkin_record::GUEST_INFO, &b.aad(), g)
            .expect("open");
    }
    let raw_open = sample.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (b, g, tb) in &sample {
        checkin_record::open(&keys.seal, 2, b, g, tb).expect("open");
    }
    let raw_record = sample.len() as f64 / t.elapsed().as_secs_f64();

    let req = desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &k.fingerprint(),
                areas: &[],
                from: start - 60,
                until: now - 60,
                case_reference: "AZ",
                reason: "Bench",
                valid_secs: 86_400,
            },
            now,
        )
        .expect("request");
    let out = dir.path().join("answer");
    let rss_before = common::status_kib("self", "VmRSS:");
    let peak = std::sync::atomic::AtomicU64::new(rss_before);
    let progress = |_: u64, _: u64| {
        peak.fetch_max(
            common::status_kib("self", "VmRSS:"),
            std::sync::atomic::Ordering::Relaxed,
        );
    };
    let t = Instant::now();
    let report = k
        .approve_request(req.as_bytes(), &keys, &out, &progress, now)
        .expect("approve");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.records, n as u64);
    let rate = n as f64 / secs;
    let cores = rayon::current_num_threads() as f64;
    println!("--- {n} check-ins ({} cores)", cores);
    println!("raw: one HPKE open of a check-in seal   {raw_open:>10.0} /s (1 thread)");
    println!("raw: one record (guest + table seals)    {raw_record:>10.0} /s (1 thread), {:>10.0} /s on {cores} cores", raw_record * cores);
    println!("approval                                 {rate:>10.0} records/s, {secs:.2} s, answer {} bytes", std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0));
    println!(
        "approval / raw per-record rate on all cores: {:.0} %   (/ one-open rate on all cores: {:.0} %)",
        100.0 * rate / (raw_record * cores),
        100.0 * rate / (raw_open * cores)
    );
    println!(
        "memory: RSS before {} KiB, peak during approval {} KiB (+{} KiB)",
        rss_before,
        peak.load(std::sync::atomic::Ordering::Relaxed),
        peak.load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(rss_before)
    );
}

fn main() {
    let Some(n) = common::size(100_000) else {
        return;
    };
    run(n / 10);
    run(n);
}
