//! The venue: opened over its store with the local secret and the public keys, set up
//! once, and the accessors every other part uses. Times are Unix seconds; callers pass
//! `now` so behaviour is testable.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tresen_protocol::crypto;
use tresen_protocol::fingerprint::normalize;
use tresen_protocol::guest_code::{ContactKey, KEY_ID_LEN};
use tresen_protocol::key_file::{self, KeyFileError};
use tresen_protocol::limits::MAX_NAME_CHARS;
use tresen_protocol::textcode::encode_base32;
use tresen_protocol::trust::{self, TrustList};
use tresen_protocol::venue_keys::{VenuePublicKeys, VenueSecretKeys};

use crate::local_secret::{LocalSecret, SecretStore};
use crate::settings::Settings;
use crate::store::server::ServerLink;
use crate::store::{
    Meta, NewKey, NewVenue, ServerStore, SqliteStore, StoreError, TrustRow, VenueStore,
};
use crate::{Error, VenueSetup};

/// The venue key in use: its row and public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VenueKey {
    pub id: i64,
    pub public: VenuePublicKeys,
    pub fingerprint: [u8; 32],
}

pub struct Venue {
    pub(crate) store: Box<dyn VenueStore>,
    pub(crate) data_dir: PathBuf,
    pub(crate) secret: LocalSecret,
    pub(crate) secret_store: SecretStore,
    pub(crate) settings: Settings,
    pub(crate) venue_key: VenueKey,
    pub(crate) contact_key: ContactKey,
    pub(crate) known_contact_keys: HashSet<[u8; KEY_ID_LEN]>,
    pub(crate) prepared: crypto::PreparedSeals,
    /// The latest time this venue has seen (see `clock`).
    pub(crate) clock_seen: Option<i64>,
    /// A purge deleted rows but its checkpoint failed: the next purge runs it again.
    pub(crate) checkpoint_due: bool,
}

pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("de", "Tresen", "tresen").map(|d| d.data_dir().to_path_buf())
}

/// A name as the venue keeps it: trimmed, not empty, no control characters, not too long.
pub(crate) fn valid_name(raw: &str) -> Result<String, Error> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::InvalidName("it is empty".into()));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::InvalidName("it contains a control character".into()));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidName(format!(
            "it is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(s.to_string())
}

/// Table numbers as staff type them: "1-12, 15".
pub fn parse_table_numbers(s: &str) -> Result<Vec<u16>, Error> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::InvalidTables(part.to_string());
        if let Some((a, b)) = part.split_once('-') {
            let a: u16 = a.trim().parse().map_err(|_| bad())?;
            let b: u16 = b.trim().parse().map_err(|_| bad())?;
            if a == 0 || b < a || b - a > 999 {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    Ok(out)
}

fn trust_row(t: &TrustList) -> TrustRow {
    TrustRow {
        root_key: t.root_key,
        serial: t.body.serial,
        raw: t.raw.clone(),
        contact_key_id: t.contact_key.key_id,
        contact_key: t.contact_key.public_key,
    }
}

impl Venue {
    pub fn is_initialized(data_dir: &Path) -> bool {
        if ServerLink::exists(data_dir) {
            return ServerStore::open(data_dir)
                .and_then(|s| s.is_initialized())
                .unwrap_or(false);
        }
        SqliteStore::exists(data_dir)
    }

    /// The store of the venue in `data_dir`: its server if it is linked to one, else its
    /// own SQLite file.
    pub(crate) fn open_any_store(data_dir: &Path) -> Result<Box<dyn VenueStore>, Error> {
        if ServerLink::exists(data_dir) {
            return Ok(Box::new(ServerStore::open(data_dir)?));
        }
        if !data_dir.join(crate::store::sqlite::DB_FILE).exists() {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        }
        Ok(Box::new(SqliteStore::open(data_dir)?))
    }

    /// Sets up a venue: checks the trust file against the published root fingerprint and
    /// the passphrase, creates the local secret, the venue key pair and its key file, and
    /// records the public keys.
    pub fn init(data_dir: &Path, setup: &VenueSetup, now: i64) -> Result<Venue, Error> {
        Self::init_in(data_dir, setup, now, &mut || {
            Ok(Box::new(SqliteStore::open(data_dir)?))
        })
    }

    /// Sets up a venue whose counters share a PostgreSQL server, with this PC as its
    /// operator: the schema and the counters' role are made there.
    pub fn init_on_server(
        data_dir: &Path,
        setup: &VenueSetup,
        login: tresen_protocol::join_file::ServerLogin,
        now: i64,
    ) -> Result<Venue, Error> {
        if Self::is_initialized(data_dir) || ServerLink::exists(data_dir) {
            return Err(Error::AlreadyInitialized(data_dir.to_path_buf()));
        }
        let mut login = Some(login);
        let made = Self::init_in(data_dir, setup, now, &mut || {
            let l = login
                .take()
                .ok_or_else(|| StoreError::Other("the venue was set up twice".into()))?;
            Ok(Box::new(ServerStore::create(data_dir, l)?))
        });
        if made.is_err() {
            crate::store::server::forget_link(data_dir);
        }
        made
    }

    fn init_in(
        data_dir: &Path,
        setup: &VenueSetup,
        now: i64,
        open_store: &mut dyn FnMut() -> Result<Box<dyn VenueStore>, Error>,
    ) -> Result<Venue, Error> {
        if Self::is_initialized(data_dir) {
            return Err(Error::AlreadyInitialized(data_dir.to_path_buf()));
        }
        let name = valid_name(setup.name)?;
        let address = valid_name(setup.address)?;
        let trust = trust::verify(setup.trust_file, None)?;
        if normalize(setup.expect_root).is_empty() {
            return Err(Error::RootRequired);
        }
        if normalize(setup.expect_root) != normalize(&trust.root_fingerprint()) {
            return Err(Error::RootNotExpected {
                want: setup.expect_root.to_string(),
                got: trust.root_fingerprint(),
            });
        }
        key_file::check_strength(setup.passphrase, &[&name, "tresen"])?;
        if setup.key_file.exists() {
            return Err(KeyFileError::Exists(setup.key_file.to_path_buf()).into());
        }
        let mut store = open_store()?;
        let install_id = encode_base32(&crypto::random_bytes::<10>());
        LocalSecret::create(setup.secret_store, data_dir, &install_id)?;

        let keys = VenueSecretKeys::generate();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        keys.write_key_file(setup.key_file, setup.passphrase, &created)?;
        let public = keys.public();
        drop(keys);
        let recorded = store.create_venue(&NewVenue {
            name: &name,
            address: &address,
            install_id: &install_id,
            secret_store: setup.secret_store.as_str(),
            key_file: &setup.key_file.display().to_string(),
            key: &NewKey {
                seal: public.seal,
                sign: public.sign,
                fingerprint: public.fingerprint(),
            },
            trust: &trust_row(&trust),
            now,
        });
        if let Err(e) = recorded {
            // The key file belongs to a venue that was never recorded: remove it so that
            // nobody mistakes it for the venue's key.
            let _ = std::fs::remove_file(setup.key_file);
            return Err(e.into());
        }
        tracing::info!(event = "venue.initialized", fingerprint = %public.fingerprint_text());
        Self::open_store(store, data_dir, now)
    }

    /// Opens an existing venue, closes overdue check-ins and purges expired data.
    pub fn open(data_dir: &Path, now: i64) -> Result<Venue, Error> {
        let store = Self::open_any_store(data_dir)?;
        Self::open_store(store, data_dir, now)
    }

    /// Opens a venue over a store of any kind.
    pub fn open_store(
        mut store: Box<dyn VenueStore>,
        data_dir: &Path,
        now: i64,
    ) -> Result<Venue, Error> {
        let (Some(install_id), Some(store_name)) =
            (store.meta(Meta::InstallId)?, store.meta(Meta::SecretStore)?)
        else {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        };
        let secret_store = SecretStore::parse(&store_name)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown secret store '{store_name}'")))?;
        let secret = LocalSecret::load(secret_store, data_dir, &install_id)?;
        let settings = Settings::from_stored(&store.settings()?);
        let venue_key = current_key(store.as_ref())?;
        let (contact_key, known) = contact_keys(store.as_ref())?;
        // Records of version 1 dated after the first start of this version can only have
        // been forged: it writes version 2.
        if store.meta(Meta::SealV2Since)?.is_none() {
            store.set_meta(Meta::SealV2Since, &now.to_string())?;
        }
        let clock_seen = crate::clock::load_seen(store.as_ref())?;
        let mut venue = Venue {
            store,
            data_dir: data_dir.to_path_buf(),
            secret,
            secret_store,
            settings,
            venue_key,
            contact_key,
            known_contact_keys: known,
            prepared: crypto::PreparedSeals::default(),
            clock_seen,
            checkpoint_due: false,
        };
        venue.purge_due(now, false)?;
        Ok(venue)
    }

    /// Makes a new local secret (after the keychain lost it, or to move it between the
    /// keychain and a file). Today's open check-ins can then no longer be matched by a
    /// scan; they end at their maximum stay or at closing time.
    pub fn reset_secret(data_dir: &Path, to: SecretStore) -> Result<(), Error> {
        if !Self::is_initialized(data_dir) {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        }
        if ServerLink::exists(data_dir) {
            // Its secret is the venue's, shared by every counter: a new one here would
            // stop check-outs from matching. It comes back with a new join file.
            return Err(Error::SharedSecret);
        }
        let mut store = SqliteStore::open(data_dir)?;
        let install_id = store
            .meta(Meta::InstallId)?
            .ok_or_else(|| Error::NotInitialized(data_dir.to_path_buf()))?;
        let old = store.meta(Meta::SecretStore)?;
        LocalSecret::create(to, data_dir, &install_id)?;
        store.set_meta(Meta::SecretStore, to.as_str())?;
        if let Some(old) = old.as_deref().and_then(SecretStore::parse) {
            if old != to {
                // The old secret is of no further use; a leftover file would only leak.
                let _ = LocalSecret::delete(old, data_dir, &install_id);
            }
        }
        tracing::info!(event = "secret.reset", store = to.as_str());
        Ok(())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn secret_store(&self) -> SecretStore {
        self.secret_store
    }

    /// The warning to show while the local secret is kept in a file.
    pub fn secret_warning(&self) -> Option<&'static str> {
        (self.secret_store == SecretStore::File).then_some(
            "the kiosk's local secret is kept in a file, not in the OS keychain: anyone who copies the data folder can link a guest's check-in and check-out of the same day",
        )
    }

    /// The SQLite connection, for tests that look at what is stored.
    #[cfg(feature = "test-support")]
    pub fn sqlite(&self) -> &rusqlite::Connection {
        match self.store.sqlite() {
            Some(c) => c,
            None => unreachable!("the tests use the SQLite store"),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn venue_name(&self) -> Result<String, Error> {
        Ok(self.store.venue_name_address()?.0)
    }

    pub fn venue_address(&self) -> Result<String, Error> {
        Ok(self.store.venue_name_address()?.1)
    }

    pub fn venue_public_keys(&self) -> VenuePublicKeys {
        self.venue_key.public
    }

    pub fn fingerprint(&self) -> String {
        self.venue_key.public.fingerprint_text()
    }

    pub fn contact_key(&self) -> &ContactKey {
        &self.contact_key
    }

    pub fn trust(&self) -> Result<TrustList, Error> {
        let raw = self
            .store
            .trust()?
            .ok_or_else(|| StoreError::Corrupt("no trust file is stored".into()))?;
        Ok(trust::verify(&raw, None)?)
    }

    /// Installs a newer trust file signed by the same root.
    pub fn update_trust(&mut self, text: &str, now: i64) -> Result<TrustList, Error> {
        let current = self.trust()?;
        let next = trust::verify(text, Some((&current.root_key, current.body.serial)))?;
        self.store.store_trust(&trust_row(&next), now)?;
        let (ck, known) = contact_keys(self.store.as_ref())?;
        self.contact_key = ck;
        self.known_contact_keys = known;
        tracing::info!(event = "trust.updated", serial = next.body.serial);
        Ok(next)
    }

    /// The keys this venue has had, current and replaced.
    pub(crate) fn key_rows(&self) -> Result<Vec<(i64, VenuePublicKeys)>, Error> {
        let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
        self.store
            .keys()?
            .into_iter()
            .map(|k| {
                Ok((
                    k.id,
                    VenuePublicKeys {
                        seal: k.seal.try_into().map_err(|_| bad())?,
                        sign: k.sign.try_into().map_err(|_| bad())?,
                    },
                ))
            })
            .collect()
    }
}

pub(crate) fn current_key(store: &dyn VenueStore) -> Result<VenueKey, Error> {
    let key = store
        .keys()?
        .into_iter()
        .filter(|k| k.retired_at.is_none())
        .max_by_key(|k| k.id)
        .ok_or_else(|| StoreError::Corrupt("the venue has no current key".into()))?;
    let bad = || StoreError::Corrupt("a stored venue key is damaged".into());
    let public = VenuePublicKeys {
        seal: key.seal.try_into().map_err(|_| bad())?,
        sign: key.sign.try_into().map_err(|_| bad())?,
    };
    Ok(VenueKey {
        id: key.id,
        public,
        fingerprint: public.fingerprint(),
    })
}

/// The current contact key (from the trust file) and every contact key id ever trusted,
/// so that codes made before a key rotation are still accepted.
fn contact_keys(store: &dyn VenueStore) -> Result<(ContactKey, HashSet<[u8; KEY_ID_LEN]>), Error> {
    let raw = store
        .trust()?
        .ok_or_else(|| StoreError::Corrupt("no trust file is stored".into()))?;
    let t = trust::verify(&raw, None)?;
    let known = store
        .contact_key_ids()?
        .into_iter()
        .filter_map(|v| v.try_into().ok())
        .collect();
    Ok((t.contact_key, known))
}
