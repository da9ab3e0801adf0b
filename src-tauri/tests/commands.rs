//! The shell's commands on Tauri's mock runtime: each role reaches only what it may, every
//! refusal comes back as a code the window words, and a refused command changes nothing.
//! (The window itself is driven over WebDriver in `e2e.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/postgres.rs"]
mod postgres_cluster;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tresen_app::AppState;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::time::now;

const PIN: &str = "470815";

/// The documents folder the app saves into sits in a home folder of the tests' own.
fn home() -> &'static PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::env::set_var("HOME", &dir);
        std::env::set_var("XDG_CONFIG_HOME", dir.join(".config"));
        std::env::remove_var("XDG_DOCUMENTS_DIR");
        dir
    })
}

/// A venue whose setup is done (backup postponed, PIN set), and the app around it with
/// the counter at the terrace.
struct Shell {
    v: common::TestVenue,
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

fn shell() -> Shell {
    shell_at(true)
}

/// `done`: the setup finished (backup postponed, PIN set); else it waits at the backup.
fn shell_at(done: bool) -> Shell {
    home();
    let n = now();
    let mut v = common::venue(n);
    if done {
        v.venue.postpone_backup(n).unwrap();
        v.venue.set_operator_pin(PIN, n).unwrap();
    }
    // The app opens the same venue; the fixture keeps its own handle for checks.
    let venue = tresen_venue::Venue::open(&v.data_dir(), n).unwrap();
    let state = AppState::new(v.data_dir(), Some(venue), Some(v.terrasse));
    let app = mock_builder()
        .manage(state)
        .invoke_handler(tresen_app::invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Shell {
        v,
        _app: app,
        window,
    }
}

impl Shell {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.window, request).map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args.clone())
            .unwrap_or_else(|e| panic!("{cmd} {args}: {e}"))
    }

    /// The error code of a command that must fail.
    fn refused(&self, cmd: &str, args: Value) -> String {
        match self.call(cmd, args.clone()) {
            Ok(v) => panic!("{cmd} {args} was allowed: {v}"),
            Err(e) => e["code"].as_str().unwrap_or_default().to_string(),
        }
    }

    fn present(&self) -> u64 {
        self.ok("overview", json!({}))["present"].as_u64().unwrap()
    }

    fn guest_code(&self, i: usize) -> String {
        GuestCode::create(&common::contact(i), &self.v.authority.contact_key())
            .unwrap()
            .to_text()
    }

    fn scan(&self, text: &str) -> Value {
        let gaps = vec![4; text.chars().count()];
        self.ok("wedge_scan", json!({ "text": text, "gaps": gaps }))
    }
}

#[test]
fn the_counter_reaches_no_operator_command_until_the_pin_unlocks() {
    let s = shell();
    let out = home().join("x.pdf").display().to_string();
    for (cmd, args) in [
        ("venue_admin", json!({})),
        ("get_settings", json!({})),
        ("audit_log", json!({})),
        ("list_devices", json!({})),
        ("review_request_file", json!({ "path": "/etc/hostname" })),
        (
            "change_areas",
            json!({ "change": { "op": "archive", "id": s.v.bar }, "pin": PIN }),
        ),
        (
            "set_setting",
            json!({ "key": "retention-days", "value": "14", "pin": PIN }),
        ),
        (
            "print_document",
            json!({ "document": { "kind": "posters", "areas": [], "a3": false }, "out": out }),
        ),
        (
            "key_replace",
            json!({ "keyFile": out, "passphrase": "a", "repeat": "a", "pin": PIN }),
        ),
        (
            "key_restore",
            json!({ "images": ["/x.png"], "out": out, "passphrase": "" }),
        ),
        ("backup_postpone", json!({})),
        (
            "setup_areas",
            json!({ "location": "Filiale 1", "areas": [{ "name": "Keller", "tables": "" }] }),
        ),
        (
            "choose_path",
            json!({ "purpose": "key", "suggested": null }),
        ),
        ("exit_app", json!({})),
        ("list_printers", json!({})),
        ("print_test_slip", json!({})),
        (
            "print_document",
            json!({ "document": { "kind": "posters", "areas": [], "a3": false }, "out": null, "printer": "buero", "copies": 2 }),
        ),
        ("counters", json!({})),
        ("add_counter", json!({ "name": "Theke 2", "out": out })),
        (
            "revoke_counter",
            json!({ "login": "tresen_c_x", "pin": PIN }),
        ),
    ] {
        assert_eq!(s.refused(cmd, args), "operator-locked", "{cmd}");
    }
    assert_eq!(
        s.v.venue.areas().unwrap().len(),
        2,
        "nothing was archived or added"
    );
    assert!(!home().join("x.pdf").exists());

    assert_eq!(s.refused("unlock", json!({ "pin": "000000" })), "wrong-pin");
    assert_eq!(s.refused("venue_admin", json!({})), "operator-locked");
    s.ok("unlock", json!({ "pin": PIN }));
    assert_eq!(s.ok("venue_admin", json!({}))["name"], "Café Mönch");
    assert_eq!(
        s.ok("get_settings", json!({}))["venue"]["retention_days"],
        28
    );
    s.ok("lock_operator", json!({}));
    assert_eq!(s.refused("venue_admin", json!({})), "operator-locked");
}

#[test]
fn scans_at_the_counter_come_back_as_outcome_codes() {
    let s = shell();
    let other = common::venue(now());
    let code = s.guest_code(1);
    let r = s.scan(&code);
    assert_eq!(
        (r["ok"].as_bool(), r["code"].as_str()),
        (Some(true), Some("checked-in"))
    );
    assert_eq!(r["area"], "Terrasse");
    assert_eq!(r["device"], "keyboard");
    assert_eq!(s.present(), 1);
    assert_eq!(s.scan(&code)["code"], "double-read");

    // Misreads and foreign codes are refused, each with a code, and change nothing.
    let foreign_area = other.venue.area_code(other.terrasse).unwrap();
    let mut misread = code.clone();
    misread.replace_range(10..11, if &code[10..11] == "A" { "B" } else { "A" });
    for (text, want) in [
        ("https://example.org/speisekarte", None),
        (foreign_area.as_str(), Some("foreign-venue")),
        (misread.as_str(), None),
    ] {
        let r = s.scan(text);
        assert_eq!(r["ok"], false, "{text}: {r}");
        let got = r["code"].as_str().unwrap();
        assert!(!got.is_empty() && got != "error", "{text}: {r}");
        if let Some(want) = want {
            assert_eq!(got, want, "{text}");
        }
    }
    assert_eq!(s.present(), 1);

    // Typed by hand instead of scanned.
    let slow = vec![300; 12];
    let r = s.ok(
        "wedge_scan",
        json!({ "text": "ABCDEFGHIJKL", "gaps": slow }),
    );
    assert_eq!(r["code"], "typed-not-scanned");

    // A tapped table for the guest just checked in.
    s.scan(&s.guest_code(2));
    let r = s.ok("tap_table", json!({ "table": 4 }));
    assert_eq!(
        (r["code"].as_str(), r["table"].as_u64()),
        (Some("table-assigned"), Some(4))
    );
    assert_eq!(s.ok("tap_table", json!({ "table": 4 }))["ok"], false);
}

#[test]
fn closing_every_area_asks_for_the_pin_at_that_moment() {
    let s = shell();
    for i in 0..3 {
        s.scan(&s.guest_code(i));
    }
    assert_eq!(s.present(), 3);
    assert_eq!(
        s.refused("close_all", json!({ "area": null, "pin": null })),
        "pin-required"
    );
    assert_eq!(
        s.refused("close_all", json!({ "area": null, "pin": "111111" })),
        "wrong-pin"
    );
    assert_eq!(s.present(), 3);
    assert_eq!(s.ok("close_all", json!({ "area": null, "pin": PIN })), 3);
    assert_eq!(s.present(), 0);
}

#[test]
fn the_registered_guests_fob_card_prints_once_into_the_documents_folder() {
    let s = shell();
    let card = json!({ "document": { "kind": "registered-fob" }, "out": null });
    assert_eq!(
        s.refused("print_document", card.clone()),
        "no-registered-guest"
    );
    let mut contact = serde_json::to_value(common::contact(7)).unwrap();
    let r = s.ok("register_guest", json!({ "contact": contact.clone() }));
    assert_eq!(r["printable"], true);
    assert_eq!(r["result"]["code"], "checked-in");
    // Not to a path the counter names.
    let elsewhere = home().join("elsewhere.pdf").display().to_string();
    let named = json!({ "document": { "kind": "registered-fob" }, "out": elsewhere });
    assert_eq!(s.refused("print_document", named), "operator-locked");
    let printed = s.ok("print_document", card.clone());
    let path = PathBuf::from(printed["path"].as_str().unwrap());
    assert!(path.starts_with(home()), "{}", path.display());
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF"));
    assert_eq!(s.refused("print_document", card), "no-registered-guest");
    // Only documents the app wrote open in the viewer.
    assert_eq!(
        s.refused("open_document", json!({ "path": "/etc/passwd" })),
        "not-ours"
    );

    contact["phone"] = json!("not a phone");
    let r = s.ok("register_guest", json!({ "contact": contact }));
    assert_eq!(
        (r["printable"].as_bool(), r["result"]["ok"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(s.present(), 1);
}

#[test]
fn lowering_the_retention_asks_for_the_pin_again() {
    let s = shell();
    s.ok("unlock", json!({ "pin": PIN }));
    let set = |value: &str, pin: Value| {
        s.call(
            "set_setting",
            json!({ "key": "retention-days", "value": value, "pin": pin }),
        )
    };
    assert_eq!(set("14", Value::Null).unwrap_err()["code"], "pin-required");
    assert_eq!(
        s.ok("get_settings", json!({}))["venue"]["retention_days"],
        28
    );
    set("14", json!(PIN)).unwrap();
    set("21", Value::Null).unwrap();
    assert_eq!(
        s.ok("get_settings", json!({}))["venue"]["retention_days"],
        21
    );
    assert_eq!(
        set("5000", json!(PIN)).unwrap_err()["code"],
        "setting-invalid"
    );
}

#[test]
fn the_wizard_creates_no_second_venue_and_refuses_bad_input() {
    let s = shell();
    let venue = json!({
        "name": "Zweites Café", "address": "Weg 1", "trust_file": "/nonexistent",
        "expect_root": "", "key_file": "/tmp/k.age", "passphrase": "a", "passphrase_repeat": "a",
        "secret_store": "file",
    });
    assert_eq!(
        s.refused("create_venue", json!({ "venue": venue })),
        "already-set-up"
    );
    let join = json!({ "file": "/nonexistent", "passphrase": "AAAA", "secret_store": "file" });
    assert_eq!(
        s.refused("join_venue", json!({ "join": join })),
        "already-set-up"
    );
    // A venue in its own file has no counters to add.
    s.ok("unlock", json!({ "pin": PIN }));
    let out = home().join("c.tresen-join").display().to_string();
    assert_eq!(
        s.refused("add_counter", json!({ "name": "Theke 2", "out": out })),
        "not-server-venue"
    );
    assert!(!home().join("c.tresen-join").exists());
    s.ok("lock_operator", json!({}));
}

#[test]
fn the_counter_takes_nothing_before_the_setup_is_done() {
    let mut s = shell_at(false);
    assert_eq!(s.ok("overview", json!({}))["setup_step"], "backup");
    let r = s.scan(&s.guest_code(1));
    assert_eq!(
        (r["ok"].as_bool(), r["code"].as_str()),
        (Some(false), Some("setup-incomplete"))
    );
    let contact = serde_json::to_value(common::contact(2)).unwrap();
    let r = s.ok("register_guest", json!({ "contact": contact }));
    assert_eq!(r["result"]["code"], "setup-incomplete");
    assert_eq!(
        s.ok("tap_table", json!({ "table": 1 }))["code"],
        "setup-incomplete"
    );
    assert_eq!(s.v.venue.open_checkins(None, now()).unwrap().len(), 0);
    // The wizard's own step needs no PIN yet; the steps done do.
    s.ok("backup_postpone", json!({}));
    assert_eq!(s.ok("overview", json!({}))["setup_step"], "pin");
    assert_eq!(s.refused("backup_postpone", json!({})), "operator-locked");
}

#[test]
fn help_and_version_print_and_exit_without_a_window() {
    for (arg, want) in [
        ("--help", "Usage: tresen-app"),
        ("--version", "tresen-app "),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tresen-app"))
            .arg(arg)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        assert!(out.status.success(), "{arg}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(want), "{arg}: {text}");
    }
}

#[test]
fn opening_a_document_without_a_viewer_says_where_it_is() {
    let s = shell();
    s.ok("unlock", json!({ "pin": PIN }));
    let out = home().join("Dokumente-Test").join("aushang.pdf");
    let printed = s.ok(
        "print_document",
        json!({ "document": { "kind": "posters", "areas": [], "a3": false }, "out": out.display().to_string() }),
    );
    assert_eq!(printed["pages"], 2);
    // No program at all can open it here: no launcher is on the PATH of this process.
    let path = std::env::var_os("PATH");
    std::env::set_var("PATH", home().join("no-programs"));
    let e = s.call("open_document", json!({ "path": printed["path"] }));
    if let Some(p) = path {
        std::env::set_var("PATH", p);
    }
    let e = e.unwrap_err();
    assert_eq!(e["code"], "open-failed");
    assert_eq!(
        e["params"]["folder"],
        out.parent().unwrap().display().to_string()
    );
}

/// The wizard's other first step: the first PC of a venue whose counters share a
/// PostgreSQL server creates the venue there. A connection that is not one, a missing
/// certificate authority and a wrong password are refused with their codes and leave
/// this PC without a venue; the right ones make an operator PC of a server venue.
#[test]
fn the_wizard_creates_a_venue_on_a_server_and_refuses_a_bad_connection() {
    home();
    let pg = postgres_cluster::PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = mock_builder()
        .manage(AppState::new(data.clone(), None, None))
        .invoke_handler(tresen_app::invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let call = |cmd: &str, args: Value| {
        get_ipc_response(
            &window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: tauri::test::INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    };
    let authority = tresen_protocol::authority_keys::AuthorityKeys::generate("Gesundheitsamt Test");
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, authority.trust_file(1, now()).unwrap()).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pg.ca_pem).unwrap();
    let operator = pg.operator();
    let conn = format!(
        "host={} port={} dbname={} user={}",
        operator.host, operator.port, operator.dbname, operator.user
    );
    let venue = |conn: &str, ca: &str, password: &str| {
        json!({ "venue": {
            "name": "Café Mönch", "address": "Hauptstraße 1, Berlin",
            "trust_file": trust.display().to_string(),
            "expect_root": tresen_protocol::trust::root_fingerprint(&authority.root.public_key()),
            "key_file": dir.path().join("venue-key.age").display().to_string(),
            "passphrase": common::PASS, "passphrase_repeat": common::PASS,
            "secret_store": "file",
            "server": { "conn": conn, "ca_file": ca, "password": password },
        }})
    };
    let ca_path = ca.display().to_string();
    let refused = |args: Value| call("create_venue", args).unwrap_err()["code"].clone();
    assert_eq!(
        refused(venue("dbname=tresen user=x", &ca_path, "pw")),
        "db-connection-invalid"
    );
    assert_eq!(refused(venue(&conn, "", &operator.password)), "no-path");
    assert_eq!(
        refused(venue(&conn, &ca_path, "not the password")),
        "db-login"
    );
    let foreign = dir.path().join("foreign.pem");
    std::fs::write(&foreign, postgres_cluster::foreign_ca()).unwrap();
    assert_eq!(
        refused(venue(
            &conn,
            &foreign.display().to_string(),
            &operator.password
        )),
        "db-tls"
    );
    assert!(!dir.path().join("venue-key.age").exists());
    assert_eq!(call("overview", json!({})).unwrap()["venue"], Value::Null);

    call("create_venue", venue(&conn, &ca_path, &operator.password)).unwrap();
    let o = call("overview", json!({})).unwrap();
    assert_eq!(o["venue"], "Café Mönch", "{o}");
    assert_eq!(o["sync"]["role"], "operator", "{o}");
    assert_eq!(o["sync"]["online"], true, "{o}");
    assert!(data.join("server.json").exists());
}

/// The operator's "start at login" writes the autostart entry for kiosk mode, and taking
/// it back removes it; the counter (no PIN) cannot change it.
#[test]
fn start_at_login_is_the_operators_and_writes_the_autostart_entry() {
    let s = shell();
    let entry = home().join(".config/autostart/de.tresen.kiosk.desktop");
    s.ok("unlock", json!({ "pin": PIN }));
    let mut prefs = s.ok("get_settings", json!({}))["app"].clone();
    s.ok("lock_operator", json!({}));
    prefs["start_at_login"] = json!(true);
    assert_eq!(
        s.refused("set_preferences", json!({ "prefs": prefs.clone() })),
        "operator-locked"
    );
    assert!(!entry.exists());
    s.ok("unlock", json!({ "pin": PIN }));
    s.ok("set_preferences", json!({ "prefs": prefs.clone() }));
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains(" --kiosk"), "{text}");
    assert_eq!(
        s.ok("get_settings", json!({}))["app"]["start_at_login"],
        true
    );
    prefs["start_at_login"] = json!(false);
    s.ok("set_preferences", json!({ "prefs": prefs }));
    assert!(!entry.exists());
    s.ok("lock_operator", json!({}));
}

/// The counter prints the slip of the guest it just registered on the receipt printer the
/// operator set, once; the slip's code checks that guest out. It cannot send the card to a
/// printer of its choosing, nor set the receipt printer.
#[test]
fn the_counters_slip_holds_the_registered_code_and_checks_the_guest_out() {
    use serialport::SerialPort;
    use std::io::Read;
    let s = shell();
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let pty = slave.name().unwrap();
    assert_eq!(s.refused("print_slip", json!({})), "no-receipt-printer");
    let mut prefs = serde_json::to_value(tresen::pc_preferences::Preferences::default()).unwrap();
    prefs["receipt_printer"] =
        json!({ "device": format!("{pty}@9600"), "width": "80", "qr": "native" });
    assert_eq!(
        s.refused("set_preferences", json!({ "prefs": prefs.clone() })),
        "operator-locked"
    );
    s.ok("unlock", json!({ "pin": PIN }));
    let mut bad = prefs.clone();
    bad["receipt_printer"]["device"] = json!("ttyUSB0");
    assert_eq!(
        s.refused("set_preferences", json!({ "prefs": bad })),
        "receipt-setting-invalid"
    );
    s.ok("set_preferences", json!({ "prefs": prefs }));
    s.ok("lock_operator", json!({}));
    assert_eq!(s.ok("counter_printing", json!({}))["receipt_printer"], true);

    assert_eq!(s.refused("print_slip", json!({})), "no-registered-guest");
    let contact = serde_json::to_value(common::contact(8)).unwrap();
    let r = s.ok("register_guest", json!({ "contact": contact }));
    assert_eq!(r["result"]["code"], "checked-in");
    assert_eq!(s.present(), 1);
    s.ok("print_slip", json!({}));
    master
        .set_timeout(std::time::Duration::from_millis(300))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    // GS ( k pL pH 49 80 48 data: the QR code's stored data.
    let at = bytes
        .windows(3)
        .position(|w| w == [49, 80, 48])
        .expect("a QR store command");
    let len = bytes[at - 2] as usize | (bytes[at - 1] as usize) << 8;
    let code = String::from_utf8(bytes[at + 3..at + len].to_vec()).unwrap();
    assert!(code.starts_with("TRG"), "{code}");
    // Printed once: the counter cannot print it again.
    assert_eq!(s.refused("print_slip", json!({})), "no-registered-guest");
    // The guest leaves after the double-read guard (3 s): the slip checks them out.
    assert_eq!(s.scan(&code)["code"], "double-read");
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let r = s.scan(&code);
    assert_eq!(r["code"], "checked-out", "{r}");
    assert_eq!(s.present(), 0);
    drop(slave);

    // The card goes to the operator's card printer only (none set: saved, not sent).
    let contact = serde_json::to_value(common::contact(9)).unwrap();
    s.ok("register_guest", json!({ "contact": contact }));
    let printed = s.ok(
        "print_document",
        json!({ "document": { "kind": "registered-fob" }, "out": null, "printer": "anywhere", "copies": 50 }),
    );
    assert!(printed["sent"].is_null(), "{printed}");
    // Only jobs this app sent can be followed: no probing of other printers' jobs.
    assert_eq!(
        s.refused("print_job_state", json!({ "printer": "buero", "job": 1 })),
        "not-ours"
    );
}
