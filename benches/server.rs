//! Several counters on one PostgreSQL 15 server (a private cluster with TLS and fsync on,
//! started here), each measure next to its physical limit in the same run:
//! - check-ins per second from 1, 2 and 4 counters (a thread each, with its own
//!   connection and outbox) next to bare fsync'd inserts of a row as large as a check-in
//!   over the same TLS connection, from as many clients;
//! - scan → committed: the time `scan_guest` takes on one counter until the server has
//!   committed the check-in (p50, p99), next to one bare insert;
//! - forwarding: a counter scans while the server is down, then forwards its outbox;
//!   the time next to as many bare inserts;
//! - approving a request over every check-in of the run, read from the server with a
//!   streaming cursor: records per second next to the raw per-record work (opening the
//!   guest and table seals) on all cores, and the peak memory, as `--bench approve` does
//!   for SQLite.
//!
//! `cargo bench --bench server` (TRESEN_BENCH_N scans per counter, default 2000;
//! TRESEN_BENCH_OUTBOX buffered scans, default 10000). The machine's cores are shared by
//! the server and the counters, as on a venue's own small server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../tests/common/postgres.rs"]
mod postgres_cluster;

use std::time::{Duration, Instant};

use postgres_cluster::PgCluster;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::contact::ContactData;
use tresen_protocol::join_file::ServerLogin;
use tresen_protocol::key_file::Passphrase;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::store::server::link;
use tresen_venue::{Venue, VenueSetup};

const ROW: usize = 286 + 51;

struct Operator {
    dir: tempfile::TempDir,
    venue: Venue,
    area: i64,
    authority: tresen_protocol::authority_keys::AuthorityKeys,
    key_file: std::path::PathBuf,
    pass: Passphrase,
}

fn operator(pg: &PgCluster) -> Operator {
    let now = common::now();
    let authority = tresen_protocol::authority_keys::AuthorityKeys::generate("Bench-Amt");
    let trust = authority.trust_file(1, now).unwrap();
    let dir = tempfile::tempdir_in(common::base_dir()).unwrap();
    let key_file = dir.path().join("k.age");
    let pass = Passphrase::new("correct horse battery staple tresen");
    let mut venue = Venue::init_on_server(
        &dir.path().join("operator"),
        &VenueSetup {
            name: "Bench",
            address: "Weg 1",
            trust_file: &trust,
            expect_root: &tresen_protocol::trust::root_fingerprint(&authority.root.public_key()),
            key_file: &key_file,
            passphrase: &pass,
            secret_store: SecretStore::File,
        },
        pg.operator(),
        now,
    )
    .unwrap();
    let loc = venue.add_location("L", now).unwrap();
    let area = venue.add_area(loc, "A", None, now).unwrap();
    Operator {
        dir,
        venue,
        area,
        authority,
        key_file,
        pass,
    }
}

fn counter(op: &mut Operator, label: &str) -> Venue {
    let file = op.dir.path().join(format!("{label}.tresen-join"));
    let made = op
        .venue
        .make_join_file(label, &file, common::now())
        .unwrap();
    Venue::join(
        &op.dir.path().join(label),
        &std::fs::read(&file).unwrap(),
        &made.passphrase,
        SecretStore::File,
        common::now(),
    )
    .unwrap()
}

fn codes(op: &Operator, from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            op.venue
                .make_guest_code(&ContactData {
                    name: format!("Gast {i}"),
                    street: "Weg 1".into(),
                    postcode: "10115".into(),
                    city: "Berlin".into(),
                    phone: format!("030{i:08}"),
                    email: String::new(),
                })
                .unwrap()
                .to_text()
        })
        .collect()
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `clients` connections inserting `n` rows each, one commit per row; the total time and
/// each insert's time.
fn bare(login: &ServerLogin, clients: usize, n: usize, tag: &str) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let times = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || {
                    let mut db = link::connect(login).unwrap();
                    let payload = vec![0x5Au8; ROW];
                    let mut t = Vec::with_capacity(n);
                    for i in 0..n {
                        let id = format!("{tag}-{c}-{i}");
                        let s = Instant::now();
                        db.execute(
                            "INSERT INTO bench_bare (id, payload) VALUES ($1, $2)",
                            &[&id, &payload],
                        )
                        .unwrap();
                        t.push(s.elapsed());
                    }
                    t
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    (start.elapsed(), times)
}

fn main() {
    let Some(n) = common::size(2000) else {
        return;
    };
    let outbox: usize = std::env::var("TRESEN_BENCH_OUTBOX")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let pg = PgCluster::start();
    let mut op = operator(&pg);
    let login = pg.operator();
    link::connect(&login)
        .unwrap()
        .batch_execute("CREATE TABLE bench_bare (id TEXT PRIMARY KEY, payload BYTEA NOT NULL)")
        .unwrap();
    let area = op.area;
    let mut counters: Vec<Venue> = (0..4).map(|i| counter(&mut op, &format!("c{i}"))).collect();
    let mut next = 0;

    println!("check-ins per second (back to back, {n} per counter):");
    let mut latencies = Vec::new();
    for k in [1usize, 2, 4] {
        let batches: Vec<Vec<String>> = (0..k)
            .map(|_| {
                next += n;
                codes(&op, next - n, n)
            })
            .collect();
        let start = Instant::now();
        let times = std::thread::scope(|s| {
            let handles: Vec<_> = counters
                .iter_mut()
                .take(k)
                .zip(&batches)
                .map(|(c, batch)| {
                    s.spawn(move || {
                        let mut t = Vec::with_capacity(batch.len());
                        for code in batch {
                            let s = Instant::now();
                            c.scan_guest(code, area, None, Method::Fob, common::now())
                                .unwrap();
                            t.push(s.elapsed());
                        }
                        assert_eq!(c.sync_state().waiting, 0, "a scan was not committed");
                        t
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        let wall = start.elapsed();
        let (bare_wall, _) = bare(&login, k, n, &format!("t{k}"));
        let rate = (k * n) as f64 / wall.as_secs_f64();
        let bare_rate = (k * n) as f64 / bare_wall.as_secs_f64();
        println!(
            "  {k} counter(s): {rate:>7.0} check-ins/s   bare insert from {k} client(s): {bare_rate:>7.0}/s   ratio {:.2}×",
            bare_rate / rate
        );
        if k == 1 {
            latencies = times;
        }
    }

    let (_, mut bare_one) = bare(&login, 1, n, "lat");
    let (p50, p99) = (pct(&mut latencies, 0.5), pct(&mut latencies, 0.99));
    let (b50, b99) = (pct(&mut bare_one, 0.5), pct(&mut bare_one, 0.99));
    println!(
        "scan → committed (1 counter): p50 {:.3} ms  p99 {:.3} ms   bare insert p50 {:.3} ms  p99 {:.3} ms   ratio p50 {:.2}×  p99 {:.2}×",
        ms(p50),
        ms(p99),
        ms(b50),
        ms(b99),
        ms(p50) / ms(b50),
        ms(p99) / ms(b99)
    );

    // The server goes away; one counter scans `outbox` guests into its outbox.
    let buffered = codes(&op, next, outbox);
    let c = &mut counters[0];
    pg.kill();
    let start = Instant::now();
    for code in &buffered {
        c.scan_guest(code, area, None, Method::Fob, common::now())
            .unwrap();
    }
    let offline = start.elapsed();
    assert_eq!(c.sync_state().waiting, outbox as u64);
    pg.start_again();
    c.retry_server_now();
    let start = Instant::now();
    while c.sync_state().waiting > 0 {
        let r = c.forward_pending(Duration::from_secs(3600)).unwrap();
        assert_eq!(r.failed, 0, "{r:?}");
    }
    let forward = start.elapsed();
    let (bare_wall, _) = bare(&login, 1, outbox, "fwd");
    println!(
        "outbox: {outbox} scans while offline in {:.1} s ({:.3} ms each); forwarded in {:.1} s ({:.0}/s)   {outbox} bare inserts {:.1} s   ratio {:.2}×",
        offline.as_secs_f64(),
        ms(offline) / outbox as f64,
        forward.as_secs_f64(),
        outbox as f64 / forward.as_secs_f64(),
        bare_wall.as_secs_f64(),
        forward.as_secs_f64() / bare_wall.as_secs_f64()
    );
    let total: i64 = pg
        .superuser_in_venue()
        .query_one("SELECT COUNT(*) FROM checkins", &[])
        .unwrap()
        .get(0);
    assert_eq!(total as usize, 7 * n + outbox, "check-ins lost or doubled");
    approve(&pg, &mut op, total as u64);
}

fn approve(pg: &PgCluster, op: &mut Operator, total: u64) {
    use tresen_protocol::checkin_record;
    let now = common::now();
    let office_dir = op.dir.path().join("office");
    let cert = tresen_office::authority::add_office(
        op.dir.path(),
        &op.authority,
        &tresen_office::authority::NewOffice {
            dir: &office_dir,
            id: "ga",
            name: "Bench-Amt Mitte",
            passphrase: &op.pass,
            valid_days: 30,
        },
        now - 10,
    )
    .unwrap();
    let desk = tresen_office::desk::OfficeDesk::open(&office_dir, &op.pass).unwrap();
    let listing = op
        .authority
        .trust_file_with(2, now - 5, vec![cert])
        .unwrap();
    op.venue.update_trust(&listing, now - 5).unwrap();
    let keys = tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&op.key_file, &op.pass)
        .unwrap();
    let fingerprint = op.venue.venue_public_keys().fingerprint();

    // Raw rate: opening a record's guest and table seals, on a sample read from the server.
    let rows = pg
        .superuser_in_venue()
        .query(
            "SELECT id, area_id, checked_in_at, guest_seal, table_seal, seal_version
             FROM checkins LIMIT 2000",
            &[],
        )
        .unwrap();
    let sample: Vec<_> = rows
        .iter()
        .map(|r| {
            let id: Vec<u8> = r.get(0);
            let b = checkin_record::Binding {
                record_id: id.try_into().unwrap(),
                venue_fingerprint: fingerprint,
                area_id: u32::try_from(r.get::<_, i64>(1)).unwrap(),
                checked_in_at: r.get(2),
            };
            let version = u8::try_from(r.get::<_, i16>(5)).unwrap();
            (b, r.get::<_, Vec<u8>>(3), r.get::<_, Vec<u8>>(4), version)
        })
        .collect();
    let t = Instant::now();
    for (b, g, tb, v) in &sample {
        checkin_record::open(&keys.seal, *v, b, g, tb).unwrap();
    }
    let raw = sample.len() as f64 / t.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;

    std::thread::sleep(Duration::from_millis(1100));
    let now = common::now();
    let req = desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &op.venue.fingerprint(),
                areas: &[],
                from: now - 86_400,
                until: now,
                case_reference: "AZ",
                reason: "Bench",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let out = op.dir.path().join("answer");
    let rss_before = common::status_kib("self", "VmRSS:");
    let peak = std::sync::atomic::AtomicU64::new(rss_before);
    let progress = |_: u64, _: u64| {
        peak.fetch_max(
            common::status_kib("self", "VmRSS:"),
            std::sync::atomic::Ordering::Relaxed,
        );
    };
    let t = Instant::now();
    let report = op
        .venue
        .approve_request(req.as_bytes(), &keys, &out, &progress, now)
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.records, total, "the answer misses check-ins");
    let rate = total as f64 / secs;
    println!(
        "approval over {total} check-ins from the server: {rate:.0} records/s ({secs:.2} s)   raw record open {raw:.0}/s × {cores} cores   ratio {:.0} %   RSS +{} KiB (peak {} KiB)",
        100.0 * rate / (raw * cores),
        peak.load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(rss_before),
        peak.load(std::sync::atomic::Ordering::Relaxed)
    );
}
