//! A process killed with SIGKILL in the middle of a burst of check-ins loses none that it
//! confirmed, and leaves the database intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{at, contact, venue};
use tresen_protocol::guest_code::GuestCode;
use tresen_venue::RecordId;

#[test]
fn sigkill_mid_burst_loses_no_confirmed_check_in() {
    let t0 = at(2026, 11, 20, 12, 0);
    let v = venue(t0);
    let data = v.data_dir();
    let rounds = [50usize, 400];
    let mut files = Vec::new();
    for round in 0..rounds.len() {
        let codes_file = v.dir.path().join(format!("codes-{round}.txt"));
        let mut f = std::fs::File::create(&codes_file).unwrap();
        for i in 0..1500 {
            let c = GuestCode::create(&contact(i), &v.authority.contact_key()).unwrap();
            writeln!(f, "{}", c.to_text()).unwrap();
        }
        files.push(codes_file);
    }
    drop(v.venue);
    for (kill_after, codes_file) in rounds.into_iter().zip(&files) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tresen"))
            .arg("--data-dir")
            .arg(&data)
            .args(["checkin", "--area", "Bar", "--codes-file"])
            .arg(codes_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut confirmed = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            confirmed.push(line.unwrap());
            if confirmed.len() == kill_after {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
        // Lines already written before the kill are confirmations too.
        confirmed.extend(lines.map_while(Result::ok));
        child.wait().unwrap();
        assert!(confirmed.len() >= kill_after);
        assert!(
            confirmed.len() < 1500 * 2,
            "the burst finished before the kill"
        );

        let conn =
            rusqlite::Connection::open(data.join(tresen_venue::store::sqlite::DB_FILE)).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        for line in &confirmed {
            assert!(line.starts_with("checked-in "), "{line}");
            let id = line.split_whitespace().nth(1).unwrap();
            let rid = RecordId::parse(id).unwrap_or_else(|| panic!("bad line {line}"));
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM checkins WHERE id = ?1",
                    [&rid.0[..]],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "confirmed check-in {id} was lost");
        }
    }
}
