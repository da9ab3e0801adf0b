//! What a support call needs first: the program's version, the protocol revision of the
//! formats it reads and writes, and the database schema versions it opens (a newer
//! database is refused, an older one is migrated).

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct About {
    pub version: &'static str,
    pub protocol: u32,
    /// The schema of a venue in its own file on this PC.
    pub schema: i64,
    /// The schema of a venue on a PostgreSQL server.
    pub server_schema: i64,
}

pub fn about() -> About {
    About {
        version: env!("CARGO_PKG_VERSION"),
        protocol: tresen_protocol::PROTOCOL_VERSION,
        schema: tresen_venue::store::sqlite::schema::schema_version(),
        server_schema: tresen_venue::store::server::schema::schema_version(),
    }
}

/// `0.1.0 (protocol 3, database schema 7, server schema 2)`.
pub fn version_text() -> String {
    let a = about();
    format!(
        "{} (protocol {}, database schema {}, server schema {})",
        a.version, a.protocol, a.schema, a.server_schema
    )
}

/// `<program> 0.1.0 (protocol 3, …)`, as `--version` prints it.
pub fn version_line(program: &str) -> String {
    format!("{program} {}", version_text())
}
