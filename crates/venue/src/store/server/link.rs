//! How this PC reaches the venue's server database: the login (kept in `server.json` in
//! the data folder, readable by its owner only), TLS with the server's certificate
//! checked against the venue's own certificate authority and the host name (libpq's
//! `verify-full`), and the venue key fingerprint this PC accepts from the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use tresen_protocol::join_file::ServerLogin;

use crate::store::StoreError;

pub const LINK_FILE: &str = "server.json";
/// The schema every Tresen table lives in.
pub const SCHEMA: &str = "tresen";

/// What this PC may do in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerRole {
    /// The venue's owner: sets up, administers, purges and approves.
    Operator,
    /// A counter: checks guests in and out and reads the counts.
    Counter,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ServerLink {
    pub version: u32,
    pub role: ServerRole,
    pub login: ServerLogin,
    /// The venue key fingerprints (hex) this PC seals to; another key in the database is
    /// refused.
    pub pinned_keys: Vec<String>,
    /// The root key (hex) of the health authority whose trust file this PC was set up
    /// with; a trust file of another root in the database is refused.
    #[serde(default)]
    pub pinned_root: Option<String>,
}

impl ServerLink {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(LINK_FILE)
    }

    pub fn exists(data_dir: &Path) -> bool {
        Self::path(data_dir).exists()
    }

    pub fn load(data_dir: &Path) -> Result<ServerLink, StoreError> {
        let path = Self::path(data_dir);
        let text = tresen_protocol::files::read_text_bounded(
            &path,
            tresen_protocol::files::limits::SMALL_JSON,
        )
        .map_err(|e| StoreError::Other(format!("could not read {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} is damaged ({e}); join the venue again",
                path.display()
            ))
        })
    }

    /// Writes the link atomically, readable by its owner only.
    pub fn save(&self, data_dir: &Path) -> Result<(), StoreError> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let path = Self::path(data_dir);
        let tmp = data_dir.join(format!(".{LINK_FILE}.tmp"));
        let io = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::StorageFull {
                StoreError::DiskFull
            } else {
                StoreError::Other(format!("could not write {}: {e}", path.display()))
            }
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let written = opts.open(&tmp).and_then(|mut f| {
            f.write_all(&json)?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }

    /// The group role of the venue's counters: one per database.
    pub fn counter_group(dbname: &str) -> Result<String, StoreError> {
        valid_ident(dbname)?;
        Ok(format!("{dbname}_counters"))
    }
}

/// Database and role names Tresen makes are plain identifiers: nothing to quote.
pub fn valid_ident(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Other(format!(
            "the database name '{name}' must be lower-case letters, digits and '_', starting with a letter"
        )))
    }
}

/// Reads a connection the way PostgreSQL tools name one (`host=… port=… dbname=… user=…`
/// or a `postgresql://` URL) with the password and the certificate authority given apart.
pub fn parse_login(
    conninfo: &str,
    password: &str,
    ca_pem: &str,
) -> Result<ServerLogin, StoreError> {
    let bad = |what: &str| StoreError::Other(format!("the database connection {what}"));
    let cfg: postgres::Config = conninfo
        .parse()
        .map_err(|e| StoreError::Other(format!("the database connection is not valid: {e}")))?;
    let host = match cfg.get_hosts() {
        [postgres::config::Host::Tcp(h)] => h.clone(),
        [] => return Err(bad("names no host")),
        _ => return Err(bad("must name one TCP host")),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let dbname = cfg.get_dbname().ok_or_else(|| bad("names no database"))?;
    valid_ident(dbname)?;
    let user = cfg.get_user().ok_or_else(|| bad("names no user"))?;
    let password = match cfg.get_password() {
        Some(p) if password.is_empty() => String::from_utf8_lossy(p).into_owned(),
        _ => password.to_string(),
    };
    if certificates(ca_pem)?.is_empty() {
        return Err(StoreError::Tls(
            "the certificate authority file holds no certificate".into(),
        ));
    }
    Ok(ServerLogin {
        host,
        port,
        dbname: dbname.to_string(),
        user: user.to_string(),
        password,
        ca_pem: ca_pem.to_string(),
    })
}

fn certificates(ca_pem: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    CertificateDer::pem_slice_iter(ca_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Tls(format!("the certificate authority file is damaged: {e}")))
}

/// Opens a connection: TLS required, the server's certificate checked against the
/// venue's certificate authority and the host name.
pub fn connect(login: &ServerLogin) -> Result<postgres::Client, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(&login.ca_pem)? {
        roots
            .add(cert)
            .map_err(|e| StoreError::Tls(format!("the certificate authority is unusable: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut cfg = postgres::Config::new();
    cfg.host(&login.host)
        .port(login.port)
        .dbname(&login.dbname)
        .user(&login.user)
        .password(&login.password)
        .ssl_mode(SslMode::Require)
        .application_name("tresen")
        .options(&format!("-c search_path={SCHEMA}"))
        .connect_timeout(Duration::from_secs(2))
        .keepalives_idle(Duration::from_secs(5))
        .tcp_user_timeout(Duration::from_secs(5));
    cfg.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .map_err(|e| super::pg_err(&e))
}
