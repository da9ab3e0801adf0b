//! The command-line tools end to end: exit codes, messages, and the whole venue setup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../tests/common/cups.rs"]
mod cups;

use std::process::Command;

use common::*;

#[test]
fn a_venue_is_set_up_and_runs_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let code = guest_code(dir, "Erika Mustermann");
    let o = tresen(
        dir,
        &["checkin", "--area", "Terrasse", "--table", "2", &code],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("checked-in "));
    let o = tresen(dir, &["present"]);
    assert!(text(&o).contains("1  Filiale 1/Terrasse"), "{}", text(&o));
    // The health authority opens the guest code; the venue cannot.
    let o = office(
        dir,
        &[
            "guest-code",
            "open",
            "--dir",
            "auth",
            "--passphrase-file",
            "pass",
            &code,
        ],
    );
    assert!(text(&o).contains("Erika Mustermann"), "{}", text(&o));
    // Status shows the backup warning until a copy is verified.
    assert!(text(&tresen(dir, &["status"]))
        .contains("WARNING: the venue key file has no verified second copy"));
    let o = tresen(
        dir,
        &[
            "key",
            "backup",
            "--from",
            "venue.age",
            "--to",
            "copy.age",
            "--passphrase-file",
            "pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&tresen(dir, &["status"])).contains("second copy"));
    // Code replacement prints the new code; the old one is refused with exit code 3.
    let old = String::from_utf8(tresen(dir, &["area", "code", "Terrasse"]).stdout).unwrap();
    let o = tresen(dir, &["area", "replace-code", "Terrasse"]);
    assert!(o.status.success());
    let o = tresen(dir, &["checkin", "--area", "Terrasse", old.trim()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains("refused: this code was replaced on"),
        "{}",
        text(&o)
    );
    // A removed table: its number is gone, removing it again says so.
    let o = tresen(dir, &["table", "remove", "Terrasse", "4"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!tresen(dir, &["table", "code", "Terrasse", "4"])
        .status
        .success());
    let o = tresen(dir, &["table", "remove", "Terrasse", "4"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("has no table 4"), "{}", text(&o));
    let o = tresen(dir, &["area", "delete", "Terrasse"]);
    assert!(
        text(&o).contains("1 guest(s) were checked out"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let o = tresen(dir, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("run `tresen venue init` first"),
        "{}",
        text(&o)
    );
    setup(dir);
    let o = tresen(
        dir,
        &["checkin", "--area", "Terrasse", "https://example.org"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("not a Tresen code"));
    let o = tresen(dir, &["checkin", "--area", "Keller", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("there is no area 'Keller'"));
    std::fs::write(dir.join("wrong"), "not the right passphrase here\n").unwrap();
    let o = tresen(
        dir,
        &[
            "key",
            "verify",
            "--file",
            "venue.age",
            "--passphrase-file",
            "wrong",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("the passphrase is wrong"), "{}", text(&o));
    let o = tresen(dir, &["key", "verify", "--file", "venue.age"]);
    assert!(
        text(&o).contains("--passphrase-file"),
        "no terminal: {}",
        text(&o)
    );
    let o = tresen(
        dir,
        &[
            "venue",
            "init",
            "--name",
            "X",
            "--address",
            "Y",
            "--trust",
            "auth/trust.json",
            "--expect-root",
            &root_fp(dir),
            "--key-file",
            "v2.age",
            "--secret-store",
            "file",
            "--passphrase-file",
            "pass",
        ],
    );
    assert!(text(&o).contains("already set up"), "{}", text(&o));
    let o = tresen(dir, &["settings", "set", "retention-days", "0"]);
    assert!(
        text(&o).contains("retention-days must be a whole number from 1 to 365"),
        "{}",
        text(&o)
    );
    let o = tresen(dir, &["--help"]);
    assert!(o.status.success());
    assert!(text(&o).contains("checkin"));
}

#[test]
fn without_a_keychain_setup_refuses_unless_the_file_secret_is_chosen() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("pass"), format!("{PASS}\n")).unwrap();
    assert!(office(
        dir,
        &[
            "authority",
            "init",
            "--dir",
            "auth",
            "--name",
            "Amt",
            "--passphrase-file",
            "pass"
        ]
    )
    .status
    .success());
    let o = Command::new(env!("CARGO_BIN_EXE_tresen"))
        .current_dir(dir)
        .args([
            "--data-dir",
            "data",
            "venue",
            "init",
            "--name",
            "Café",
            "--address",
            "Weg 1",
            "--trust",
            "auth/trust.json",
            "--expect-root",
            &root_fp(dir),
            "--key-file",
            "venue.age",
            "--passphrase-file",
            "pass",
        ])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tresen-test-bus",
        )
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("no OS keychain is available"), "{t}");
    assert!(t.contains("--secret-store file"), "{t}");
    assert!(
        !dir.join("venue.age").exists(),
        "no key file for a venue that was not set up"
    );
    assert!(text(&tresen(dir, &["status"])).contains("venue init"));
}

#[test]
fn the_local_secret_can_be_reset_into_a_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let secret = dir.join("data/local-secret");
    let before = std::fs::read(&secret).unwrap();
    std::fs::remove_file(&secret).unwrap();
    let o = tresen(dir, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("local secret file"), "{}", text(&o));
    let o = tresen(dir, &["secret", "reset", "--store", "file"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = std::fs::read(&secret).unwrap();
    assert_ne!(before, after);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(tresen(dir, &["status"]).status.success());
}

#[test]
fn tresen_scan_reads_a_serial_scanner_and_assigns_tables() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let guest = guest_code(dir, "Erika Mustermann");
    let table = String::from_utf8(tresen(dir, &["table", "code", "Terrasse", "2"]).stdout).unwrap();
    let link = dir.join("scanner");
    let mut sim = Command::new(sibling("scanner-sim"))
        .args(["--baud", "115200", "--aim", "]Q1", "--noise", "--link"])
        .arg(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sim_out = BufReader::new(sim.stdout.take().unwrap());
    let mut first = String::new();
    sim_out.read_line(&mut first).unwrap();
    assert!(first.trim().ends_with("scanner"), "{first}");
    let mut scan = Command::new(env!("CARGO_BIN_EXE_tresen"))
        .current_dir(dir)
        .args([
            "--data-dir",
            "data",
            "scan",
            "--area",
            "Terrasse",
            "--serial",
        ])
        .arg(format!("{}@115200", link.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(scan.stdout.take().unwrap()).lines();
    let connected = lines.next().unwrap().unwrap();
    assert!(connected.contains(": connected"), "{connected}");
    let mut input = sim.stdin.take().unwrap();
    for code in [guest.as_str(), table.trim(), "hello world, not a code"] {
        writeln!(input, "{code}").unwrap();
    }
    let got: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    scan.kill().unwrap();
    let _ = scan.wait();
    drop(input);
    let _ = sim.wait();
    assert!(
        got[0].contains("checked-in") && got[0].contains("area=Terrasse"),
        "{got:?}"
    );
    assert!(
        got[1].contains("table-assigned") && got[1].contains("table=2"),
        "{got:?}"
    );
    assert!(
        got[2].contains("refused: this is not a Tresen code"),
        "{got:?}"
    );
}

/// Hole 18: one line that was not valid UTF-8 stopped a whole batch of check-ins, and the
/// message did not say which line. Hole 14: contact data on the command line stays in
/// shell histories and the process list; now it is read from standard input.
#[test]
fn bad_lines_are_refused_one_by_one_and_contact_data_comes_from_standard_input() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let codes: Vec<String> = (0..3)
        .map(|i| guest_code(dir, &format!("Gast {i}")))
        .collect();
    let mut batch = Vec::new();
    batch.extend_from_slice(codes[0].as_bytes());
    batch.extend_from_slice(b"\n\xff\xfe not text\n");
    batch.extend_from_slice(codes[1].as_bytes());
    batch.extend_from_slice(b"\r\nhttps://example.org/speisekarte\n");
    batch.extend(std::iter::repeat_n(b'A', 100_000));
    batch.extend_from_slice(b"\n");
    batch.extend_from_slice(codes[2].as_bytes());
    let o = tresen_with_input(dir, &["checkin", "--area", "Terrasse", "-"], &batch);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_eq!(out.matches("checked-in").count(), 3, "{out}");
    assert!(
        out.contains("line 2: refused: this line is not text"),
        "{out}"
    );
    assert!(
        out.contains("line 4: refused: this is not a Tresen code"),
        "{out}"
    );
    assert!(
        out.contains("line 5: refused: this line is far longer"),
        "{out}"
    );
    std::fs::write(dir.join("codes.txt"), &batch).unwrap();
    let o = tresen(dir, &["area", "add", "Bar", "--location", "Filiale 1"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(
        dir,
        &["checkin", "--area", "Bar", "--codes-file", "codes.txt"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // The same codes again within seconds: double reads, each on its own line.
    let out = text(&o);
    assert_eq!(
        out.lines().filter(|l| l.contains("area=Bar")).count(),
        3,
        "{out}"
    );
    assert_eq!(out.matches("refused").count(), 3, "{out}");

    // No contact flags: the data comes as JSON lines; a bad line is refused on its own.
    let o = tresen(dir, &["guest", "register", "--area", "Bar", "--name", "X"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let lines = concat!(
        r#"{"name":"Erika Gabler","street":"Weg 3","postcode":"10115","city":"Berlin","phone":"030 5556667"}"#,
        "\n",
        r#"{"name":"Max Probe","street":"Weg 4","postcode":"10115","city":"Berlin","phone":"12"}"#,
        "\n",
        "not json\n",
        r#"{"name":"Lena Kurz","street":"Weg 5","postcode":"10115","city":"Berlin","phone":"030 1112223","email":"lena@example.org"}"#,
        "\n",
    );
    let o = tresen_with_input(
        dir,
        &["guest", "register", "--area", "Bar"],
        lines.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_eq!(out.matches("checked-in").count(), 2, "{out}");
    assert_eq!(out.matches("guest code").count(), 2, "{out}");
    assert!(out.contains("line 2: refused: the phone number"), "{out}");
    assert!(out.contains("line 3: refused: not a contact"), "{out}");
}

/// Hole 13 at the command line: a clock far behind what the venue has seen is named in
/// `tresen status`, stops `tresen purge`, and is confirmed with `tresen clock confirm`.
#[test]
fn a_wrong_clock_is_shown_and_confirmed() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let later = chrono::Utc::now().timestamp() + 10 * 86_400;
    rusqlite::Connection::open(dir.join("data/tresen.sqlite3"))
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'clock_seen'",
            [later.to_string()],
        )
        .unwrap();
    let o = tresen(dir, &["status"]);
    assert!(
        text(&o).contains("the clock of this PC looks wrong"),
        "{}",
        text(&o)
    );
    let o = tresen(dir, &["purge"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Nothing was deleted"), "{}", text(&o));
    let o = tresen(dir, &["clock", "confirm"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(dir, &["status"]);
    assert!(!text(&o).contains("clock"), "{}", text(&o));
    assert!(text(&tresen(dir, &["audit"])).contains("clock-confirmed"));
}

#[test]
fn a_data_request_from_the_office_tool_is_approved_and_opened() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    std::fs::write(
        dir.join("office-pass"),
        "amtsstube fensterbank regenschirm 77\n",
    )
    .unwrap();
    let o = office(
        dir,
        &[
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
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The venue imports the trust file that lists the new office.
    let o = office(
        dir,
        &[
            "authority",
            "export-trust",
            "--dir",
            "auth",
            "--out",
            "trust-2.json",
            "--passphrase-file",
            "pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(dir, &["trust", "update", "trust-2.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let guest = guest_code(dir, "Erika Mustermann");
    assert!(tresen(
        dir,
        &["checkin", "--area", "Terrasse", "--table", "3", &guest]
    )
    .status
    .success());
    let fp = String::from_utf8(tresen(dir, &["venue", "show"]).stdout).unwrap();
    let fp = fp
        .lines()
        .find(|l| l.starts_with("fingerprint:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let now = chrono::Utc::now().timestamp();
    let o = office(
        dir,
        &[
            "request",
            "--dir",
            "office",
            "--venue",
            &fp,
            "--area",
            "Terrasse",
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
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(dir, &["request", "show", "request.json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Gesundheitsamt Mitte") && text(&o).contains("matching:   1 check-in(s)"),
        "{}",
        text(&o)
    );
    let approve = |out: &str| {
        tresen(
            dir,
            &[
                "request",
                "approve",
                "request.json",
                "--key-file",
                "venue.age",
                "--out",
                out,
                "--passphrase-file",
                "pass",
            ],
        )
    };
    let o = approve("answer.tresen");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Approved: 1 record(s)"), "{}", text(&o));
    let o = approve("again.tresen");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("already approved"), "{}", text(&o));
    let o = office(
        dir,
        &[
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
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(dir.join("contacts.csv")).unwrap();
    assert!(
        csv.contains("\"Erika Mustermann\"") && csv.contains("\"Terrasse\",\"3\""),
        "{csv}"
    );
    let o = tresen(dir, &["audit"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("approved") && text(&o).contains("intact"),
        "{}",
        text(&o)
    );
    // The authority withdraws the office; once the venue has the next trust file, the
    // office's requests are refused.
    let o = office(
        dir,
        &[
            "office",
            "withdraw",
            "--authority-dir",
            "auth",
            "--id",
            "ga-mitte",
            "--out",
            "trust-3.json",
            "--authority-passphrase-file",
            "pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(dir, &["trust", "update", "trust-3.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = office(
        dir,
        &[
            "request",
            "--dir",
            "office",
            "--venue",
            &fp,
            "--from",
            &format!("@{}", now - 3600),
            "--until",
            &format!("@{}", now + 30),
            "--case",
            "AZ 2026-18",
            "--reason",
            "Positiver Test",
            "--out",
            "request-2.json",
            "--passphrase-file",
            "office-pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(dir, &["request", "show", "request-2.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not listed"), "{}", text(&o));
}

#[test]
fn printing_from_the_command_line_and_reprinting_a_replaced_code() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    for (args, pages) in [
        (
            vec!["print", "posters", "--out", "posters.pdf"],
            "1 page(s)",
        ),
        (
            vec![
                "print", "posters", "--a3", "--area", "Terrasse", "--out", "a3.pdf",
            ],
            "1 page(s)",
        ),
        (
            vec![
                "print",
                "tables",
                "--area",
                "Terrasse",
                "--out",
                "tents.pdf",
            ],
            "1 page(s)",
        ),
        (
            vec![
                "print",
                "tables",
                "--area",
                "Terrasse",
                "--tables",
                "1-2",
                "--labels",
                "--out",
                "labels.pdf",
            ],
            "1 page(s)",
        ),
        (
            vec![
                "print",
                "recovery-sheet",
                "--key-file",
                "venue.age",
                "--passphrase-file",
                "pass",
                "--out",
                "sheet.pdf",
            ],
            "1 page(s)",
        ),
        (
            vec![
                "area",
                "replace-code",
                "Terrasse",
                "--reprint",
                "new-poster.pdf",
            ],
            "1 page(s)",
        ),
        (
            vec![
                "table",
                "replace-code",
                "Terrasse",
                "2",
                "--reprint",
                "new-table.pdf",
            ],
            "1 page(s)",
        ),
    ] {
        let o = tresen(dir, &args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(pages), "{args:?}: {}", text(&o));
    }
    for f in [
        "posters.pdf",
        "a3.pdf",
        "tents.pdf",
        "labels.pdf",
        "sheet.pdf",
        "new-poster.pdf",
        "new-table.pdf",
    ] {
        assert!(
            std::fs::read(dir.join(f)).unwrap().starts_with(b"%PDF"),
            "{f}"
        );
    }
    // A PDF is never written over an existing file.
    let o = tresen(dir, &["print", "posters", "--out", "posters.pdf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    // The sheet is printed only from a key file that opens with the passphrase.
    std::fs::write(dir.join("wrong"), "not the right passphrase here\n").unwrap();
    let o = tresen(
        dir,
        &[
            "print",
            "recovery-sheet",
            "--key-file",
            "venue.age",
            "--passphrase-file",
            "wrong",
            "--out",
            "x.pdf",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("x.pdf").exists());
    // Restoring from a rendered page of the sheet gives the same key file back.
    let ok = Command::new("pdftoppm")
        .current_dir(dir)
        .args(["-r", "150", "-png", "-singlefile", "sheet.pdf", "sheet"])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = tresen(
        dir,
        &[
            "key",
            "restore",
            "--from-image",
            "sheet.png",
            "--out",
            "restored.age",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.join("restored.age")).unwrap(),
        std::fs::read(dir.join("venue.age")).unwrap()
    );
    assert!(text(&o).contains("Check it opens"), "{}", text(&o));
    // With the passphrase the restored file is checked at once; a wrong one leaves none.
    let restore_with = |pass: &str, out: &str| {
        tresen(
            dir,
            &[
                "key",
                "restore",
                "--from-image",
                "sheet.png",
                "--out",
                out,
                "--passphrase-file",
                pass,
            ],
        )
    };
    let o = restore_with("wrong", "r-wrong.age");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!dir.join("r-wrong.age").exists());
    let o = restore_with("pass", "r-checked.age");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("verified copy"), "{}", text(&o));
    let o = tresen(
        dir,
        &[
            "key",
            "restore",
            "--from-image",
            "posters.pdf",
            "--out",
            "r2.age",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
}

/// What a support call asks first, and what the package installs: the version line names
/// the protocol and schema versions, and the man pages and completions come from the
/// same definitions as `--help`.
#[test]
fn version_names_protocol_and_schema_and_docs_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let o = tresen(dir.path(), &["--version"]);
    assert!(o.status.success(), "{}", text(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        line.trim(),
        format!(
            "tresen {} (protocol {}, database schema {}, server schema {})",
            env!("CARGO_PKG_VERSION"),
            tresen_protocol::PROTOCOL_VERSION,
            tresen_venue::store::sqlite::schema::schema_version(),
            tresen_venue::store::server::schema::schema_version()
        )
    );
    let out = dir.path().join("docs");
    let o = tresen(
        dir.path(),
        &["generate-docs", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(out.join("man/tresen.1")).unwrap();
    assert!(page.contains("counter"), "{page}");
    assert!(out.join("man/tresen-counter-join.1").exists());
    let bash = std::fs::read_to_string(out.join("completions/tresen.bash")).unwrap();
    assert!(bash.contains("checkin"));
    assert!(out.join("completions/_tresen").exists());
    assert!(out.join("completions/tresen.fish").exists());
    // A packaging step, not for users: hidden from the help.
    let help = String::from_utf8(tresen(dir.path(), &["--help"]).stdout).unwrap();
    assert!(!help.contains("generate-docs"));
}

/// `tresen settings autostart on` writes the XDG autostart entry that starts the app in
/// kiosk mode for this data folder; `off` removes it; the choice is kept in this PC's
/// preferences. An entry that cannot be written (the autostart folder is a file) is
/// refused with its path and changes nothing.
#[test]
fn autostart_writes_and_removes_the_login_entry() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let run = |state: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tresen"))
            .current_dir(dir.path())
            .args(["--data-dir", "data", "settings", "autostart", state])
            .env("XDG_CONFIG_HOME", &config)
            .env_remove("TRESEN_DATA_DIR")
            .output()
            .unwrap()
    };
    let entry = config.join("autostart/de.tresen.kiosk.desktop");
    let o = run("on");
    assert!(o.status.success(), "{}", text(&o));
    let text_of_entry = std::fs::read_to_string(&entry).unwrap();
    let exec = text_of_entry
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap();
    assert!(exec.contains("tresen-app --kiosk --data-dir "), "{exec}");
    assert!(exec.ends_with("/data"), "{exec}");
    let prefs = std::fs::read_to_string(dir.path().join("data/app-preferences.json")).unwrap();
    assert!(prefs.contains("\"start_at_login\": true"), "{prefs}");
    let o = run("off");
    assert!(o.status.success(), "{}", text(&o));
    assert!(!entry.exists());
    let prefs = std::fs::read_to_string(dir.path().join("data/app-preferences.json")).unwrap();
    assert!(prefs.contains("\"start_at_login\": false"), "{prefs}");
    // The autostart folder cannot be made: refused, the preferences stay as they were.
    std::fs::remove_dir_all(&config).unwrap();
    std::fs::write(&config, "not a folder").unwrap();
    let o = run("on");
    assert!(!o.status.success());
    assert!(text(&o).contains("start-at-login entry"), "{}", text(&o));
    let prefs = std::fs::read_to_string(dir.path().join("data/app-preferences.json")).unwrap();
    assert!(prefs.contains("\"start_at_login\": false"), "{prefs}");
    // Damaged preferences are not replaced by the defaults: refused, nothing written.
    std::fs::remove_file(&config).unwrap();
    let prefs_path = dir.path().join("data/app-preferences.json");
    std::fs::write(&prefs_path, "{ damaged").unwrap();
    let o = run("on");
    assert!(!o.status.success());
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&prefs_path).unwrap(), "{ damaged");
    assert!(!entry.exists());
}

fn tresen_cups(dir: &std::path::Path, server: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tresen"))
        .current_dir(dir)
        .args(["--data-dir", "data"])
        .args(args)
        .env_remove("TRESEN_DATA_DIR")
        .env("CUPS_SERVER", server)
        .output()
        .unwrap()
}

#[test]
fn printing_to_a_printer_of_the_print_service_and_a_stopped_one() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let mut svc = cups::PrintService::start();
    svc.add_printer("buero");
    let server = svc.server.clone();
    let o = tresen_cups(dir, &server, &["printer", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    let listed = text(&o);
    assert!(
        listed.contains("buero") && listed.contains("idle"),
        "{listed}"
    );
    assert!(listed.contains("iso_a3_297x420mm"), "{listed}");

    let o = tresen_cups(
        dir,
        &server,
        &[
            "print",
            "posters",
            "--a3",
            "--out",
            "a3.pdf",
            "--printer",
            "buero",
            "--copies",
            "2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Sent to buero as job"), "{out}");
    assert!(out.contains("printed"), "{out}");
    let kept = svc.kept("buero", 1);
    assert_eq!(kept[0].media_size(), (29700, 42000));
    assert_eq!(kept[0].copies(), 2);

    svc.stop("buero", "Papier leer");
    let o = tresen_cups(
        dir,
        &server,
        &[
            "print",
            "posters",
            "--out",
            "stopped.pdf",
            "--printer",
            "buero",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("printer buero is stopped (paused: Papier leer)"),
        "{err}"
    );
    assert!(
        err.contains("the PDF is kept") && err.contains("stopped.pdf"),
        "{err}"
    );
    assert!(dir.join("stopped.pdf").exists());

    let o = tresen_cups(
        dir,
        &server,
        &[
            "print",
            "posters",
            "--out",
            "nowhere.pdf",
            "--printer",
            "nirgends",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no printer named 'nirgends'"),
        "{}",
        text(&o)
    );
    let o = tresen_cups(
        dir,
        &server,
        &[
            "print",
            "posters",
            "--out",
            "x.pdf",
            "--printer",
            "buero",
            "--copies",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "clap refuses 0 copies");
    assert!(!dir.join("x.pdf").exists());
}

#[test]
fn the_receipt_printer_setting_and_a_slip_per_registered_guest() {
    use serialport::SerialPort;
    use std::io::Read;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let o = tresen_with_input(dir, &["guest", "code", "--slip"], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no receipt printer is set"),
        "{}",
        text(&o)
    );
    let o = tresen(dir, &["printer", "receipt", "ttyUSB0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a device path"), "{}", text(&o));
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let pty = slave.name().unwrap();
    let o = tresen(
        dir,
        &[
            "printer",
            "receipt",
            &format!("{pty}@9600"),
            "--width",
            "80",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let contact = r#"{"name":"Ida Bon","street":"Weg 1","postcode":"10115","city":"Berlin","phone":"030 1112223","email":""}"#;
    let reader = std::thread::spawn(move || {
        master
            .set_timeout(std::time::Duration::from_secs(20))
            .unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            master
                .set_timeout(std::time::Duration::from_millis(500))
                .unwrap();
        }
        all
    });
    let o = tresen_with_input(
        dir,
        &["guest", "register", "--area", "Terrasse", "--slip"],
        format!("{contact}\n").as_bytes(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("slip printed on"), "{out}");
    let code = out
        .lines()
        .find(|l| l.starts_with("TRG"))
        .expect("the code is shown")
        .to_string();
    let bytes = reader.join().unwrap();
    let at = bytes
        .windows(3)
        .position(|w| w == [49, 80, 48])
        .expect("a QR code");
    let len = bytes[at - 2] as usize | (bytes[at - 1] as usize) << 8;
    assert_eq!(
        String::from_utf8(bytes[at + 3..at + len].to_vec()).unwrap(),
        code
    );
    drop(slave);
    let o = tresen(dir, &["printer", "receipt", "off"]);
    assert!(o.status.success(), "{}", text(&o));
}
