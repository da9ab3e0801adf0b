//! Counters as separate `tresen` processes sharing one venue on a real PostgreSQL server:
//! concurrent scanning with check-outs across counters, a counter killed while it
//! forwards its outbox, and an approval over every counter's check-ins opened by
//! `health-office open`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../tests/common/postgres.rs"]
mod postgres_cluster;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use postgres_cluster::PgCluster;
use tresen_protocol::contact::ContactData;

/// An operator's PC (`dir`/data) with the venue on the server, and `n` counters joined
/// from join files (`dir`/counter-I).
fn venue_with_counters(dir: &Path, pg: &PgCluster, n: usize) {
    std::fs::write(dir.join("ca.pem"), &pg.ca_pem).unwrap();
    std::fs::write(dir.join("db-pass"), postgres_cluster::OPERATOR_PASSWORD).unwrap();
    setup_with(
        dir,
        &[
            "--server",
            &pg.conninfo(),
            "--server-ca",
            "ca.pem",
            "--server-password-file",
            "db-pass",
        ],
    );
    let o = tresen(dir, &["settings", "set", "double-read-seconds", "0"]);
    assert!(o.status.success(), "{}", text(&o));
    for i in 0..n {
        let file = format!("counter-{i}.tresen-join");
        let o = tresen(
            dir,
            &["counter", "add", &format!("Theke {i}"), "--out", &file],
        );
        assert!(o.status.success(), "{}", text(&o));
        let pass = text(&o)
            .lines()
            .find_map(|l| l.strip_prefix("One-time passphrase: "))
            .unwrap()
            .trim()
            .to_string();
        let o = in_counter(
            dir,
            i,
            &[
                "counter",
                "join",
                &file,
                "--secret-store",
                "file",
                "--passphrase-stdin",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(|mut c| {
            writeln!(c.stdin.take().unwrap(), "{}", pass.to_lowercase()).unwrap();
            c.wait_with_output().unwrap()
        })
        .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("is now a counter of 'Café Mönch'"),
            "{}",
            text(&o)
        );
    }
}

fn in_counter(dir: &Path, i: usize, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tresen"));
    c.current_dir(dir)
        .args(["--data-dir", &format!("counter-{i}")])
        .args(args)
        .env_remove("TRESEN_DATA_DIR");
    c
}

/// Guest codes made with the venue's contact key.
fn codes(dir: &Path, n: usize, from: usize) -> Vec<String> {
    let v = tresen_venue::Venue::open(&dir.join("data"), tresen_protocol::time::now()).unwrap();
    (from..from + n)
        .map(|i| {
            v.make_guest_code(&ContactData {
                name: format!("Gast Nummer {i}"),
                street: format!("Weg {i}"),
                postcode: "10115".into(),
                city: "Berlin".into(),
                phone: format!("030 {:07}", 1_000_000 + i),
                email: String::new(),
            })
            .unwrap()
            .to_text()
        })
        .collect()
}

/// A counter scanning a batch of codes at the terrace, as its own process.
fn scanning(dir: &Path, i: usize, codes: &[String]) -> Child {
    let mut c = in_counter(dir, i, &["checkin", "--area", "Terrasse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = c.stdin.take().unwrap();
    for code in codes {
        writeln!(input, "{code}").unwrap();
    }
    c
}

fn count(pg: &PgCluster, sql: &str) -> i64 {
    pg.superuser_in_venue().query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn three_counter_processes_share_one_venue_and_check_outs_cross_counters() {
    let pg = PgCluster::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    venue_with_counters(dir, &pg, 3);
    let per = 15;
    let guests: Vec<Vec<String>> = (0..3).map(|i| codes(dir, per, i * per)).collect();
    // Every counter checks its own guests in, all at once.
    let arrivals: Vec<Child> = (0..3).map(|i| scanning(dir, i, &guests[i])).collect();
    for c in arrivals {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(text(&o).matches("checked-in").count(), per, "{}", text(&o));
    }
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM checkins WHERE checked_out_at IS NULL"
        ),
        45
    );
    for i in 0..3 {
        let o = in_counter(dir, i, &["present"]).output().unwrap();
        assert!(text(&o).contains("45  Filiale 1/Terrasse"), "{}", text(&o));
    }
    // Then every counter checks out the guests another counter checked in.
    let leaving: Vec<Child> = (0..3)
        .map(|i| scanning(dir, i, &guests[(i + 1) % 3]))
        .collect();
    for c in leaving {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(text(&o).matches("checked-out").count(), per, "{}", text(&o));
    }
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), 45);
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM checkins WHERE checked_out_at IS NULL"
        ),
        0
    );
    for i in 0..3 {
        let o = in_counter(dir, i, &["present"]).output().unwrap();
        assert!(text(&o).contains("0  Filiale 1/Terrasse"), "{}", text(&o));
        let o = in_counter(dir, i, &["status"]).output().unwrap();
        assert!(
            text(&o).contains("server:       online (counter), 0 waiting"),
            "{}",
            text(&o)
        );
    }
    let o = tresen(dir, &["counter", "list"]);
    assert_eq!(text(&o).matches("active").count(), 3, "{}", text(&o));
}

#[test]
fn a_counter_killed_while_it_forwards_its_outbox_duplicates_nothing() {
    let pg = PgCluster::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    venue_with_counters(dir, &pg, 1);
    let n = 1500;
    let guests = codes(dir, n, 0);
    pg.kill();
    // The server is away: the counter keeps checking guests in, into its outbox.
    let o = scanning(dir, 0, &guests).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches("checked-in").count(), n);
    let o = in_counter(dir, 0, &["status"]).output().unwrap();
    assert!(
        text(&o).contains(&format!("OFFLINE (counter) — {n} waiting")),
        "{}",
        text(&o)
    );
    pg.start_again();
    // Killed (SIGKILL) in the middle of forwarding ...
    let mut sync = in_counter(dir, 0, &["counter", "sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let done = count(&pg, "SELECT COUNT(*) FROM checkins");
        if done > 100 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child's pid, which this test started and has not reaped.
    unsafe { libc::kill(sync.id() as i32, libc::SIGKILL) };
    let _ = sync.wait();
    let partial = count(&pg, "SELECT COUNT(*) FROM checkins");
    assert!(partial > 0 && partial < n as i64, "{partial}");
    // ... and run again: every scan arrives exactly once.
    let o = in_counter(dir, 0, &["counter", "sync"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 waiting"), "{}", text(&o));
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM checkins"), n as i64);
    assert_eq!(
        count(&pg, "SELECT COUNT(DISTINCT pseudonym) FROM checkins"),
        n as i64
    );
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM scan_events"), n as i64);
}

#[test]
fn an_approval_on_the_server_holds_every_counters_check_ins_for_health_office_open() {
    let pg = PgCluster::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    venue_with_counters(dir, &pg, 2);
    let guests = codes(dir, 4, 0);
    for (i, code) in guests.iter().enumerate() {
        let o = in_counter(dir, i % 2, &["checkin", "--area", "Terrasse", code])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    std::fs::write(
        dir.join("office-pass"),
        "amtsstube fensterbank regenschirm 77\n",
    )
    .unwrap();
    let run_office = |args: &[&str]| {
        let o = office(dir, args);
        assert!(o.status.success(), "{}", text(&o));
    };
    run_office(&[
        "office",
        "add",
        "--authority-dir",
        "auth",
        "--dir",
        "office",
        "--id",
        "ga-mitte",
        "--name",
        "Gesundheitsamt Mitte",
        "--authority-passphrase-file",
        "pass",
        "--passphrase-file",
        "office-pass",
    ]);
    run_office(&[
        "authority",
        "export-trust",
        "--dir",
        "auth",
        "--out",
        "trust-2.json",
        "--passphrase-file",
        "pass",
    ]);
    let o = tresen(dir, &["trust", "update", "trust-2.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let fp = text(&tresen(dir, &["venue", "show"]))
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .unwrap()
        .trim()
        .to_string();
    let now = tresen_protocol::time::now();
    run_office(&[
        "request",
        "--dir",
        "office",
        "--venue",
        &fp,
        "--area",
        "Filiale 1/*",
        "--from",
        &format!("@{}", now - 3600),
        "--until",
        &format!("@{}", now + 30),
        "--case",
        "AZ 2026-17",
        "--reason",
        "Positiver Test",
        "--out",
        "request.json",
        "--passphrase-file",
        "office-pass",
    ]);
    let o = tresen(
        dir,
        &[
            "request",
            "approve",
            "request.json",
            "--key-file",
            "venue.age",
            "--out",
            "answer.tresen",
            "--passphrase-file",
            "pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Approved: 4 record(s)"), "{}", text(&o));
    // A counter cannot approve: its role may not read the requests or the audit log.
    let o = in_counter(
        dir,
        0,
        &[
            "request",
            "approve",
            "request.json",
            "--key-file",
            "venue.age",
            "--out",
            "counter-answer.tresen",
            "--passphrase-file",
            "pass",
        ],
    )
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not allowed for this PC's role"),
        "{}",
        text(&o)
    );
    assert!(!dir.join("counter-answer.tresen").exists());
    run_office(&[
        "open",
        "--dir",
        "office",
        "--request",
        "request.json",
        "--answer",
        "answer.tresen",
        "--csv",
        "contacts.csv",
        "--json",
        "contacts.json",
        "--passphrase-file",
        "office-pass",
    ]);
    let csv = std::fs::read_to_string(dir.join("contacts.csv")).unwrap();
    for i in 0..4 {
        assert!(csv.contains(&format!("\"Gast Nummer {i}\"")), "{csv}");
    }
}
