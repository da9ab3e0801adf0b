//! Demo mode: a complete, throw-away venue — a demo health authority and office, a venue
//! with areas, tables and a few guests, and guest codes to "scan" — so a newcomer can try
//! every flow in minutes. Everything lives under one temporary folder.

use std::path::{Path, PathBuf};

use tresen_office::authority::{self, AuthorityError};
use tresen_office::desk::{DeskError, OfficeDesk};
use tresen_protocol::authority_keys::AuthorityKeys;
use tresen_protocol::checkin_record::Method;
use tresen_protocol::contact::ContactData;
use tresen_protocol::guest_code::GuestCode;
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::trust::TrustError;
use tresen_venue::local_secret::SecretStore;
use tresen_venue::{self, Venue, VenueSetup};

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
    Venue(#[from] tresen_venue::Error),
    #[error("the demo authority could not be made: {0}")]
    Authority(#[from] AuthorityError),
    #[error("the demo trust file could not be made: {0}")]
    Trust(#[from] TrustError),
    #[error("the demo office failed: {0}")]
    Office(#[from] DeskError),
    #[error("could not write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the demo scanner can be made to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoScan {
    Guest,
    Table,
    Area,
    Foreign,
}

impl DemoScan {
    pub fn parse(s: &str) -> Option<DemoScan> {
        Some(match s {
            "guest" => DemoScan::Guest,
            "table" => DemoScan::Table,
            "area" => DemoScan::Area,
            "foreign" => DemoScan::Foreign,
            _ => return None,
        })
    }
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
    pub fn create(root: &Path, now: i64) -> Result<(Demo, Venue), DemoError> {
        let auth = AuthorityKeys::generate("Demo-Gesundheitsbehörde");
        let office_dir = root.join("office");
        let cert = authority::add_office(
            &root.join("authority"),
            &auth,
            &tresen_office::authority::NewOffice {
                dir: &office_dir,
                id: OFFICE_ID,
                name: "Gesundheitsamt Demo-Stadt",
                passphrase: &Passphrase::new(OFFICE_PASSPHRASE),
                valid_days: 365,
            },
            now - 86_400,
        )?;
        let trust = auth.trust_file_with(1, now - 86_400, vec![cert])?;
        let data_dir = root.join("data");
        let key_file = root.join("demo-venue-key.age");
        // The demo makes its own authority, so it knows the published fingerprint.
        let published = tresen_protocol::trust::root_fingerprint(&auth.root.public_key());
        let mut k = Venue::init(
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
            &tresen_office::desk::RequestSpec {
                venue: fingerprint,
                areas: &[],
                from: now - 4 * 3600,
                until: now,
                case_reference: "DEMO-2026-0815",
                reason: "Demo: ein Gast wurde positiv getestet",
                valid_secs: 7 * 86_400,
            },
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

    /// The text the demo scanner "reads" as its `n`-th scan: a guest code (the demo's
    /// first guests are present already, so it starts with the others and comes round to
    /// them, checking out or moving), a table card of the area waiting for a table (or the
    /// current one), the next open area's code, or a foreign code.
    pub fn scan_text(
        &self,
        venue: &Venue,
        kind: DemoScan,
        n: usize,
        current_area: Option<i64>,
        waiting_area: Option<i64>,
    ) -> Result<String, tresen_venue::Error> {
        Ok(match kind {
            DemoScan::Guest => self
                .guest_codes
                .get((n + 4) % self.guest_codes.len().max(1))
                .cloned()
                .unwrap_or_default(),
            DemoScan::Foreign => "https://example.org/speisekarte".into(),
            DemoScan::Table => {
                let areas = venue.areas()?;
                let area = waiting_area
                    .or(current_area)
                    .and_then(|id| areas.iter().find(|a| a.id == id && !a.tables.is_empty()))
                    .or_else(|| areas.iter().find(|a| !a.tables.is_empty()))
                    .ok_or(tresen_venue::Error::UnknownArea("(with tables)".into()))?;
                venue.table_code(area.id, area.tables[n % area.tables.len()])?
            }
            DemoScan::Area => {
                let open: Vec<i64> = venue
                    .areas()?
                    .iter()
                    .filter(|a| a.state == tresen_venue::AreaState::Open)
                    .map(|a| a.id)
                    .collect();
                let next = open
                    .iter()
                    .position(|&a| Some(a) == current_area)
                    .map(|i| open[(i + 1) % open.len()])
                    .or(open.first().copied())
                    .ok_or(tresen_venue::Error::UnknownArea("(open)".into()))?;
                venue.area_code(next)?
            }
        })
    }

    /// The office's passphrase, for opening answers in the demo.
    pub fn office_passphrase(&self) -> Passphrase {
        Passphrase::new(OFFICE_PASSPHRASE)
    }
}
