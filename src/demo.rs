//! Demo mode: a complete, throw-away venue — a demo health authority and office, a venue
//! with areas, tables and a few guests, and guest codes to "scan" — so a newcomer can try
//! every flow in minutes. Everything lives under one temporary folder.

use std::path::{Path, PathBuf};

use crate::authority::{self, AuthorityError, AuthorityKeys};
use crate::checkin_record::Method;
use crate::contact::ContactData;
use crate::guest_code::GuestCode;
use crate::keyfile::Passphrase;
use crate::kiosk::{self, Kiosk, VenueSetup};
use crate::local_secret::SecretStore;
use crate::office::{DeskError, OfficeDesk};

/// Shown in the demo banner: the demo is for trying things, not for secrets.
pub const PASSPHRASE: &str = "kastanie fahrrad leuchtturm zimtstern";
pub const PIN: &str = "470815";
const OFFICE_PASSPHRASE: &str = "amtsstube fensterbank regenschirm 77";
const OFFICE_ID: &str = "demo-amt";
const GUESTS: [(&str, &str); 8] = [
    ("Erika Mustermann", "Lindenweg 3"),
    ("Max Probe", "Am Markt 12"),
    ("Aylin Demir", "Kastanienallee 7"),
    ("Jonas Becker", "Gartenstraße 21"),
    ("Sofia Romano", "Hafenkante 2"),
    ("Lukas Wagner", "Mühlenweg 9"),
    ("Mia Schulz", "Bergstraße 44"),
    ("Noah Fischer", "Schulplatz 1"),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo venue could not be made: {0}")]
    Kiosk(#[from] kiosk::Error),
    #[error("the demo authority could not be made: {0}")]
    Authority(#[from] AuthorityError),
    #[error("the demo office failed: {0}")]
    Office(#[from] DeskError),
    #[error("could not write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Demo {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    pub office_dir: PathBuf,
    /// Guest codes the demo scanner can "read".
    pub guest_codes: Vec<String>,
}

fn contact(i: usize) -> ContactData {
    let (name, street) = GUESTS[i % GUESTS.len()];
    ContactData {
        name: name.into(),
        street: street.into(),
        postcode: "10115".into(),
        city: "Berlin".into(),
        phone: format!("+49 30 555 {:04}", 1000 + i),
        email: String::new(),
    }
}

impl Demo {
    /// Makes the demo under `root` (which should be empty): returns the venue, opened.
    pub fn create(root: &Path, now: i64) -> Result<(Demo, Kiosk), DemoError> {
        let auth = AuthorityKeys::generate("Demo-Gesundheitsbehörde");
        let office_dir = root.join("office");
        let cert = authority::add_office(
            &root.join("authority"),
            &auth,
            &office_dir,
            OFFICE_ID,
            "Gesundheitsamt Demo-Stadt",
            &Passphrase::new(OFFICE_PASSPHRASE),
            365,
            now - 86_400,
        )?;
        let trust = auth.trust_file_with(1, now - 86_400, vec![cert])?;
        let data_dir = root.join("data");
        let key_file = root.join("demo-venue-key.age");
        // The demo makes its own authority, so it knows the published fingerprint.
        let published = crate::trust::root_fingerprint(&auth.root.public_key());
        let mut k = Kiosk::init(
            &data_dir,
            &VenueSetup {
                name: "Demo-Café Tresen",
                address: "Beispielweg 1, 10115 Berlin",
                trust_file: &trust,
                expect_root: &published,
                key_file: &key_file,
                passphrase: &Passphrase::new(PASSPHRASE),
                secret_store: SecretStore::File,
            },
            now - 4 * 3600,
        )?;
        let loc = k.add_location("Haupthaus", now - 4 * 3600)?;
        let inside = k.add_area(loc, "Gastraum", None, now - 4 * 3600)?;
        let terrace = k.add_area(loc, "Terrasse", None, now - 4 * 3600)?;
        k.add_area(loc, "Bar", None, now - 4 * 3600)?;
        k.add_tables(inside, &(1..=12).collect::<Vec<_>>())?;
        k.add_tables(terrace, &(1..=8).collect::<Vec<_>>())?;
        k.set_operator_pin(PIN, now)?;
        k.postpone_backup(now)?;
        let codes: Vec<GuestCode> = (0..GUESTS.len())
            .map(|i| k.make_guest_code(&contact(i)))
            .collect::<Result<_, _>>()?;
        // The first guests arrived over the last hours, so the counts and the chart show
        // something and a request has check-ins to answer.
        for (i, code) in codes.iter().take(5).enumerate() {
            let area = if i % 2 == 0 { inside } else { terrace };
            let at = now - 3 * 3600 + i as i64 * 1900;
            k.check_in(code, area, Some(1 + i as u16), Method::Fob, at)?;
        }
        let guest_codes = codes.iter().map(GuestCode::to_text).collect();
        Ok((
            Demo {
                root: root.to_path_buf(),
                data_dir,
                key_file,
                office_dir,
                guest_codes,
            },
            k,
        ))
    }

    /// Has the demo office ask for all check-ins of the last four hours; returns the
    /// request file.
    pub fn make_request(&self, fingerprint: &str, now: i64) -> Result<PathBuf, DemoError> {
        let desk = OfficeDesk::open(&self.office_dir, &Passphrase::new(OFFICE_PASSPHRASE))?;
        let text = desk.make_request(
            fingerprint,
            &[],
            now - 4 * 3600,
            now,
            "DEMO-2026-0815",
            "Demo: ein Gast wurde positiv getestet",
            7 * 86_400,
            now,
        )?;
        let dir = self.root.join("requests");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DemoError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = (1..)
            .map(|n| dir.join(format!("demo-request-{n}.json")))
            .find(|p| !p.exists())
            .unwrap_or_else(|| dir.join("demo-request.json"));
        std::fs::write(&path, text).map_err(io(&path))?;
        Ok(path)
    }

    /// The office's passphrase, for opening answers in the demo.
    pub fn office_passphrase(&self) -> Passphrase {
        Passphrase::new(OFFICE_PASSPHRASE)
    }
}
