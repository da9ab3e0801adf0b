//! The append-only, hash-chained audit log: every data request seen, refused, approved or
//! declined, and the operator's security-relevant changes. Each entry's hash covers the
//! previous entry's hash, so removing or altering an entry breaks the chain; the head is
//! also kept apart to detect a removed last entry. The store refuses updates and deletes,
//! except of entries up to the *base*: after the retention period the oldest entries are
//! deleted, the last deleted entry's number and hash become the base the chain continues
//! from, and a `purged` entry records it. See docs/protocol.md, section 12.

use tresen_protocol::audit_chain::entry_hash;
use tresen_protocol::encoding::hex;

pub use crate::store::AuditRow as AuditEntry;
use crate::{Error, Venue};

/// An entry's detail: a JSON object of named values (names, counts, times in Unix
/// seconds under keys ending in `_at`) that the window words in its language by the
/// entry's event. Entries written before details were structured hold an English
/// sentence instead.
pub fn detail<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    serde_json::Value::Object(map).to_string()
}

/// The detail in English, for the `tresen audit` listing: the values of a structured
/// detail as `key value` pairs, an older entry's sentence as it is.
pub fn detail_text(detail: &str) -> String {
    use tresen_protocol::time::format_time;
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(detail) {
        Ok(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) if k.ends_with("_at") => {
                        n.as_i64().map(format_time).unwrap_or_else(|| n.to_string())
                    }
                    other => other.to_string(),
                };
                format!("{} {value}", k.trim_end_matches("_at").replace('_', " "))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => detail.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log is broken at entry {seq}: {why}")]
    Broken { seq: i64, why: String },
}

impl Venue {
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, Error> {
        Ok(self.store.audit_entries()?)
    }

    /// Recomputes the chain; returns the number of entries if it is intact.
    pub fn verify_audit(&self) -> Result<usize, Error> {
        let all = self.store.audit_entries()?;
        let anchors = self.store.audit_anchors()?;
        let broken = |seq, why: &str| -> Error {
            AuditError::Broken {
                seq,
                why: why.into(),
            }
            .into()
        };
        let mut prev = anchors.base_hash;
        for (i, e) in all.iter().enumerate() {
            let want_seq = anchors.base_seq + i as i64 + 1;
            if e.seq != want_seq {
                return Err(broken(want_seq, "an entry was removed"));
            }
            let h = entry_hash(
                &prev,
                e.seq,
                e.at,
                &e.event,
                &e.request_id,
                &e.office,
                &e.detail,
            );
            if h.as_slice() != e.hash.as_slice() {
                return Err(broken(
                    e.seq,
                    "the entry was altered, or one before it was removed",
                ));
            }
            prev = e.hash.clone();
        }
        let actual = all.last().map(|e| format!("{}:{}", e.seq, hex(&e.hash)));
        if anchors.head != actual {
            return Err(broken(
                anchors.base_seq + all.len() as i64 + 1,
                "the last entries were removed",
            ));
        }
        Ok(all.len())
    }
}
