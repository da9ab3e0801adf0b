//! The venue key file, its backups and replacement, and the trust file: opened by the
//! standard age tool, refused with a clear error when wrong, never changed by a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{at, pass, venue};
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::{self, KeyFileError, Passphrase};
use tresen_protocol::trust::{self, TrustError};
use tresen_protocol::venue_keys::VenueSecretKeys;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::{Error, Venue, VenueSetup};

/// Decrypts with the standard `age` tool, typing the passphrase into its terminal prompt
/// through a pseudo-terminal (`script`), as a person would.
fn age_decrypt(path: &std::path::Path, passphrase: &str) -> (bool, String) {
    let out = path.with_extension("decrypted");
    let _ = std::fs::remove_file(&out);
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("age -d -o '{}' '{}'", out.display(), path.display()),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) from util-linux and age must be installed (see .ci/run)");
    std::thread::sleep(std::time::Duration::from_millis(500));
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    let _ = writeln!(stdin, "{passphrase}");
    drop(stdin);
    let ok = child.wait().unwrap().success();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (ok && !text.is_empty(), text)
}

#[test]
fn the_key_file_opens_with_the_age_tool_and_holds_the_venue_key() {
    let t0 = at(2026, 11, 20, 12, 0);
    let v = venue(t0);
    let head = std::fs::read_to_string(&v.key_file).unwrap();
    assert!(head.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let (ok, text) = age_decrypt(&v.key_file, common::PASS);
    assert!(ok, "age could not open the key file");
    assert!(text.starts_with("tresen-venue-key v1\n"));
    assert!(text.contains(&format!("fingerprint: {}", v.venue.fingerprint())));
    let (ok, _) = age_decrypt(&v.key_file, "not the passphrase at all");
    assert!(!ok, "age opened the key file with a wrong passphrase");
}

#[test]
fn weak_passphrases_are_refused_and_nothing_is_created() {
    let auth = AuthorityKeys::generate("Amt");
    let trust = auth.trust_file(1, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for weak in ["kurz", "passwort1234", "cafemoench2026"] {
        let p = Passphrase::new(weak);
        let key_file = dir.path().join("k.age");
        let err = Venue::init(
            &dir.path().join("data"),
            &VenueSetup {
                name: "Café Mönch",
                address: "Hauptstraße 1",
                trust_file: &trust,
                expect_root: &tresen_protocol::trust::root_fingerprint(&auth.root.public_key()),
                key_file: &key_file,
                passphrase: &p,
                secret_store: SecretStore::File,
            },
            0,
        )
        .err()
        .expect("weak passphrase accepted");
        assert!(
            matches!(err, Error::KeyFile(KeyFileError::WeakPassphrase(_))),
            "{weak}: {err}"
        );
        assert!(!key_file.exists());
        assert!(!Venue::is_initialized(&dir.path().join("data")));
    }
}

#[test]
fn backup_must_be_copied_and_verified_and_is_due_again_after_the_interval() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let s = v.venue.backup_status(t0).unwrap();
    assert!(s.warning.as_deref().unwrap().contains("second copy"));
    // Verifying the original alone does not prove a second copy.
    v.venue
        .verify_key_file(&v.key_file.clone(), &pass(), t0)
        .unwrap();
    assert!(v.venue.backup_status(t0).unwrap().warning.is_some());
    // The second copy goes on another drive (an ext4 image on a loop device).
    let Some(stick) = common::drive() else {
        return;
    };
    let copy = stick.path.join("venue-key.age");
    v.venue
        .backup_key_file(&v.key_file.clone(), &copy, &pass(), t0 + 60)
        .unwrap();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&v.key_file).unwrap()
    );
    let s = v.venue.backup_status(t0 + 120).unwrap();
    assert_eq!(s.warning, None);
    assert_eq!(s.verified_at, Some(t0 + 60));
    // 90 days later the check is due again.
    let later = t0 + 60 + 90 * 86_400;
    assert!(v
        .venue
        .backup_status(later)
        .unwrap()
        .warning
        .unwrap()
        .contains("last verified"));
    v.venue.verify_key_file(&copy, &pass(), later).unwrap();
    assert_eq!(v.venue.backup_status(later).unwrap().warning, None);
    // A backup never overwrites an existing file.
    assert!(matches!(
        v.venue
            .backup_key_file(&v.key_file.clone(), &copy, &pass(), later),
        Err(Error::KeyFile(KeyFileError::Exists(_)))
    ));
}

#[test]
fn wrong_passphrase_and_corrupted_key_files_are_refused_and_change_nothing() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let before = v.venue.backup_status(t0).unwrap();
    let wrong = Passphrase::new("this is not the right passphrase");
    let e = v
        .venue
        .verify_key_file(&v.key_file.clone(), &wrong, t0)
        .unwrap_err();
    assert!(
        matches!(e, Error::KeyFile(KeyFileError::WrongPassphrase)),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "the passphrase is wrong for this key file");

    let original = std::fs::read(&v.key_file).unwrap();
    let damaged = v.dir.path().join("damaged.age");
    // A flipped character in the body, a truncated file, an empty file, and something else.
    let mut flipped = original.clone();
    let mid = original.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let cases: Vec<Vec<u8>> = vec![
        flipped,
        original[..original.len() / 3].to_vec(),
        Vec::new(),
        b"tresen-venue-key v1\nfingerprint: x\n".to_vec(),
    ];
    for bytes in cases {
        let _ = std::fs::remove_file(&damaged);
        std::fs::write(&damaged, &bytes).unwrap();
        let e = v.venue.verify_key_file(&damaged, &pass(), t0).unwrap_err();
        match &e {
            Error::KeyFile(KeyFileError::NotAKeyFile)
            | Error::KeyFile(KeyFileError::Corrupt(_))
            | Error::KeyFile(KeyFileError::WrongPassphrase) => {}
            other => panic!("unexpected error {other:?}"),
        }
        assert!(!e.to_string().is_empty());
        let e2 = v
            .venue
            .backup_key_file(&damaged, &v.dir.path().join("never.age"), &pass(), t0);
        assert!(e2.is_err());
        assert!(!v.dir.path().join("never.age").exists());
    }
    assert_eq!(v.venue.backup_status(t0).unwrap(), before);
    assert_eq!(std::fs::read(&v.key_file).unwrap(), original);
}

#[test]
fn a_key_file_of_another_venue_is_refused() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let other = venue(t0);
    let e = v
        .venue
        .verify_key_file(&other.key_file, &pass(), t0)
        .unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    assert!(v.venue.backup_status(t0).unwrap().verified_at.is_none());
}

#[test]
fn a_key_file_on_a_full_medium_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/key.age");
    let e = key_file::write_new_file(&missing, b"data").unwrap_err();
    assert!(e.to_string().contains("could not write"), "{e}");
    let Some(fs) = common::tiny_tmpfs(256) else {
        return;
    };
    let filler = common::fill(&fs.path);
    let target = fs.path.join("venue-key.age");
    let keys = VenueSecretKeys::generate();
    let e = keys
        .write_key_file(&target, &pass(), "2026-11-20T12:00:00Z")
        .unwrap_err();
    assert!(matches!(e, KeyFileError::Write { .. }), "{e:?}");
    assert!(e.to_string().contains("is the medium full"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&fs.path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        left,
        vec![filler.clone()],
        "nothing but the filler is left behind"
    );
    std::fs::remove_file(filler).unwrap();
    keys.write_key_file(&target, &pass(), "2026-11-20T12:00:00Z")
        .unwrap();
}

#[test]
fn a_lost_key_is_replaced_and_the_unanswerable_period_is_reported() {
    let t0 = at(2026, 11, 10, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let old_fp = v.venue.fingerprint();
    let old_area_code = v.venue.area_code(ter).unwrap();
    for i in 0..3 {
        let g = GuestCode::create(&common::contact(i), &v.authority.contact_key()).unwrap();
        v.venue
            .scan_guest(&g.to_text(), ter, None, Method::Fob, t0 + i as i64 * 3600)
            .unwrap();
    }
    let new_file = v.dir.path().join("new-key.age");
    let now = t0 + 86_400;
    let r = v.venue.replace_key(&new_file, &pass(), now).unwrap();
    assert_eq!(r.old_fingerprint, old_fp);
    assert_ne!(r.new_fingerprint, old_fp);
    assert_eq!(v.venue.fingerprint(), r.new_fingerprint);
    assert_eq!(r.unanswerable_checkins, 3);
    assert_eq!(r.unanswerable_from, Some(t0));
    assert_eq!(
        r.unanswerable_until,
        Some(t0 + 2 * 3600 + 4 * 3600),
        "open stays end at their maximum"
    );
    // New check-ins are sealed to the new key; the old key file cannot open them.
    let g = GuestCode::create(&common::contact(9), &v.authority.contact_key()).unwrap();
    let tresen_venue::ScanOutcome::CheckedIn { record, .. } = v
        .venue
        .scan_guest(&g.to_text(), ter, None, Method::Fob, now)
        .unwrap()
    else {
        panic!()
    };
    let old_keys = VenueSecretKeys::read_key_file(&v.key_file, &pass()).unwrap();
    let new_keys = VenueSecretKeys::read_key_file(&new_file, &pass()).unwrap();
    assert!(v.venue.open_checkin(record, &old_keys).is_err());
    assert!(v.venue.open_checkin(record, &new_keys).is_ok());
    // Posters printed before the replacement still work; the backup state starts over.
    assert!(v.venue.classify(&old_area_code).is_ok());
    assert!(v.venue.backup_status(now).unwrap().warning.is_some());
    assert!(matches!(
        v.venue.verify_key_file(&v.key_file.clone(), &pass(), now),
        Err(Error::RetiredKey(_))
    ));
}

#[test]
fn trust_files_forged_unsigned_foreign_or_older_are_refused() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let root = v.venue.trust().unwrap().root_key;
    // Unsigned.
    let mut env: serde_json::Value = serde_json::from_str(&v.trust).unwrap();
    env["signature"] = "".into();
    assert_eq!(
        trust::verify(&env.to_string(), None).unwrap_err(),
        TrustError::Unsigned
    );
    // Altered body (another contact key slipped in), signature kept.
    let mut env: serde_json::Value = serde_json::from_str(&v.trust).unwrap();
    let other = AuthorityKeys::generate("Fälscher");
    let forged_text = other.trust_file(2, t0).unwrap();
    let forged: serde_json::Value = serde_json::from_str(&forged_text).unwrap();
    env["body"] = forged["body"].clone();
    assert_eq!(
        trust::verify(&env.to_string(), None).unwrap_err(),
        TrustError::BadSignature
    );
    // Validly signed, but by another root.
    let e = v.venue.update_trust(&forged_text, t0).unwrap_err();
    assert!(
        matches!(e, Error::Trust(TrustError::RootMismatch { .. })),
        "{e:?}"
    );
    // Same root, not newer.
    let same = v.authority.trust_file(1, t0).unwrap();
    assert!(matches!(
        v.venue.update_trust(&same, t0).unwrap_err(),
        Error::Trust(TrustError::NotNewer { have: 1, got: 1 })
    ));
    // Garbage.
    assert!(matches!(
        trust::verify("{]", None).unwrap_err(),
        TrustError::Malformed(_)
    ));
    assert_eq!(v.venue.trust().unwrap().body.serial, 1);
    assert_eq!(v.venue.trust().unwrap().root_key, root);
    // A newer file from the same root is taken.
    let newer = v.authority.trust_file(2, t0).unwrap();
    assert_eq!(v.venue.update_trust(&newer, t0).unwrap().body.serial, 2);
}

#[test]
fn a_rotated_contact_key_still_accepts_older_guest_codes() {
    let t0 = at(2026, 11, 20, 12, 0);
    let mut v = venue(t0);
    let ter = v.terrasse;
    let old_code = GuestCode::create(&common::contact(1), &v.authority.contact_key()).unwrap();
    let rotated = AuthorityKeys {
        name: v.authority.name.clone(),
        root: tresen_protocol::crypto::SigningKey::from_bytes(&v.authority.root.to_bytes()[..])
            .unwrap(),
        contact: tresen_protocol::crypto::SealSecretKey::generate().0,
    };
    v.venue
        .update_trust(&rotated.trust_file(2, t0).unwrap(), t0)
        .unwrap();
    assert_eq!(
        v.venue.contact_key().public_key,
        rotated.contact.public_key()
    );
    v.venue
        .scan_guest(&old_code.to_text(), ter, None, Method::Fob, t0)
        .unwrap();
    let (new_code, _) = v
        .venue
        .register_guest(&common::contact(2), ter, None, t0)
        .unwrap();
    assert!(tresen_office::authority::open_guest_code(&rotated, &new_code).is_ok());
}

#[test]
fn an_unexpected_root_fingerprint_stops_setup() {
    let auth = AuthorityKeys::generate("Amt");
    let trust_text = auth.trust_file(1, 0).unwrap();
    let fp = trust::verify(&trust_text, None).unwrap().root_fingerprint();
    let dir = tempfile::tempdir().unwrap();
    let p = pass();
    let setup = |expect: &'static str, key: &'static str| {
        Venue::init(
            &dir.path().join(key),
            &VenueSetup {
                name: "Café",
                address: "Weg 1",
                trust_file: &trust_text,
                expect_root: expect,
                key_file: &dir.path().join(format!("{key}.age")),
                passphrase: &p,
                secret_store: SecretStore::File,
            },
            0,
        )
    };
    let e = setup("AAAA-BBBB-CCCC-DDDD-EEEE", "a").err().unwrap();
    assert!(matches!(e, Error::RootNotExpected { .. }));
    assert!(!dir.path().join("a.age").exists());
    // Hole 5: the published fingerprint was optional, so a phished trust file set up a
    // venue that sealed typed-in guests to an attacker's key. Now setup stops without it.
    for missing in ["", "  ", "-"] {
        let e = setup(missing, "c").err().unwrap();
        assert!(matches!(e, Error::RootRequired), "{e}");
        assert_eq!(e.code(), "trust-root-required");
    }
    assert!(
        !dir.path().join("c.age").exists() && !dir.path().join("c").join("tresen.sqlite3").exists()
    );
    let lower: &'static str = Box::leak(fp.to_lowercase().replace('-', " ").into_boxed_str());
    assert!(setup(lower, "b").is_ok());
}

/// A real key file whose scrypt stanza (`-> scrypt SALT 18`) asks for `log_n` instead, in
/// age's binary form and re-armoured.
fn with_work_factor(armoured: &str, log_n: u8) -> (Vec<u8>, String) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = armoured
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let binary = b64.decode(body).unwrap();
    let text = String::from_utf8_lossy(&binary);
    let stanza = text
        .lines()
        .find(|l| l.starts_with("-> scrypt "))
        .expect("an scrypt stanza");
    let expected_end = format!(" {}", key_file::WORK_FACTOR);
    assert!(stanza.ends_with(&expected_end), "{stanza}");
    let edited = format!(
        "{}{log_n}",
        &stanza[..stanza.len() - expected_end.len() + 1]
    );
    let at = binary
        .windows(stanza.len())
        .position(|w| w == stanza.as_bytes())
        .unwrap();
    let mut forged = binary[..at].to_vec();
    forged.extend_from_slice(edited.as_bytes());
    forged.extend_from_slice(&binary[at + stanza.len()..]);
    let encoded = b64.encode(&forged);
    let mut rearmoured = String::from("-----BEGIN AGE ENCRYPTED FILE-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        rearmoured.push_str(std::str::from_utf8(chunk).unwrap());
        rearmoured.push('\n');
    }
    rearmoured.push_str("-----END AGE ENCRYPTED FILE-----\n");
    (forged, rearmoured)
}

/// 2^21 takes 2 GiB of memory and 2^22 4 GiB: refused before scrypt runs, not computed
/// and then found to be the wrong passphrase.
#[test]
fn a_key_file_demanding_excessive_scrypt_work_is_refused_before_any_work() {
    assert_eq!(key_file::MAX_WORK_FACTOR, 20);
    let keys = VenueSecretKeys::generate();
    let armoured = keys.encrypt(&pass(), "2026-11-20T12:00:00Z").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for log_n in [21, 22] {
        let (binary, rearmoured) = with_work_factor(&armoured, log_n);
        let file = dir.path().join(format!("forged-{log_n}.age"));
        std::fs::write(&file, &binary).unwrap();
        for result in [
            VenueSecretKeys::read_key_file(&file, &pass()).map(|_| ()),
            VenueSecretKeys::decrypt(&pass(), rearmoured.as_bytes()).map(|_| ()),
        ] {
            let e = result.expect_err("a forged key file was opened");
            assert!(
                matches!(e, KeyFileError::TooExpensive { required, max: 20 } if required == log_n),
                "{e:?}"
            );
            assert!(e.to_string().contains("may be forged"), "{e}");
        }
    }
    // The editing itself keeps a file age can read: the real factor still opens.
    let (_, same) = with_work_factor(&armoured, key_file::WORK_FACTOR);
    assert!(VenueSecretKeys::decrypt(&pass(), same.as_bytes()).is_ok());
}

#[test]
fn reading_a_key_or_passphrase_file_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.age");
    let mut data = b"-----BEGIN AGE ENCRYPTED FILE-----\n".to_vec();
    data.resize(70 * 1024, b'A');
    std::fs::write(&big, &data).unwrap();
    let zero = std::path::Path::new("/dev/zero");
    for p in [big.as_path(), zero] {
        assert!(
            matches!(key_file::read_bytes(p), Err(KeyFileError::NotAKeyFile)),
            "{}",
            p.display()
        );
        assert!(matches!(
            VenueSecretKeys::read_key_file(p, &pass()),
            Err(KeyFileError::NotAKeyFile)
        ));
    }
    let e = Passphrase::from_file(zero).err().expect("read /dev/zero");
    assert!(
        matches!(&e, KeyFileError::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let long = dir.path().join("long-pass.txt");
    std::fs::write(&long, vec![b'a'; 5000]).unwrap();
    let e = Passphrase::from_file(&long)
        .err()
        .expect("a 5000-byte passphrase file");
    assert!(e.to_string().contains("larger than 4096 bytes"), "{e}");
    // A passphrase file as scripts write it still works.
    let pass_file = dir.path().join("pass.txt");
    std::fs::write(&pass_file, format!("{}\n", common::PASS)).unwrap();
    let key = dir.path().join("key.age");
    let keys = VenueSecretKeys::generate();
    keys.write_key_file(&key, &pass(), "2026-11-20T12:00:00Z")
        .unwrap();
    let from_file = Passphrase::from_file(&pass_file).unwrap();
    assert!(VenueSecretKeys::read_key_file(&key, &from_file).is_ok());
}

#[test]
fn a_key_file_is_private_to_its_owner_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask(2) cannot fail; 022 is the usual default, so tests running alongside
    // see no difference.
    let old = unsafe { libc::umask(0o022) };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("venue-key.age");
    let written = VenueSecretKeys::generate().write_key_file(&key, &pass(), "2026-11-20T12:00:00Z");
    unsafe { libc::umask(old) };
    written.unwrap();
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("venue-key.age")]);
}

#[test]
fn a_symbolic_link_at_the_target_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("venue-key.age");
    let pointee = dir.path().join("elsewhere.age");
    std::os::unix::fs::symlink(&pointee, &link).unwrap();
    let keys = VenueSecretKeys::generate();
    let e = keys
        .write_key_file(&link, &pass(), "2026-11-20T12:00:00Z")
        .unwrap_err();
    assert!(matches!(e, KeyFileError::Exists(_)), "{e:?}");
    assert!(!pointee.exists(), "the dangling link was followed");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

/// USB sticks are formatted FAT32 or exFAT: no hard links, so the key file is written by
/// the exclusive create; it must still never overwrite, and leave nothing on a full stick.
#[test]
fn a_key_file_is_written_to_exfat_and_fat32_sticks() {
    let created = "2026-11-20T12:00:00Z";
    for kind in [common::Fat::ExFat, common::Fat::Fat32] {
        let Some(mut stick) = common::fuse_fat(kind) else {
            continue;
        };
        let probe = stick.path.join("probe");
        std::fs::write(&probe, b"x").unwrap();
        let e = std::fs::hard_link(&probe, stick.path.join("probe2")).unwrap_err();
        eprintln!("{kind:?}: link(2) fails with {e}");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{kind:?}");
        std::fs::remove_file(&probe).unwrap();

        let target = stick.path.join("venue-key.age");
        let keys = VenueSecretKeys::generate();
        keys.write_key_file(&target, &pass(), created).unwrap();
        let again = VenueSecretKeys::generate().write_key_file(&target, &pass(), created);
        assert!(
            matches!(again, Err(KeyFileError::Exists(_))),
            "{kind:?}: {again:?}"
        );
        stick.remount();
        let back = VenueSecretKeys::read_key_file(&target, &pass()).unwrap();
        assert_eq!(back.public(), keys.public(), "{kind:?}");
        let names = |dir: &std::path::Path| {
            let mut v: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&stick.path), ["venue-key.age"], "{kind:?}");

        let filler = common::fill(&stick.path);
        let e = VenueSecretKeys::generate()
            .write_key_file(&stick.path.join("second.age"), &pass(), created)
            .unwrap_err();
        assert!(matches!(e, KeyFileError::Write { .. }), "{kind:?}: {e:?}");
        assert_eq!(names(&stick.path), ["filler", "venue-key.age"], "{kind:?}");
        std::fs::remove_file(filler).unwrap();
    }
}

/// Hole 4: a "backup" on the same disk as the key file counted as verified, so the
/// warning went away although one broken or stolen disk loses both; and nothing offered to
/// take the key file off the counter PC once a copy sat on a stick.
#[test]
fn a_copy_on_the_same_drive_does_not_count_and_the_pc_copy_can_go() {
    let now = common::at(2026, 11, 20, 12, 0);
    let mut v = common::venue(now);
    // The key file lies next to the data folder: on this PC's own disk.
    assert_eq!(v.venue.key_file_place(&v.key_file).on_this_pc, Some(true));
    let same = v.dir.path().join("copy-on-same-disk.age");
    let o = v
        .venue
        .backup_key_file(&v.key_file, &same, &pass(), now)
        .unwrap();
    assert!(o.verified && !o.counted, "{o:?}");
    assert_eq!(
        v.venue.backup_status(now).unwrap().state,
        tresen_venue::BackupState::SameMedium
    );
    assert_eq!(
        v.venue.setup_step().unwrap(),
        tresen_venue::SetupStep::Backup,
        "the setup does not move on with a copy on the same drive"
    );
    // Verifying the key file itself is no second copy either.
    let o = v.venue.verify_key_file(&v.key_file, &pass(), now).unwrap();
    assert!(!o.counted);

    // A folder held in memory (tmpfs) is no drive at all: gone at the next start.
    if let Some(ram) = common::tiny_tmpfs(256) {
        let o = v
            .venue
            .backup_key_file(&v.key_file, &ram.path.join("k.age"), &pass(), now)
            .unwrap();
        assert!(!o.counted, "a copy in memory counted: {o:?}");
    }
    let Some(stick) = common::stick() else {
        return;
    };
    let copy = stick.path.join("tresen-schluessel.age");
    assert_eq!(v.venue.key_file_place(&copy).removable, Some(true));
    let o = v
        .venue
        .backup_key_file(&v.key_file, &copy, &pass(), now + 60)
        .unwrap();
    assert!(o.counted, "{o:?}");
    assert_eq!(
        o.pc_copy.as_deref(),
        Some(v.key_file.display().to_string().as_str()),
        "the key file on this PC's disk is offered for deletion"
    );
    assert_eq!(
        v.venue.backup_status(now + 60).unwrap().state,
        tresen_venue::BackupState::Ok
    );
    let primary = v.venue.delete_pc_key_copy(now + 120).unwrap();
    assert_eq!(primary, copy.display().to_string());
    assert!(!v.key_file.exists());
    assert_eq!(v.venue.key_file_hint().unwrap(), Some(primary));
    // One copy is left (besides the one on the PC's disk): the warning asks for a second
    // one again.
    let s = v.venue.backup_status(now + 120).unwrap();
    assert_ne!(s.state, tresen_venue::BackupState::Ok);
    assert!(s.warning.is_some());
    assert_eq!(
        v.venue.audit_entries().unwrap().last().unwrap().event,
        "key-copy-deleted"
    );
    // Nothing more to delete.
    assert!(matches!(
        v.venue.delete_pc_key_copy(now + 180),
        Err(Error::NoPcKeyCopy)
    ));
}
