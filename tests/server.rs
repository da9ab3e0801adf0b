//! Several counters, one venue, on a real PostgreSQL 15 server (a private cluster with
//! TLS, started for each test): check-ins and check-outs across counters, the counter's
//! least privilege, the outbox through a stopped server and a cut connection, pinned keys
//! and certificates, live counts, the purge, and an approval over every counter's data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/postgres.rs"]
mod postgres_cluster;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use postgres_cluster::PgCluster;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::Passphrase;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::store::server::listen::{listen, Change};
use tresen_venue::{ScanOutcome, Venue, VenueSetup};

/// The operator's PC with a venue on the server ("Filiale 1" with "Terrasse" and "Bar").
struct ServerVenue {
    dir: tempfile::TempDir,
    authority: tresen_protocol::authority_keys::AuthorityKeys,
    venue: Venue,
    key_file: PathBuf,
    terrasse: i64,
    bar: i64,
}

fn server_venue(pg: &PgCluster, now: i64) -> ServerVenue {
    let authority = tresen_protocol::authority_keys::AuthorityKeys::generate("Gesundheitsamt Test");
    let trust = authority.trust_file(1, now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("venue-key.age");
    let p = pass();
    let mut venue = Venue::init_on_server(
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
        pg.operator(),
        now,
    )
    .unwrap();
    let loc = venue.add_location("Filiale 1", now).unwrap();
    let terrasse = venue.add_area(loc, "Terrasse", None, now).unwrap();
    venue
        .add_tables(terrasse, &(1..=10).collect::<Vec<_>>())
        .unwrap();
    let bar = venue.add_area(loc, "Bar", None, now).unwrap();
    ServerVenue {
        dir,
        authority,
        venue,
        key_file,
        terrasse,
        bar,
    }
}

/// A counter joined with a fresh join file from the operator.
fn join(op: &mut ServerVenue, label: &str, now: i64) -> (tempfile::TempDir, Venue) {
    let file = op.dir.path().join(format!("{label}.tresen-join"));
    let made = op.venue.make_join_file(label, &file, now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sealed = std::fs::read(&file).unwrap();
    let v = Venue::join(
        &dir.path().join("data"),
        &sealed,
        &made.passphrase,
        SecretStore::File,
        now,
    )
    .unwrap();
    (dir, v)
}

fn code(v: &Venue, i: usize) -> GuestCode {
    v.make_guest_code(&contact(i)).unwrap()
}

fn counter_login(
    op: &mut ServerVenue,
    label: &str,
    now: i64,
) -> tresen_protocol::join_file::ServerLogin {
    let file = op.dir.path().join(format!("{label}.tresen-join"));
    let made = op.venue.make_join_file(label, &file, now).unwrap();
    Venue::read_join_file(&std::fs::read(&file).unwrap(), &made.passphrase)
        .unwrap()
        .server
}

fn count(pg: &PgCluster, sql: &str) -> i64 {
    pg.superuser_in_venue().query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn a_guest_checked_in_at_one_counter_is_checked_out_at_another() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_a_dir, mut a) = join(&mut op, "Eingang", t);
    let (_b_dir, mut b) = join(&mut op, "Terrasse hinten", t);
    let guest = code(&a, 1);
    let terrasse = op.terrasse;
    let r = a
        .check_in(&guest, terrasse, None, Method::Fob, t + 10)
        .unwrap();
    assert!(matches!(r, ScanOutcome::CheckedIn { .. }), "{r:?}");
    for v in [&mut op.venue, &mut a, &mut b] {
        assert_eq!(v.present_total(t + 20).unwrap(), 1);
    }
    let r = b
        .check_in(&guest, terrasse, None, Method::Fob, t + 600)
        .unwrap();
    assert!(matches!(r, ScanOutcome::CheckedOut { .. }), "{r:?}");
    for v in [&mut op.venue, &mut a, &mut b] {
        assert_eq!(v.present_total(t + 601).unwrap(), 0);
    }
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 1);
    // The server holds no name: only sealed parts, areas, times and pseudonyms.
    let mut su = pg.superuser_in_venue();
    for row in su
        .query("SELECT guest_seal, table_seal FROM checkins", &[])
        .unwrap()
    {
        let seal: Vec<u8> = row.get(0);
        assert!(!String::from_utf8_lossy(&seal).contains("Gast Nummer"));
    }
    let dump: String = su
        .query_one(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM checkins) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        !dump.contains("Gast") && !dump.contains("Lindenstra"),
        "{dump}"
    );
}

#[test]
fn the_counter_role_may_not_delete_read_the_audit_log_change_settings_or_approve() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let login = counter_login(&mut op, "Theke 2", t);
    let (_d, mut counter) = join(&mut op, "Theke 3", t);
    let guest = code(&counter, 1);
    counter
        .check_in(&guest, op.terrasse, None, Method::Fob, t + 1)
        .unwrap();
    // The server was given the login's SCRAM verifier, never its password: the statement
    // log (DDL is logged here) holds the CREATE ROLE but not the password.
    let log = pg.log();
    assert!(log.contains("CREATE ROLE"), "DDL not logged");
    assert!(
        !log.contains(&login.password),
        "the counter's password is in the server log"
    );
    let mut c = tresen_venue::store::server::link::connect(&login).unwrap();
    // What a counter does is allowed.
    c.query(
        "SELECT COUNT(*) FROM checkins WHERE checked_out_at IS NULL",
        &[],
    )
    .unwrap();
    c.execute(
        "UPDATE checkins SET checked_out_at = 1, checkout_reason = 'staff', last_read_at = 1
         WHERE checked_out_at IS NULL AND false",
        &[],
    )
    .unwrap();
    let forbidden = [
        "DELETE FROM checkins",
        "DELETE FROM scan_events",
        "TRUNCATE checkins",
        "UPDATE checkins SET guest_seal = 'x'",
        "UPDATE checkins SET area_id = 1",
        "SELECT * FROM audit_log",
        "INSERT INTO audit_log VALUES (99, 0, 'x', '', '', '', 'x')",
        "UPDATE settings SET value = '1'",
        "INSERT INTO settings VALUES ('retention_days', '9999')",
        "UPDATE areas SET state = 'closed'",
        "INSERT INTO areas(location_id, name, max_stay_secs, created_at) VALUES (1, 'x', 1, 1)",
        "DELETE FROM areas",
        "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES ('a', 'b', 'c', 1)",
        "UPDATE trust SET raw = 'x'",
        "SELECT * FROM requests",
        "INSERT INTO requests VALUES ('x', 'o', 'c', 'approved', 1, 1, 'x')",
        "UPDATE meta SET value = 'x'",
        "INSERT INTO meta VALUES ('audit_head', 'x')",
        "SELECT * FROM counters",
        "CREATE TABLE evil (x int)",
        "DROP TABLE checkins",
        "ALTER TABLE checkins DISABLE TRIGGER checkins_notify",
        "CREATE ROLE evil LOGIN",
    ];
    for sql in forbidden {
        let e = c.batch_execute(sql).expect_err(sql);
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        assert_eq!(code, "42501", "{sql}: {e}");
    }
    // The audit log's anchors are invisible to a counter; what it may read is there.
    let metas: Vec<String> = c
        .query("SELECT key FROM meta", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!metas.iter().any(|k| k.starts_with("audit")), "{metas:?}");
    assert!(metas.contains(&"seal_v2_since".to_string()));
    // In Tresen itself the counter is refused before the server is asked.
    let e = counter.close_all(None, t + 5).unwrap_err();
    assert_eq!(e.code(), "db-forbidden", "{e}");
    let e = counter.audit_entries().unwrap_err();
    assert_eq!(e.code(), "db-forbidden", "{e}");
    let e = counter.add_location("Filiale 9", t).unwrap_err();
    assert_eq!(e.code(), "db-forbidden", "{e}");
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM checkins WHERE checked_out_at IS NULL"
        ),
        1
    );
    // What the login may write, it may write only as a counter records it: no times far
    // ahead (kept from the purge), no blank or huge seals, no rewriting a stay that ended.
    let terrasse = op.terrasse;
    let guarded = [
        "UPDATE checkins SET checked_out_at = 9223372036854775807 WHERE checked_out_at IS NULL"
            .to_string(),
        "UPDATE checkins SET table_seal = '' WHERE checked_out_at IS NULL".to_string(),
        format!(
            "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, last_read_at,
                                  guest_seal, table_seal, seal_version)
             VALUES ('\\x01', {terrasse}, 1, 9000000000000, 9000000003600, 9000000000000,
                     decode(repeat('00', 300), 'hex'), decode(repeat('00', 40), 'hex'), 2)"
        ),
        format!(
            "INSERT INTO checkins(id, area_id, venue_key_id, checked_in_at, due_at, last_read_at,
                                  guest_seal, table_seal, seal_version)
             VALUES ('\\x02', {terrasse}, 1, {t}, {t} + 3600, {t},
                     decode(repeat('00', 5000000), 'hex'), decode(repeat('00', 40), 'hex'), 2)"
        ),
        "INSERT INTO scan_events(id, at) VALUES ('\\x03', 9000000000000)".to_string(),
    ];
    for sql in &guarded {
        let e = c.batch_execute(sql).expect_err(sql);
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        assert_eq!(code, "P0001", "{sql}: {e}");
    }
    // Closing the open stay is what a counter does; changing it afterwards is not.
    c.batch_execute(&format!(
        "UPDATE checkins SET checked_out_at = {}, checkout_reason = 'scan' WHERE checked_out_at IS NULL",
        t + 3
    ))
    .unwrap();
    let e = c
        .batch_execute("UPDATE checkins SET checked_out_at = checked_in_at")
        .expect_err("rewriting an ended stay");
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("P0001")
    );
    // A revoked counter can no longer log in; its scans stay on its PC.
    op.venue.revoke_counter(&login.user, t + 10).unwrap();
    let e = tresen_venue::store::server::link::connect(&login)
        .err()
        .unwrap();
    assert!(
        matches!(e, tresen_venue::store::StoreError::LoginRefused(_)),
        "{e}"
    );
}

#[test]
fn a_stopped_server_loses_no_scan_and_forwards_each_exactly_once() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_d, mut counter) = join(&mut op, "Eingang", t);
    let guests: Vec<GuestCode> = (0..60).map(|i| code(&counter, i)).collect();
    let terrasse = op.terrasse;
    // A burst: the server stops in its middle.
    for (i, g) in guests.iter().enumerate() {
        if i == 20 {
            pg.kill();
        }
        let r = counter
            .check_in(g, terrasse, None, Method::Fob, t + i as i64)
            .unwrap();
        assert!(matches!(r, ScanOutcome::CheckedIn { .. }), "{i}: {r:?}");
    }
    let s = counter.sync_state();
    assert!(!s.online && s.waiting == 40, "{s:?}");
    assert_eq!(s.problem.as_deref(), Some("db-offline"));
    // Guests leaving while it is down are matched to their offline check-in.
    for (i, g) in guests.iter().enumerate().skip(50) {
        let r = counter
            .check_in(g, terrasse, None, Method::Fob, t + 1000 + i as i64)
            .unwrap();
        assert!(matches!(r, ScanOutcome::CheckedOut { .. }), "{r:?}");
    }
    pg.start_again();
    // The server is back: the next idle moments forward everything, in order.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while counter.sync_state().waiting > 0 {
        assert!(std::time::Instant::now() < deadline, "not forwarded");
        std::thread::sleep(Duration::from_millis(100));
        counter.use_idle_time().unwrap();
    }
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 60);
    assert_eq!(count(&pg, "SELECT COUNT(DISTINCT id) FROM checkins"), 60);
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM checkins WHERE checked_out_at IS NOT NULL"
        ),
        10
    );
    // Forwarded with the time of the scan, not of the forwarding.
    assert_eq!(
        count(
            &pg,
            &format!("SELECT MAX(checked_in_at) FROM checkins WHERE checked_in_at > {t}")
        ),
        t + 59
    );
    assert!(counter.sync_state().online);
    // The operator's PC was connected through the restart: its next change goes through
    // on a new connection instead of failing on the one the restart broke.
    op.venue.add_location("Filiale 2", t + 2001).unwrap();
    assert_eq!(op.venue.present_total(t + 2000).unwrap(), 50);

    // The forwarded outbox rows are deleted from the counter's own file, but their old
    // pages still lie in its log until the hourly purge empties it, with nothing due.
    let seal: Vec<u8> = pg
        .superuser_in_venue()
        .query_one(
            "SELECT guest_seal FROM checkins WHERE checked_in_at = $1",
            &[&(t + 30)],
        )
        .unwrap()
        .get(0);
    let data = counter.data_dir().to_path_buf();
    let seal_in_files = || common::folder_holds(&data, &seal[..48]);
    assert!(
        seal_in_files(),
        "an offline scan's seal in the counter's files"
    );
    let report = counter.purge(t + 2002).unwrap();
    assert_eq!(report.checkins_deleted, 0);
    assert!(!report.log_kept);
    assert!(
        !seal_in_files(),
        "a forwarded scan's seal left in the counter's files"
    );
}

#[test]
fn a_connection_cut_inside_the_scan_transaction_loses_nothing_and_duplicates_nothing() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_d, mut counter) = join(&mut op, "Eingang", t);
    // Each insert waits a moment inside the open transaction, so it can be cut there.
    let mut su = pg.superuser_in_venue();
    su.batch_execute(
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$;
         CREATE TRIGGER slow BEFORE INSERT ON checkins FOR EACH ROW EXECUTE FUNCTION slow();",
    )
    .unwrap();
    let counter_user = tresen_venue::store::server::ServerLink::load(&_d.path().join("data"))
        .unwrap()
        .login
        .user
        .clone();
    let cutter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        su.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE usename::text = $1 AND state = 'active'",
            &[&counter_user],
        )
        .unwrap();
        su
    });
    let guest = code(&counter, 7);
    let r = counter
        .check_in(&guest, op.terrasse, None, Method::Fob, t + 5)
        .unwrap();
    assert!(matches!(r, ScanOutcome::CheckedIn { .. }), "{r:?}");
    let mut su = cutter.join().unwrap();
    su.batch_execute("DROP TRIGGER slow ON checkins").unwrap();
    assert_eq!(counter.sync_state().waiting, 1);
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 0);
    std::thread::sleep(Duration::from_millis(300));
    counter.use_idle_time().unwrap();
    assert_eq!(counter.sync_state().waiting, 0);
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 1);
    // Forwarding the same scan again (a crash after the server committed, before the
    // counter noted it) changes nothing.
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM scan_events"), 1);
}

#[test]
fn a_database_that_offers_another_venue_key_or_certificate_is_refused() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let file = op.dir.path().join("c.tresen-join");
    let made = op.venue.make_join_file("Eingang", &file, t).unwrap();
    let sealed = std::fs::read(&file).unwrap();
    // A wrong passphrase: nothing is written.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let e = Venue::join(
        &data,
        &sealed,
        "AAAA-BBBB-CCCC-DDDD-EEEE",
        SecretStore::File,
        t,
    )
    .err()
    .unwrap();
    assert_eq!(e.code(), "join-wrong-passphrase");
    assert!(!data.join("server.json").exists());
    // A server whose certificate another authority signed is not trusted.
    let mut file_data = Venue::read_join_file(&sealed, &made.passphrase).unwrap();
    file_data.server.ca_pem = postgres_cluster::foreign_ca();
    let e = tresen_venue::store::server::link::connect(&file_data.server)
        .err()
        .unwrap();
    assert!(matches!(e, tresen_venue::store::StoreError::Tls(_)), "{e}");
    // A database that swaps the venue key (a hosted database wanting the guests'
    // contacts sealed to its own key) is refused before anything is sealed.
    let (_d, counter) = join(&mut op, "Theke", t);
    drop(counter);
    let mut su = pg.superuser_in_venue();
    // Only the key changes, its fingerprint column stays: the pin is checked against the
    // key itself.
    su.batch_execute(
        "UPDATE venue_keys SET seal_pk = decode(repeat('11', 32), 'hex') WHERE retired_at IS NULL",
    )
    .unwrap();
    let e = Venue::open(&_d.path().join("data"), t + 5).err().unwrap();
    assert_eq!(e.code(), "db-key-not-pinned", "{e}");
    let e = Venue::join(&data, &sealed, &made.passphrase, SecretStore::File, t)
        .err()
        .unwrap();
    assert_eq!(e.code(), "db-key-not-pinned", "{e}");
    let e = Venue::open(&op.dir.path().join("data"), t + 5)
        .err()
        .unwrap();
    assert_eq!(e.code(), "db-key-not-pinned", "{e}");
    su.batch_execute(
        "UPDATE venue_keys SET retired_at = 1;
         INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at)
         VALUES (decode(repeat('11', 32), 'hex'), decode(repeat('22', 32), 'hex'),
                 decode(repeat('33', 32), 'hex'), 1);",
    )
    .unwrap();
    let e = Venue::open(&_d.path().join("data"), t + 5).err().unwrap();
    assert_eq!(e.code(), "db-key-not-pinned", "{e}");
    let e = Venue::join(&data, &sealed, &made.passphrase, SecretStore::File, t)
        .err()
        .unwrap();
    assert_eq!(e.code(), "db-key-not-pinned", "{e}");
    assert!(!data.join("server.json").exists());
}

#[test]
fn counts_reach_every_counter_within_a_second_of_a_scan_anywhere() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_a, mut a) = join(&mut op, "Eingang", t);
    let file = op.dir.path().join("b.tresen-join");
    let made = op.venue.make_join_file("Bar", &file, t).unwrap();
    let login = Venue::read_join_file(&std::fs::read(&file).unwrap(), &made.passphrase)
        .unwrap()
        .server;
    let (tx, rx) = mpsc::channel();
    let _listener = listen(login, move |c| {
        let _ = tx.send((c, std::time::Instant::now()));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap().0,
        Change::Reconnected
    );
    for i in 0..5 {
        let g = code(&a, i);
        let scanned = std::time::Instant::now();
        a.check_in(&g, op.bar, None, Method::Fob, t + i as i64)
            .unwrap();
        let (change, heard) = rx
            .recv_timeout(Duration::from_secs(1))
            .expect("heard within 1 s");
        assert_eq!(change, Change::Checkins);
        assert!(heard.duration_since(scanned) < Duration::from_secs(1));
        while rx.try_recv().is_ok() {}
    }
    assert_eq!(op.venue.present_total(t + 10).unwrap(), 5);
    // Reading the counts and the idle-time work change nothing, so they wake nobody: each
    // counter refreshes when it hears of a change, and a refresh that woke the others
    // again kept every counter and the database busy.
    std::thread::sleep(Duration::from_millis(300));
    while rx.try_recv().is_ok() {}
    for i in 0..5 {
        a.present_total(t + 20 + i).unwrap();
        a.use_idle_time().unwrap();
        op.venue.present_total(t + 20 + i).unwrap();
        op.venue.use_idle_time().unwrap();
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "reads woke the counters"
    );
}

#[test]
fn the_purge_runs_on_the_server_and_rewrites_the_tables_without_the_old_rows() {
    let pg = PgCluster::start();
    let t = at(2026, 10, 1, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_d, mut counter) = join(&mut op, "Eingang", t);
    let g = code(&counter, 3);
    counter
        .check_in(&g, op.terrasse, None, Method::Fob, t + 1)
        .unwrap();
    counter
        .check_in(&g, op.terrasse, None, Method::Fob, t + 3600)
        .unwrap();
    let seal: Vec<u8> = pg
        .superuser_in_venue()
        .query_one("SELECT guest_seal FROM checkins", &[])
        .unwrap()
        .get(0);
    pg.superuser_in_venue().batch_execute("CHECKPOINT").unwrap();
    let file = pg.table_file("checkins");
    let probe = &seal[8..40];
    let contains = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        bytes.windows(probe.len()).any(|w| w == probe)
    };
    assert!(
        contains(&file),
        "the seal is in the table's file before the purge"
    );
    // A counter does not delete; the operator's PC does, once.
    let later = t + 40 * 86_400;
    let r = counter.purge(later).unwrap();
    assert_eq!(r.checkins_deleted, 0);
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 1);
    purge_daily(&mut op.venue, t, later);
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 0);
    pg.superuser_in_venue().batch_execute("CHECKPOINT").unwrap();
    let file = pg.table_file("checkins");
    assert!(!contains(&file), "the deleted row left the table's file");
}

#[test]
fn an_approval_answers_every_counters_check_ins_and_only_the_requested_location() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 20, 18, 0);
    let mut op = server_venue(&pg, t);
    let loc2 = op.venue.add_location("Filiale 2", t).unwrap();
    let garten = op.venue.add_area(loc2, "Garten", None, t).unwrap();
    let (_a, mut a) = join(&mut op, "Filiale 1 Eingang", t);
    let (_b, mut b) = join(&mut op, "Filiale 2 Eingang", t);
    for i in 0..6 {
        a.check_in(&code(&a, i), op.terrasse, None, Method::Fob, t + i as i64)
            .unwrap();
        b.check_in(&code(&b, 100 + i), garten, None, Method::Fob, t + i as i64)
            .unwrap();
    }
    let bar = op.bar;
    op.venue
        .check_in(&code(&a, 50), bar, None, Method::Fob, t + 9)
        .unwrap();
    // The health office asks for the first branch only.
    let mut tv = TestVenueLike::from(&mut op);
    let o = tv.office("ga-mitte");
    let now = t + 3 * 86_400;
    let fp = op.venue.fingerprint();
    let req = o
        .desk
        .make_request(
            &tresen_office::desk::RequestSpec {
                venue: &fp,
                areas: &["Filiale 1/*".into()],
                from: t - 3600,
                until: t + 7200,
                case_reference: "AZ 1",
                reason: "Test",
                valid_secs: 86_400,
            },
            now,
        )
        .unwrap();
    let review = op.venue.review_request(req.as_bytes(), now).unwrap();
    assert_eq!(review.matching, 7);
    let keys =
        tresen_protocol::venue_keys::VenueSecretKeys::read_key_file(&op.key_file, &pass()).unwrap();
    let answer = op.dir.path().join("answer.tresen");
    let report = op
        .venue
        .approve_request(req.as_bytes(), &keys, &answer, &no_progress, now)
        .unwrap();
    assert_eq!(report.records, 7);
    let (csv, json) = (o.dir.join("c.csv"), o.dir.join("c.json"));
    let r = o
        .desk
        .open_answer(req.as_bytes(), &answer, &csv, &json)
        .unwrap();
    assert_eq!((r.records, r.flagged), (7, 0));
    let names: Vec<String> = read_csv(&csv).iter().map(|r| r[0].clone()).collect();
    assert!(names.iter().all(|n| !n.contains("Nummer 10")), "{names:?}");
    assert!(names.contains(&"Gast Nummer 50".to_string()));
}

/// The office helpers of `common` for a venue on the server.
struct TestVenueLike<'a> {
    op: &'a mut ServerVenue,
}

impl<'a> TestVenueLike<'a> {
    fn from(op: &'a mut ServerVenue) -> Self {
        TestVenueLike { op }
    }

    fn office(&mut self, id: &str) -> Office {
        let dir = self.op.dir.path().join(format!("office-{id}"));
        let auth_dir = self.op.dir.path().join("authority");
        tresen_office::authority::add_office(
            &auth_dir,
            &self.op.authority,
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
        let serial = self.op.venue.trust().unwrap().body.serial + 1;
        let trust = self
            .op
            .authority
            .trust_file_with(
                serial,
                at(2026, 11, 1, 0, 0),
                tresen_office::authority::office_certificates(&auth_dir),
            )
            .unwrap();
        self.op
            .venue
            .update_trust(&trust, at(2026, 11, 1, 0, 0))
            .unwrap();
        let desk =
            tresen_office::desk::OfficeDesk::open(&dir, &Passphrase::new(OFFICE_PASS)).unwrap();
        Office { dir, desk }
    }
}

/// Scans kept while offline are forwarded in batches, one transaction each: a scan the
/// server refuses is rolled back alone, kept on the counter and counted as refused; the
/// scans around it in the same batch arrive.
#[test]
fn a_refused_scan_in_a_forwarded_batch_leaves_the_others_in() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let (_d, mut counter) = join(&mut op, "Eingang", t);
    let (terrasse, bar) = (op.terrasse, op.bar);
    pg.kill();
    for (i, area) in [terrasse, bar, terrasse].into_iter().enumerate() {
        let g = code(&counter, i);
        counter
            .check_in(&g, area, None, Method::Fob, t + i as i64)
            .unwrap();
    }
    assert_eq!(counter.sync_state().waiting, 3);
    pg.start_again();
    // The server refuses check-ins at the bar (as a constraint added later would).
    pg.superuser_in_venue()
        .batch_execute(&format!(
            "CREATE FUNCTION no_bar() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.area_id = {bar} THEN RAISE EXCEPTION 'no bar'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER no_bar BEFORE INSERT ON checkins FOR EACH ROW EXECUTE FUNCTION no_bar();"
        ))
        .unwrap();
    counter.retry_server_now();
    let r = counter.forward_pending(Duration::from_secs(30)).unwrap();
    assert_eq!((r.forwarded, r.failed, r.waiting), (2, 1, 0), "{r:?}");
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 2);
    assert_eq!(
        count(
            &pg,
            &format!("SELECT COUNT(*) FROM checkins WHERE area_id = {bar}")
        ),
        0
    );
    assert_eq!(counter.sync_state().failed, 1);
    // The refused scan is kept for the operator to see, but not past the retention period.
    purge_daily(&mut counter, t, t + 29 * 86_400);
    let s = counter.sync_state();
    assert_eq!((s.failed, s.waiting), (0, 0), "{s:?}");
}

/// A database that swaps the trust file for one of another root (listing an "office" of
/// its own, to have guests' contacts sealed to it) is refused by the operator's PC and
/// by every counter: each pinned the root it was set up with.
#[test]
fn a_database_that_swaps_the_health_authority_is_refused() {
    let pg = PgCluster::start();
    let t = at(2026, 11, 30, 18, 0);
    let mut op = server_venue(&pg, t);
    let file = op.dir.path().join("late.tresen-join");
    let made = op.venue.make_join_file("Später", &file, t).unwrap();
    let (counter_dir, counter) = join(&mut op, "Eingang", t);
    drop(counter);
    let op_data = op.dir.path().join("data");
    let ServerVenue {
        dir: _op_dir,
        venue,
        ..
    } = op;
    drop(venue);
    let forger = tresen_protocol::authority_keys::AuthorityKeys::generate("Gesundheitsamt Test");
    let forged = forger.trust_file(9, t).unwrap();
    let root = forger.root.public_key();
    pg.superuser_in_venue()
        .execute(
            "UPDATE trust SET raw = $1, root_key = $2, serial = 9",
            &[&forged, &&root[..]],
        )
        .unwrap();
    let e = Venue::open(&counter_dir.path().join("data"), t + 5)
        .err()
        .unwrap();
    assert_eq!(e.code(), "db-root-not-pinned", "{e}");
    let e = Venue::open(&op_data, t + 5).err().unwrap();
    assert_eq!(e.code(), "db-root-not-pinned", "{e}");
    // A counter joining now brings the root in its join file and is refused as well.
    let dir = tempfile::tempdir().unwrap();
    let e = Venue::join(
        &dir.path().join("data"),
        &std::fs::read(&file).unwrap(),
        &made.passphrase,
        SecretStore::File,
        t,
    )
    .err()
    .unwrap();
    assert_eq!(e.code(), "db-root-not-pinned", "{e}");
    assert!(!dir.path().join("data/server.json").exists());
}
