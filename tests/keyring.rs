//! The local secret in a real Secret Service keyring (gnome-keyring in a private D-Bus
//! session, started by .ci/run). Without a session bus the test says so and is skipped,
//! unless TRESEN_REQUIRE_KEYRING=1 (as in CI), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, contact, pass};
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_venue::local_secret::{LocalSecret, SecretError, SecretStore};
use tresen_venue::{Error, ScanOutcome, Venue, VenueSetup};

fn keyring_expected() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    assert!(
        std::env::var("TRESEN_REQUIRE_KEYRING").as_deref() != Ok("1"),
        "TRESEN_REQUIRE_KEYRING=1 but there is no D-Bus session bus"
    );
    eprintln!("skipped: no D-Bus session bus (run through .ci/run for the real keyring)");
    false
}

#[test]
fn the_local_secret_lives_in_the_real_keyring() {
    if !keyring_expected() {
        return;
    }
    let t0 = at(2026, 11, 20, 12, 0);
    let auth = AuthorityKeys::generate("Amt");
    let trust = auth.trust_file(1, t0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = pass();
    let mut k = Venue::init(
        &data,
        &VenueSetup {
            name: "Café Keyring",
            address: "Weg 1",
            trust_file: &trust,
            expect_root: &tresen_protocol::trust::root_fingerprint(&auth.root.public_key()),
            key_file: &dir.path().join("k.age"),
            passphrase: &p,
            secret_store: SecretStore::Keyring,
        },
        t0,
    )
    .expect("init with the Secret Service keyring");
    assert!(!data.join(tresen_venue::local_secret::SECRET_FILE).exists());
    assert_eq!(k.secret_warning(), None);
    let loc = k.add_location("L", t0).unwrap();
    let area = k.add_area(loc, "A", None, t0).unwrap();
    let code = GuestCode::create(&contact(1), &auth.contact_key())
        .unwrap()
        .to_text();
    k.scan_guest(&code, area, None, Method::Fob, t0).unwrap();
    drop(k);
    // A new process (here: a new Venue) finds the same secret, so the check-out matches.
    let mut k = Venue::open(&data, t0 + 60).unwrap();
    let o = k
        .scan_guest(&code, area, None, Method::Fob, t0 + 60)
        .unwrap();
    assert!(matches!(o, ScanOutcome::CheckedOut { .. }), "{o:?}");
    let install_id: String = k
        .sqlite()
        .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(k);
    // A keyring that lost the secret is reported plainly.
    LocalSecret::delete(SecretStore::Keyring, &data, &install_id).unwrap();
    match Venue::open(&data, t0 + 120) {
        Err(Error::Secret(SecretError::Missing)) => {}
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("opened without its secret"),
    }
    // The operator makes a new secret; recorded check-ins stay, the venue opens again.
    Venue::reset_secret(&data, SecretStore::Keyring).unwrap();
    let k = Venue::open(&data, t0 + 180).unwrap();
    let n: i64 = k
        .sqlite()
        .query_row("SELECT COUNT(*) FROM checkins", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}
