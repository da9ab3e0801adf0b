//! The venue's side of a data request: review (verify everything before showing anything
//! as trustworthy), approval with the key file (open exactly the matching check-ins, in
//! parallel and streaming, and write the sealed, signed answer), and declining. Every
//! request seen, refused, approved or declined goes to the audit log.

use std::io::BufWriter;
use std::path::Path;

use rayon::prelude::*;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{format_time, Error, Kiosk};
use crate::answer::{AnswerEntry, AnswerRecord, AnswerTo, AnswerWriter, Damage, DamagedRecord};
use crate::audit;
use crate::checkin_record::{self, Binding, RECORD_ID_LEN};
use crate::crypto::CryptoError;
use crate::keyfile::{KeyFileError, VenueSecretKeys};
use crate::request::{self, RequestError, SignedRequest};

const BATCH: usize = 2048;

/// What the operator sees before deciding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestReview {
    pub request_id: String,
    pub office_id: String,
    pub office_name: String,
    pub case_reference: String,
    pub reason: String,
    pub all_areas: bool,
    /// (area id, "location / area")
    pub areas: Vec<(i64, String)>,
    pub from: i64,
    pub until: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Check-ins overlapping the window in the areas (open ones included).
    pub matching: u64,
    /// Of those, sealed to an earlier (replaced) venue key.
    pub sealed_to_earlier_keys: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalReport {
    /// Check-ins opened and sealed to the office.
    pub records: u64,
    /// Check-ins whose seals did not open: listed in the answer, flagged.
    pub flagged: u64,
    /// Matching check-ins sealed to another venue key than the key file's.
    pub not_opened: u64,
}

fn norm_fp(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

struct Checked {
    req: SignedRequest,
    area_ids: Vec<i64>,
    review: RequestReview,
}

impl Kiosk {
    fn check_request(&self, text: &[u8], now: i64) -> Result<Checked, Error> {
        let trust = self.trust()?;
        let req = request::verify(text, &trust.root_key, now)?;
        // Signed by the root is not enough: an office dropped from the authority's current
        // trust file (leaked key, office closed) has no power any more.
        let listed = trust.body.offices.iter().any(|c| {
            c.verify(&trust.root_key, now).is_ok_and(|o| {
                o.body.office_id == req.office.body.office_id
                    && o.signing_key == req.office.signing_key
                    && o.encryption_key == req.office.encryption_key
            })
        });
        if !listed {
            return Err(RequestError::OfficeNotListed(req.office.body.office_id.clone()).into());
        }
        let b = &req.body;
        let ours = {
            let mut st = self
                .conn
                .prepare("SELECT seal_pk, sign_pk FROM venue_keys")?;
            let keys: Vec<(Vec<u8>, Vec<u8>)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            keys.into_iter()
                .any(|(seal, sign)| match (seal.try_into(), sign.try_into()) {
                    (Ok(seal), Ok(sign)) => {
                        norm_fp(&crate::keyfile::VenuePublicKeys { seal, sign }.fingerprint_text())
                            == norm_fp(&b.venue)
                    }
                    _ => false,
                })
        };
        if !ours {
            return Err(RequestError::OtherVenue(b.venue.clone()).into());
        }
        let decided: Option<(String, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT status, decided_at FROM requests WHERE request_id = ?1 AND status <> 'seen'",
                [&req.request_id[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((status, at)) = decided {
            return Err(RequestError::Replayed {
                status,
                at: at.map(format_time).unwrap_or_default(),
            }
            .into());
        }
        if b.until > now + 60 {
            return Err(RequestError::WindowInFuture(format_time(b.until)).into());
        }
        let oldest = now - i64::from(self.settings.retention_days) * 86_400;
        if b.from < oldest {
            return Err(RequestError::WindowBeforeRetention(format_time(oldest)).into());
        }
        let all = self.areas()?;
        let mut area_ids = Vec::new();
        let mut areas = Vec::new();
        for a in &all {
            let full = format!("{}/{}", a.location, a.name).to_lowercase();
            let wanted = b.areas.is_empty()
                || b.areas.iter().any(|w| {
                    let w = w.trim().to_lowercase();
                    w == a.name.to_lowercase() || w == full
                });
            if wanted {
                area_ids.push(a.id);
                areas.push((a.id, format!("{} / {}", a.location, a.name)));
            }
        }
        for w in &b.areas {
            let wl = w.trim().to_lowercase();
            if !all.iter().any(|a| {
                wl == a.name.to_lowercase()
                    || wl == format!("{}/{}", a.location, a.name).to_lowercase()
            }) {
                return Err(RequestError::UnknownArea(w.clone()).into());
            }
        }
        let (matching, earlier) = self.count_matching(&area_ids, b.from, b.until, now)?;
        let review = RequestReview {
            request_id: crate::trust::hex(&req.request_id),
            office_id: req.office.body.office_id.clone(),
            office_name: req.office.body.name.clone(),
            case_reference: b.case_reference.clone(),
            reason: b.reason.clone(),
            all_areas: b.areas.is_empty(),
            areas,
            from: b.from,
            until: b.until,
            issued_at: b.issued_at,
            expires_at: b.expires_at,
            matching,
            sealed_to_earlier_keys: earlier,
        };
        Ok(Checked {
            req,
            area_ids,
            review,
        })
    }

    fn count_matching(
        &self,
        areas: &[i64],
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<(u64, u64), Error> {
        let mut total = 0u64;
        let mut earlier = 0u64;
        let mut st = self.conn.prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(venue_key_id <> ?4), 0) FROM checkins
             WHERE area_id = ?1 AND checked_in_at < ?3 AND COALESCE(checked_out_at, ?5) > ?2",
        )?;
        for &a in areas {
            let (n, e): (u64, u64) = st
                .query_row(params![a, from, until, self.venue_key.id, now], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            total += n;
            earlier += e;
        }
        Ok((total, earlier))
    }

    /// Verifies a request and says what it asks for. Records that it was seen (or why it
    /// was refused) in the audit log.
    pub fn review_request(&mut self, text: &[u8], now: i64) -> Result<RequestReview, Error> {
        match self.check_request(text, now) {
            Ok(c) => {
                let tx = self.conn.unchecked_transaction()?;
                let new = tx.execute(
                    "INSERT OR IGNORE INTO requests(request_id, office_id, case_reference, status, seen_at)
                     VALUES (?1, ?2, ?3, 'seen', ?4)",
                    params![&c.req.request_id[..], c.review.office_id, c.review.case_reference, now],
                )?;
                if new > 0 {
                    audit::append(
                        &tx,
                        now,
                        "seen",
                        &c.review.request_id,
                        &c.review.office_id,
                        &format!(
                            "case {}; {} check-ins match",
                            c.review.case_reference, c.review.matching
                        ),
                    )?;
                }
                tx.commit()?;
                Ok(c.review)
            }
            Err(e) => {
                // Only what the venue can vouch for goes into the log, which is kept for
                // years: the request id and office of a request whose signature checked
                // out, and of any file only its hash, size and the refusal.
                let signed = self
                    .trust()
                    .ok()
                    .and_then(|t| request::authenticate(text, &t.root_key, now).ok());
                let (id, office) = signed
                    .map(|r| (crate::trust::hex(&r.request_id), r.office.body.office_id))
                    .unwrap_or_default();
                let code = match &e {
                    Error::Request(r) => r.code(),
                    other => other.code(),
                };
                let detail = if text.len() > request::MAX_BYTES {
                    format!("{code}; file larger than {} bytes", request::MAX_BYTES)
                } else {
                    format!(
                        "{code}; file sha256 {}, {} bytes",
                        crate::trust::hex(&crate::crypto::sha256(&[text])),
                        text.len()
                    )
                };
                audit::append(&self.conn, now, "refused", &id, &office, &detail)?;
                Err(e)
            }
        }
    }

    /// Approves a request: opens exactly the matching check-ins with the venue's private
    /// keys (in parallel, a batch at a time) and writes the answer, sealed to the
    /// requesting office and signed by the venue, to `out` (never overwritten). The key
    /// file must hold the key the request names; a check-in whose seals do not open is
    /// flagged in the answer and the rest goes on.
    pub fn approve_request(
        &mut self,
        text: &[u8],
        keys: &VenueSecretKeys,
        out: &Path,
        progress: &(dyn Fn(u64, u64) + Sync),
        now: i64,
    ) -> Result<ApprovalReport, Error> {
        self.check_clock(now)?;
        let c = self.check_request(text, now)?;
        let public = keys.public();
        // Checked before anything is written or marked: an answer signed with another key
        // than the one the request names could never be opened by the office.
        if norm_fp(&public.fingerprint_text()) != norm_fp(&c.req.body.venue) {
            return Err(Error::KeyMismatch {
                got: public.fingerprint_text(),
                want: c.req.body.venue.clone(),
            });
        }
        let key_id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM venue_keys WHERE fingerprint = ?1",
                [&public.fingerprint()[..]],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::KeyMismatch {
                got: public.fingerprint_text(),
                want: self.fingerprint(),
            })?;
        if out.exists() {
            return Err(KeyFileError::Exists(out.to_path_buf()).into());
        }
        let b = &c.req.body;
        let ids = c
            .area_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let filter = format!(
            "c.area_id IN ({ids}) AND c.checked_in_at < ?2 AND COALESCE(c.checked_out_at, ?4) > ?1 AND c.venue_key_id = ?3"
        );
        let total: u64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM checkins c WHERE {filter}"),
            params![b.from, b.until, key_id, now],
            |r| r.get(0),
        )?;
        let fingerprint = public.fingerprint();
        let v2_since: i64 = self
            .meta_get("seal_v2_since")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(i64::MAX);
        let mut flagged = 0u64;
        let write = |file: &mut std::fs::File| -> Result<(), Error> {
            let mut w = AnswerWriter::new(
                BufWriter::new(file),
                &AnswerTo {
                    request_id: c.req.request_id,
                    office_id: &c.req.office.body.office_id,
                    office_key: &c.req.office.encryption_key,
                    venue: &public,
                    records: total,
                    now,
                },
                &keys.sign,
            )?;
            let mut st = self.conn.prepare(&format!(
                "SELECT c.id, l.name, a.name, c.area_id, c.checked_in_at, c.checked_out_at,
                        c.seal_version, c.guest_seal, c.table_seal
                 FROM checkins c JOIN areas a ON a.id = c.area_id JOIN locations l ON l.id = a.location_id
                 WHERE {filter} ORDER BY c.checked_in_at, c.id"
            ))?;
            let mut rows = st.query(params![b.from, b.until, key_id, now])?;
            let mut batch: Vec<RawRow> = Vec::with_capacity(BATCH);
            let mut done = 0u64;
            progress(0, total);
            while let Some(r) = rows.next()? {
                // A value of the wrong type is a damaged row like any other: it is
                // flagged in the answer (its seals do not open), not a reason to stop.
                let blob = |i| r.get::<_, Vec<u8>>(i).unwrap_or_default();
                batch.push(RawRow {
                    id: blob(0),
                    location: r.get(1).unwrap_or_default(),
                    area: r.get(2).unwrap_or_default(),
                    area_id: lenient_int(r, 3)?,
                    checked_in_at: lenient_int(r, 4)?,
                    checked_out_at: r.get(5).unwrap_or(None),
                    version: r.get(6).unwrap_or(0),
                    guest_seal: blob(7),
                    table_seal: blob(8),
                });
                if batch.len() == BATCH {
                    let (n, f) = flush(&mut batch, &mut w, keys, &fingerprint, v2_since)?;
                    done += n;
                    flagged += f;
                    progress(done, total);
                }
            }
            if !batch.is_empty() {
                let (n, f) = flush(&mut batch, &mut w, keys, &fingerprint, v2_since)?;
                done += n;
                flagged += f;
                progress(done, total);
            }
            w.finish()?
                .into_inner()
                .map_err(|e| write_err(out, e.into_error()))?;
            Ok(())
        };
        crate::files::write_new_with(out, write)?;
        let opened = total - flagged;
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO requests(request_id, office_id, case_reference, status, seen_at, decided_at, decision)
             VALUES (?1, ?2, ?3, 'approved', ?4, ?4, ?5)
             ON CONFLICT(request_id) DO UPDATE SET status = 'approved', decided_at = ?4, decision = ?5",
            params![&c.req.request_id[..], c.review.office_id, c.review.case_reference, now, format!("{total} records")],
        )?;
        audit::append(
            &tx,
            now,
            "approved",
            &c.review.request_id,
            &c.review.office_id,
            &format!(
                "case {}; {opened} records sealed to the office; {flagged} damaged check-ins flagged; {} sealed to other keys not opened",
                c.review.case_reference,
                c.review.matching.saturating_sub(total)
            ),
        )?;
        tx.commit()?;
        tracing::info!(event = "request.approved", records = opened, flagged);
        Ok(ApprovalReport {
            records: opened,
            flagged,
            not_opened: c.review.matching.saturating_sub(total),
        })
    }

    /// Declines a request with a reason; it cannot be approved afterwards.
    pub fn decline_request(
        &mut self,
        text: &[u8],
        reason: &str,
        now: i64,
    ) -> Result<RequestReview, Error> {
        let c = self.check_request(text, now)?;
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().any(char::is_control)
            || reason.chars().count() > 1000
        {
            return Err(RequestError::Invalid(
                "give a reason for declining (one line, at most 1000 characters)".into(),
            )
            .into());
        }
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO requests(request_id, office_id, case_reference, status, seen_at, decided_at, decision)
             VALUES (?1, ?2, ?3, 'declined', ?4, ?4, ?5)
             ON CONFLICT(request_id) DO UPDATE SET status = 'declined', decided_at = ?4, decision = ?5",
            params![&c.req.request_id[..], c.review.office_id, c.review.case_reference, now, reason],
        )?;
        audit::append(
            &tx,
            now,
            "declined",
            &c.review.request_id,
            &c.review.office_id,
            reason,
        )?;
        tx.commit()?;
        Ok(c.review)
    }

    pub fn audit_entries(&self) -> Result<Vec<audit::AuditEntry>, Error> {
        Ok(audit::entries(&self.conn)?)
    }

    /// Verifies the audit log's hash chain; returns the number of entries.
    pub fn verify_audit(&self) -> Result<usize, Error> {
        Ok(audit::verify(&self.conn)?)
    }
}

/// Opens a batch of check-ins on all cores and appends them, in order, to the answer;
/// returns (entries written, of which flagged as damaged).
fn flush<W: std::io::Write>(
    batch: &mut Vec<RawRow>,
    w: &mut AnswerWriter<'_, W>,
    keys: &VenueSecretKeys,
    fingerprint: &[u8; 32],
    v2_since: i64,
) -> Result<(u64, u64), Error> {
    let opened: Vec<AnswerEntry> = batch
        .par_iter()
        .map(|r| open_row(r, keys, fingerprint, v2_since))
        .collect();
    let mut flagged = 0;
    for entry in &opened {
        if let AnswerEntry::Damaged(d) = entry {
            flagged += 1;
            tracing::warn!(event = "request.damaged_checkin", record = %crate::textcode::encode_base32(&d.record_id));
        }
        w.push(entry)?;
    }
    let n = batch.len() as u64;
    batch.clear();
    Ok((n, flagged))
}

/// An integer column as stored; a value of another type written by hand is read as what
/// it says, so that the row's seals decide (they do not open: the row is flagged).
fn lenient_int(r: &rusqlite::Row<'_>, i: usize) -> Result<i64, rusqlite::Error> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Integer(n) => n,
        ValueRef::Real(f) => f as i64,
        _ => i64::MIN,
    })
}

struct RawRow {
    id: Vec<u8>,
    location: String,
    area: String,
    area_id: i64,
    checked_in_at: i64,
    checked_out_at: Option<i64>,
    version: u8,
    guest_seal: Vec<u8>,
    table_seal: Vec<u8>,
}

fn open_row(
    r: &RawRow,
    keys: &VenueSecretKeys,
    fingerprint: &[u8; 32],
    v2_since: i64,
) -> AnswerEntry {
    let mut record_id = [0u8; RECORD_ID_LEN];
    let id_ok = r.id.len() == RECORD_ID_LEN;
    if id_ok {
        record_id.copy_from_slice(&r.id);
    }
    let binding = u32::try_from(r.area_id)
        .ok()
        .filter(|_| id_ok)
        .map(|area_id| Binding {
            record_id,
            venue_fingerprint: *fingerprint,
            area_id,
            checked_in_at: r.checked_in_at,
        });
    let opened = binding.ok_or(CryptoError::Malformed).and_then(|b| {
        checkin_record::open(&keys.seal, r.version, &b, &r.guest_seal, &r.table_seal)
    });
    let unbound = r.version == 1 && r.checked_in_at >= v2_since;
    match opened {
        Ok(_) if unbound => AnswerEntry::Damaged(DamagedRecord {
            record_id,
            location: r.location.clone(),
            area: r.area.clone(),
            checked_in_at: r.checked_in_at,
            checked_out_at: r.checked_out_at,
            damage: Damage::Unbound,
        }),
        Ok(o) => AnswerEntry::Record(AnswerRecord {
            record_id: Some(record_id),
            location: r.location.clone(),
            area: r.area.clone(),
            table: o.table,
            checked_in_at: r.checked_in_at,
            checked_out_at: r.checked_out_at,
            method: o.method,
            contact_blob: o.contact_blob,
        }),
        Err(e) => AnswerEntry::Damaged(DamagedRecord {
            record_id,
            location: r.location.clone(),
            area: r.area.clone(),
            checked_in_at: r.checked_in_at,
            checked_out_at: r.checked_out_at,
            damage: if matches!(e, CryptoError::Malformed) {
                Damage::Malformed
            } else {
                Damage::SealDoesNotOpen
            },
        }),
    }
}

fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::KeyFile(KeyFileError::Write {
        path: path.to_path_buf(),
        source,
    })
}
