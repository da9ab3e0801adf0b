//! The venue row, its settings, its keys and their copies, the trust file, and the
//! hash-chained audit log, in the server database.

use postgres::GenericClient;
use tresen_protocol::audit_chain::entry_hash;
use tresen_protocol::encoding::{hex, unhex};

use crate::store::*;

pub fn get_meta(c: &mut impl GenericClient, key: Meta) -> Result<Option<String>, StoreError> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key.key()])?
            .map(|r| r.get(0)),
    )
}

pub fn put_meta(c: &mut impl GenericClient, key: Meta, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES ($1, $2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        &[&key.key(), &value],
    )?;
    Ok(())
}

pub fn is_initialized(c: &mut impl GenericClient) -> Result<bool, StoreError> {
    let n: i64 = c.query_one("SELECT COUNT(*) FROM venue", &[])?.get(0);
    Ok(n == 1)
}

pub fn create_venue(c: &mut impl GenericClient, v: &NewVenue<'_>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO venue(id, name, address, created_at) VALUES (1, $1, $2, $3)",
        &[&v.name, &v.address, &v.now],
    )?;
    put_meta(c, Meta::SealV2Since, &v.now.to_string())?;
    c.execute(
        "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
        &[
            &&v.key.seal[..],
            &&v.key.sign[..],
            &&v.key.fingerprint[..],
            &v.now,
        ],
    )?;
    store_trust(c, v.trust, v.now)
}

pub fn name_address(c: &mut impl GenericClient) -> Result<(String, String), StoreError> {
    let r = c.query_one("SELECT name, address FROM venue WHERE id = 1", &[])?;
    Ok((r.get(0), r.get(1)))
}

pub fn settings(c: &mut impl GenericClient) -> Result<Vec<(String, String)>, StoreError> {
    Ok(c.query("SELECT key, value FROM settings", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub fn set_setting(c: &mut impl GenericClient, key: &str, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO settings(key, value) VALUES ($1, $2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

pub fn keys(c: &mut impl GenericClient) -> Result<Vec<StoredKey>, StoreError> {
    Ok(c.query(
        "SELECT id, seal_pk, sign_pk, fingerprint, retired_at FROM venue_keys ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| StoredKey {
        id: r.get(0),
        seal: r.get(1),
        sign: r.get(2),
        fingerprint: r.get(3),
        retired_at: r.get(4),
    })
    .collect())
}

/// Retires the old key and records the new one; the key file's place is this PC's.
pub fn replace_key(
    c: &mut impl GenericClient,
    old_id: i64,
    new: &NewKey,
    now: i64,
) -> Result<KeyUse, StoreError> {
    super::checkins::close_overdue(c, now)?;
    let r = c.query_one(
        "SELECT COUNT(*), MIN(checked_in_at), MAX(COALESCE(checked_out_at, $2))
         FROM checkins WHERE venue_key_id = $1",
        &[&old_id, &now],
    )?;
    let checkins: i64 = r.get(0);
    c.execute(
        "UPDATE venue_keys SET retired_at = $1 WHERE id = $2",
        &[&now, &old_id],
    )?;
    c.execute(
        "INSERT INTO venue_keys(seal_pk, sign_pk, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
        &[&&new.seal[..], &&new.sign[..], &&new.fingerprint[..], &now],
    )?;
    Ok(KeyUse {
        checkins: checkins as u64,
        from: r.get(1),
        until: if checkins > 0 { r.get(2) } else { None },
    })
}

pub fn record_key_copy(
    c: &mut impl GenericClient,
    key_id: i64,
    events: &[&str],
    place: &str,
    same_medium: bool,
    now: i64,
) -> Result<(), StoreError> {
    for event in events {
        c.execute(
            "INSERT INTO key_backups(venue_key_id, event, at, place, same_medium)
             VALUES ($1, $2, $3, $4, $5)",
            &[&key_id, event, &now, &place, &same_medium],
        )?;
    }
    Ok(())
}

/// A copy of a key file, as recorded.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BackupRow {
    pub id: i64,
    pub key_id: i64,
    pub event: String,
    pub at: i64,
    pub place: String,
    pub same_medium: bool,
}

pub fn backups(c: &mut impl GenericClient) -> Result<Vec<BackupRow>, StoreError> {
    Ok(c.query(
        "SELECT id, venue_key_id, event, at, place, same_medium FROM key_backups ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| BackupRow {
        id: r.get(0),
        key_id: r.get(1),
        event: r.get(2),
        at: r.get(3),
        place: r.get(4),
        same_medium: r.get(5),
    })
    .collect())
}

pub fn ever_verified(c: &mut impl GenericClient) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM key_backups WHERE event = 'verified' AND NOT same_medium LIMIT 1",
        &[],
    )?
    .is_some())
}

pub fn trust(c: &mut impl GenericClient) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt("SELECT raw FROM trust WHERE id = 1", &[])?
        .map(|r| r.get(0)))
}

pub fn store_trust(c: &mut impl GenericClient, t: &TrustRow, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO trust(id, root_key, serial, raw, imported_at) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT(id) DO UPDATE SET root_key = excluded.root_key, serial = excluded.serial,
             raw = excluded.raw, imported_at = excluded.imported_at",
        &[&&t.root_key[..], &(t.serial as i64), &t.raw, &now],
    )?;
    c.execute(
        "INSERT INTO contact_keys(key_id, public_key, first_seen) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&&t.contact_key_id[..], &&t.contact_key[..], &now],
    )?;
    Ok(())
}

pub fn contact_key_ids(c: &mut impl GenericClient) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(c.query("SELECT key_id FROM contact_keys", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

// ----- the audit log -----

/// The entry the chain continues from after a purge: (its number, its hash).
fn base(c: &mut impl GenericClient) -> Result<(i64, Vec<u8>), StoreError> {
    let Some(v) = get_meta(c, Meta::AuditBase)? else {
        return Ok((0, vec![0u8; 32]));
    };
    let damaged =
        || StoreError::Corrupt("the record of the purged audit entries is damaged".into());
    let (seq, hash) = v.split_once(':').ok_or_else(damaged)?;
    Ok((
        seq.parse().map_err(|_| damaged())?,
        unhex(hash).ok_or_else(damaged)?,
    ))
}

/// Appends an entry within the caller's transaction; one writer at a time, however many
/// operator PCs there are.
pub fn append_audit(c: &mut impl GenericClient, n: &AuditNote<'_>) -> Result<(), StoreError> {
    c.execute("SELECT pg_advisory_xact_lock(6175646974)", &[])?;
    let last = c
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)));
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => {
            let (s, h) = base(c)?;
            (s + 1, h)
        }
    };
    let hash = entry_hash(&prev, seq, n.at, n.event, n.request_id, n.office, n.detail);
    c.execute(
        "INSERT INTO audit_log(seq, at, event, request_id, office, detail, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &seq,
            &n.at,
            &n.event,
            &n.request_id,
            &n.office,
            &n.detail,
            &&hash[..],
        ],
    )?;
    put_meta(c, Meta::AuditHead, &format!("{seq}:{}", hex(&hash)))
}

pub fn audit_entries(c: &mut impl GenericClient) -> Result<Vec<AuditRow>, StoreError> {
    Ok(c.query(
        "SELECT seq, at, event, request_id, office, detail, hash FROM audit_log ORDER BY seq",
        &[],
    )?
    .iter()
    .map(|r| AuditRow {
        seq: r.get(0),
        at: r.get(1),
        event: r.get(2),
        request_id: r.get(3),
        office: r.get(4),
        detail: r.get(5),
        hash: r.get(6),
    })
    .collect())
}

pub fn audit_anchors(c: &mut impl GenericClient) -> Result<AuditAnchors, StoreError> {
    let (base_seq, base_hash) = base(c)?;
    Ok(AuditAnchors {
        base_seq,
        base_hash,
        head: get_meta(c, Meta::AuditHead)?,
    })
}

/// As the SQLite store's: deletes the oldest entries up to the first one made at or after
/// `cutoff` (never the newest), keeps the base, appends a `purged` entry.
pub fn purge_audit(c: &mut impl GenericClient, cutoff: i64, now: i64) -> Result<u64, StoreError> {
    let last_old = c
        .query_opt(
            "SELECT seq, hash FROM audit_log
             WHERE seq < COALESCE((SELECT MIN(seq) FROM audit_log WHERE at >= $1),
                                  (SELECT MAX(seq) FROM audit_log))
             ORDER BY seq DESC LIMIT 1",
            &[&cutoff],
        )?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)));
    let Some((seq, hash)) = last_old else {
        return Ok(0);
    };
    put_meta(c, Meta::AuditBase, &format!("{seq}:{}", hex(&hash)))?;
    let n = c.execute("DELETE FROM audit_log WHERE seq <= $1", &[&seq])?;
    append_audit(
        c,
        &AuditNote::change(
            now,
            "purged",
            &crate::audit::detail([("count", n.into()), ("up_to", seq.into())]),
        ),
    )?;
    Ok(n)
}
