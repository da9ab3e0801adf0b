//! Several counters, one venue: the operator's PC makes a join file for a new counter
//! (its own database login, the venue key's fingerprint, the trust file and the pseudonym
//! secret, sealed with a one-time passphrase), a new counter joins with it, and the
//! operator can list and revoke the counters' logins.

use std::path::Path;

use tresen_protocol::crypto;
use tresen_protocol::encoding::{hex, unhex};
use tresen_protocol::files;
use tresen_protocol::join_file::{self, JoinFile};
use tresen_protocol::key_file::Passphrase;
use tresen_protocol::textcode::encode_base32;
use tresen_protocol::trust;

use crate::local_secret::{LocalSecret, SecretStore};
use crate::store::server::{forget_link, CounterRow, ServerLink};
use crate::store::{AuditNote, Meta, ServerStore, StoreError, VenueStore};
use crate::venue::valid_name;
use crate::{Error, Venue};

/// A join file just made, and the passphrase to show next to it (once).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JoinFileMade {
    pub path: String,
    pub passphrase: String,
    pub login: String,
}

impl Venue {
    /// Makes a join file for a new counter named `label` at `out`. Only the operator's PC
    /// of a venue on a server can.
    pub fn make_join_file(
        &mut self,
        label: &str,
        out: &Path,
        now: i64,
    ) -> Result<JoinFileMade, Error> {
        let label = valid_name(label)?;
        if out.exists() {
            return Err(tresen_protocol::key_file::KeyFileError::Exists(out.to_path_buf()).into());
        }
        let name = self.venue_name()?;
        let trust = self
            .store
            .trust()?
            .ok_or_else(|| StoreError::Corrupt("no trust file is stored".into()))?;
        let secret = *self.secret.bytes();
        let fingerprint = hex(&self.venue_key.fingerprint);
        let server = self.store.as_server().ok_or(Error::NotServerVenue)?;
        let login = server.create_counter_login(&label, now)?;
        let role = login.user.clone();
        let file = JoinFile::new(&name, &fingerprint, login, &trust, &secret, now);
        let passphrase = join_file::one_time_passphrase();
        let written = file
            .seal(&Passphrase::new(passphrase.clone()))
            .map_err(Error::from)
            .and_then(|sealed| Ok(files::write_new_file(out, sealed.as_bytes())?));
        if let Err(e) = written {
            // A login without its file is of no use to anyone: take it back.
            if let Some(s) = self.store.as_server() {
                let _ = s.revoke_counter(&role, now);
            }
            return Err(e);
        }
        self.store.append_audit(&AuditNote::change(
            now,
            "counter-added",
            &crate::audit::detail([
                ("name", label.clone().into()),
                ("login", role.clone().into()),
            ]),
        ))?;
        tracing::info!(event = "counter.join_file", login = %role);
        Ok(JoinFileMade {
            path: out.display().to_string(),
            passphrase,
            login: role,
        })
    }

    /// The counters that joined this venue (operator's PC of a venue on a server).
    pub fn counters(&mut self) -> Result<Vec<CounterRow>, Error> {
        let server = self.store.as_server().ok_or(Error::NotServerVenue)?;
        Ok(server.counters()?)
    }

    /// Takes a counter's login away: it can no longer reach the venue's database.
    pub fn revoke_counter(&mut self, login: &str, now: i64) -> Result<(), Error> {
        let server = self.store.as_server().ok_or(Error::NotServerVenue)?;
        if !server.revoke_counter(login, now)? {
            return Err(Error::UnknownCounter(login.to_string()));
        }
        self.store.append_audit(&AuditNote::change(
            now,
            "counter-revoked",
            &crate::audit::detail([("login", login.into())]),
        ))?;
        Ok(())
    }

    /// Reads a join file (without joining): the venue it is for, to show before joining.
    pub fn read_join_file(sealed: &[u8], passphrase: &str) -> Result<JoinFile, Error> {
        let pass = Passphrase::new(join_file::normalize_passphrase(passphrase));
        Ok(JoinFile::open(sealed, &pass)?)
    }

    /// Sets this PC up as a counter of the venue a join file names.
    pub fn join(
        data_dir: &Path,
        sealed: &[u8],
        passphrase: &str,
        secret_store: SecretStore,
        now: i64,
    ) -> Result<Venue, Error> {
        if Venue::is_initialized(data_dir) || ServerLink::exists(data_dir) {
            return Err(Error::AlreadyInitialized(data_dir.to_path_buf()));
        }
        let file = Self::read_join_file(sealed, passphrase)?;
        let fingerprint: [u8; 32] = unhex(&file.fingerprint)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::JoinFile(join_file::JoinFileError::Malformed("fingerprint".into()))
            })?;
        let their_trust = trust::verify(&file.trust, None)?;
        let secret = file.secret()?;
        let joined = (|| {
            let mut store = ServerStore::join(
                data_dir,
                file.server.clone(),
                fingerprint,
                their_trust.root_key,
            )?;
            let stored = store
                .trust()?
                .ok_or_else(|| StoreError::Corrupt("no trust file is stored".into()))?;
            if trust::verify(&stored, None)?.root_key != their_trust.root_key {
                return Err(Error::JoinTrustMismatch);
            }
            let install_id = encode_base32(&crypto::random_bytes::<10>());
            LocalSecret::keep(secret_store, data_dir, &install_id, &secret)?;
            store.set_metas(
                &[
                    (Meta::InstallId, install_id.as_str()),
                    (Meta::SecretStore, secret_store.as_str()),
                ],
                None,
            )?;
            tracing::info!(event = "counter.joined", login = %file.server.user);
            Venue::open_store(Box::new(store), data_dir, now)
        })();
        if joined.is_err() {
            forget_link(data_dir);
        }
        joined
    }
}
