//! The real app binary driven over WebDriver (tauri-driver + WebKitWebDriver) under Xvfb,
//! with a real database. Run through .ci/run, which starts Xvfb and installs the drivers.
//! Without a display the test says so and is skipped, unless TRESEN_REQUIRE_E2E=1 (CI).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use tresen::authority::AuthorityKeys;
use tresen::checkin_record::Method;
use tresen::guest_code::GuestCode;
use tresen::keyfile::Passphrase;
use tresen::kiosk::{Kiosk, VenueSetup};
use tresen::local_secret::SecretStore;
use tresen::scanner::sim::{SerialSim, SimConfig};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(4444)
}

fn e2e_possible() -> bool {
    let display = std::env::var_os("DISPLAY").is_some();
    let driver = which("tauri-driver").is_some() && Path::new("/usr/bin/WebKitWebDriver").exists();
    if display && driver {
        return true;
    }
    assert!(
        std::env::var("TRESEN_REQUIRE_E2E").as_deref() != Ok("1"),
        "TRESEN_REQUIRE_E2E=1 but display={display} drivers={driver}"
    );
    eprintln!("skipped: needs a display (xvfb-run), tauri-driver and WebKitWebDriver; run .ci/run");
    false
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

struct Setup {
    guest: String,
    table: String,
    bar_code: String,
}

fn venue(data: &Path, key_file: &Path) -> Setup {
    let now = chrono_now();
    let auth = AuthorityKeys::generate("Gesundheitsamt Test");
    let trust = auth.trust_file(1, now).unwrap();
    let pass = Passphrase::new("correct horse battery staple tresen");
    let mut k = Kiosk::init(
        data,
        &VenueSetup {
            name: "Café Mönch",
            address: "Hauptstraße 1, Berlin",
            trust_file: &trust,
            expect_root: None,
            key_file,
            passphrase: &pass,
            // The real Secret Service keyring where a session bus exists (as in CI).
            secret_store: if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
                SecretStore::Keyring
            } else {
                SecretStore::File
            },
        },
        now,
    )
    .unwrap();
    let loc = k.add_location("Filiale 1", now).unwrap();
    let ter = k.add_area(loc, "Terrasse", None, now).unwrap();
    let bar = k.add_area(loc, "Bar", None, now).unwrap();
    k.add_tables(ter, &[1, 2, 3]).unwrap();
    for i in 0..2 {
        let mut c = tresen::contact::ContactData {
            name: format!("Gast {i}"),
            street: "Weg 1".into(),
            postcode: "10115".into(),
            city: "Berlin".into(),
            phone: "030 1234567".into(),
            email: String::new(),
        };
        c.phone.push_str(&i.to_string());
        let code = GuestCode::create(&c, &auth.contact_key()).unwrap();
        k.scan_guest(&code.to_text(), ter, None, Method::Fob, now)
            .unwrap();
    }
    let guest = tresen::contact::ContactData {
        name: "Erika Mustermann".into(),
        street: "Weg 2".into(),
        postcode: "10115".into(),
        city: "Berlin".into(),
        phone: "030 7654321".into(),
        email: String::new(),
    };
    Setup {
        guest: GuestCode::create(&guest, &auth.contact_key())
            .unwrap()
            .to_text(),
        table: k.table_code(ter, 3).unwrap(),
        bar_code: k.area_code(bar).unwrap(),
    }
}

/// Fills the counter's registration form and submits it.
async fn register(client: &fantoccini::Client, name: &str, phone: &str) {
    for (field, value) in [
        ("reg-name", name),
        ("reg-street", "Lindenweg 3"),
        ("reg-postcode", "10115"),
        ("reg-city", "Berlin"),
        ("reg-phone", phone),
    ] {
        let input = client.find(Locator::Id(field)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    client
        .find(Locator::Id("reg-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text_of(client: &fantoccini::Client, id: &str) -> String {
    match client.find(Locator::Id(id)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_text(client: &fantoccini::Client, id: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        last = text_of(client, id).await;
        if last.contains(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("#{id} never showed {want:?}; it shows {last:?}");
}

async fn class(client: &fantoccini::Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Saves a screenshot into TRESEN_SCREENSHOT_DIR (docs/ when refreshing the README's).
async fn shot(client: &fantoccini::Client, name: &str) {
    if let Ok(dir) = std::env::var("TRESEN_SCREENSHOT_DIR") {
        let png = client.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }
}

fn chrono_now() -> i64 {
    tresen::cli::now()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_shows_the_venue_and_present_guests() {
    if !e2e_possible() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let setup = venue(&data, &dir.path().join("venue.age"));
    let link = dir.path().join("scanner");
    let mut sim = SerialSim::new(Some(&link)).unwrap();

    let port = free_port();
    let native = free_port();
    let _driver = Driver(
        Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("TRESEN_DATA_DIR", &data)
            .env("TRESEN_SERIAL", format!("{}@115200", link.display()))
            .env("TRESEN_AREA", "Terrasse")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": env!("CARGO_BIN_EXE_tresen-app") }),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");

    let venue = client
        .wait()
        .for_element(Locator::Id("venue"))
        .await
        .unwrap();
    let mut name = String::new();
    for _ in 0..50 {
        name = venue.text().await.unwrap();
        if name == "Café Mönch" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(name, "Café Mönch");
    let present = client
        .find(Locator::Id("present"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(present, "2");
    let rows = client
        .find_all(Locator::Css("#areas tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].text().await.unwrap().contains("Terrasse"));
    // German first: the labels come from the German translation.
    let page = client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Gäste anwesend"), "{page}");
    // The backup warning is shown until a copy is verified.
    assert!(
        page.contains("noch keine geprüfte Sicherungskopie"),
        "{page}"
    );
    // The serial scanner is connected and shown as such.
    wait_text(&client, "devices", "verbunden").await;
    // A guest code from the serial scanner: a green check-in; then the table card.
    let cfg = SimConfig {
        baud: 115_200,
        aim: Some("]Q1".into()),
        ..SimConfig::default()
    };
    sim.send(&setup.guest, &cfg).unwrap();
    wait_text(&client, "result", "Eingecheckt: Terrasse").await;
    assert_eq!(class(&client, "result").await, "result ok");
    shot(&client, "counter-green.png").await;
    sim.send(&setup.table, &cfg).unwrap();
    wait_text(&client, "result", "Tisch 3 zugewiesen").await;
    // A foreign code: red, with its reason.
    sim.send("https://example.org/speisekarte", &cfg).unwrap();
    wait_text(&client, "result", "Kein Tresen-Code").await;
    assert_eq!(class(&client, "result").await, "result refused");
    shot(&client, "counter-red.png").await;
    // The keyboard-wedge field: a scanner typing into the focused field switches the area.
    let wedge = client.find(Locator::Id("wedge")).await.unwrap();
    wedge
        .send_keys(&format!("{}\u{E007}", setup.bar_code))
        .await
        .unwrap();
    wait_text(&client, "result", "Bereich gewählt: Bar").await;
    wait_text(&client, "current-area", "Bar").await;
    // A guest without a code, registered at the counter: sealed at once, checked in.
    register(&client, "Erika Gabler", "030 5556667").await;
    wait_text(&client, "result", "Eingecheckt: Bar").await;
    // A phone number that is not one is refused with the reason, nothing recorded.
    register(&client, "Max Probe", "12").await;
    wait_text(&client, "result", "phone").await;
    assert_eq!(class(&client, "result").await, "result refused");
    // Closing time takes two taps; then everyone is checked out.
    let close = client.find(Locator::Id("close-all")).await.unwrap();
    close.click().await.unwrap();
    wait_text(&client, "close-all", "noch einmal").await;
    assert_ne!(text_of(&client, "present").await, "0");
    close.click().await.unwrap();
    wait_text(&client, "present", "0").await;
    client.close().await.unwrap();
}
