//! A private PostgreSQL 15 cluster for a test: made with `initdb` in a temporary folder,
//! listening on 127.0.0.1 only, with TLS by a test certificate authority and password
//! logins over TLS only, stopped when dropped. It runs as the `postgres` system user
//! when the tests run as root (the server refuses to run as root). No mock: if
//! PostgreSQL is not installed, the test fails and says how to install it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tresen_protocol::join_file::ServerLogin;

const BIN: &str = "/usr/lib/postgresql/15/bin";
pub const OPERATOR: &str = "tresen_operator";
pub const OPERATOR_PASSWORD: &str = "operator-password-for-tests";
const SUPERUSER_PASSWORD: &str = "superuser-password-for-tests";
pub const DATABASE: &str = "tresen";

pub struct PgCluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    pub port: u16,
    pub ca_pem: String,
    run_as: Option<&'static str>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl PgCluster {
    pub fn start() -> PgCluster {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "PostgreSQL 15 is not installed ({BIN}/initdb is missing): run scripts/setup-system.sh"
        );
        let dir = tempfile::Builder::new()
            .prefix("tresen-pg")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let run_as = is_root().then_some("postgres");
        let (ca_pem, cert_pem, key_pem) = certificates();
        std::fs::write(dir.path().join("pw"), SUPERUSER_PASSWORD).unwrap();
        if run_as.is_some() {
            chown(dir.path());
        }
        let pw = dir.path().join("pw");
        run(
            run_as,
            Command::new(format!("{BIN}/initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", pw.display()))
                .args(["-E", "UTF8", "--no-locale", "--no-instructions"]),
        );
        let port = free_port();
        std::fs::write(data.join("server.crt"), cert_pem).unwrap();
        std::fs::write(data.join("server.key"), key_pem).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str(&format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             fsync = on\nsynchronous_commit = on\nmax_connections = 60\nlog_statement = 'ddl'\n",
            dir.path().display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        // TLS only: a connection without it finds no line that lets it in.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        if run_as.is_some() {
            chown(dir.path());
        }
        let cluster = PgCluster {
            _dir: dir,
            data,
            port,
            ca_pem,
            run_as,
        };
        cluster.start_again();
        let mut su = cluster.superuser();
        su.batch_execute(&format!(
            "CREATE ROLE {OPERATOR} LOGIN CREATEROLE PASSWORD '{OPERATOR_PASSWORD}'"
        ))
        .unwrap();
        su.batch_execute(&format!("CREATE DATABASE {DATABASE} OWNER {OPERATOR}"))
            .unwrap();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        run(
            self.run_as,
            Command::new(format!("{BIN}/pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(self.data.join("log"))
                .args(args),
        );
    }

    /// Starts the server (again) and waits until it takes connections.
    pub fn start_again(&self) {
        self.pg_ctl(&["-w", "-t", "60", "start"]);
    }

    /// Stops the server at once, as a crash or a pulled plug would.
    pub fn kill(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }

    pub fn login(&self, user: &str, password: &str) -> ServerLogin {
        ServerLogin {
            host: "127.0.0.1".into(),
            port: self.port,
            dbname: DATABASE.into(),
            user: user.into(),
            password: password.into(),
            ca_pem: self.ca_pem.clone(),
        }
    }

    pub fn operator(&self) -> ServerLogin {
        self.login(OPERATOR, OPERATOR_PASSWORD)
    }

    /// The same login as libpq's connection text, with its certificate authority apart.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} dbname={DATABASE} user={OPERATOR}",
            self.port
        )
    }

    /// An administrator's connection, for what the tests look at or break.
    pub fn superuser(&self) -> postgres::Client {
        let mut l = self.login("postgres", SUPERUSER_PASSWORD);
        l.dbname = "postgres".into();
        let mut c = tresen_venue::store::server::link::connect(&l).unwrap();
        c.batch_execute("SET search_path = tresen, public").unwrap();
        c
    }

    pub fn superuser_in_venue(&self) -> postgres::Client {
        let mut c =
            tresen_venue::store::server::link::connect(&self.login("postgres", SUPERUSER_PASSWORD))
                .unwrap();
        c.batch_execute("SET search_path = tresen, public").unwrap();
        c
    }

    /// The files a table's rows are stored in.
    pub fn table_file(&self, table: &str) -> PathBuf {
        let rel: String = self
            .superuser_in_venue()
            .query_one("SELECT pg_relation_filepath($1::text::regclass)", &[&table])
            .unwrap()
            .get(0);
        self.data.join(rel)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let pg_ctl = format!("{BIN}/pg_ctl");
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", &pg_ctl]);
                c
            }
            None => Command::new(&pg_ctl),
        };
        let _ = cmd
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}

fn chown(path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(
        ok,
        "chown to postgres (is the postgresql-15 package installed?)"
    );
}

fn run(run_as: Option<&str>, cmd: &mut Command) {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let out = match run_as {
        Some(user) => Command::new("runuser")
            .args(["-u", user, "--"])
            .arg(&program)
            .args(&args)
            .output()
            .unwrap(),
        None => cmd.output().unwrap(),
    };
    assert!(
        out.status.success(),
        "{} failed: {}{}",
        program.to_string_lossy(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test certificate authority and a server certificate for 127.0.0.1 and localhost.
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Tresen test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "tresen test server");
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Another certificate authority's certificate: a server signed by it must be refused.
pub fn foreign_ca() -> String {
    certificates().0
}
