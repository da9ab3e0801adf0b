//! Approving a data request with the key file: exactly the matching check-ins are opened
//! (in parallel, a batch at a time, streaming from the store) into the answer, sealed to
//! the requesting office and signed by the venue. A check-in whose seals do not open is
//! flagged in the answer and the rest goes on.

use std::io::BufWriter;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use tresen_protocol::answer::{
    AnswerEntry, AnswerRecord, AnswerTo, AnswerWriter, Damage, DamagedRecord,
};
use tresen_protocol::checkin_record::{self, Binding, RECORD_ID_LEN};
use tresen_protocol::crypto::CryptoError;
use tresen_protocol::fingerprint::normalize;
use tresen_protocol::key_file::KeyFileError;
use tresen_protocol::venue_keys::VenueSecretKeys;

use crate::store::{AuditNote, Decision, Matching, MatchingRow, Meta};
use crate::{Error, Venue};

const BATCH: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalReport {
    /// Check-ins opened and sealed to the office.
    pub records: u64,
    /// Check-ins whose seals did not open: listed in the answer, flagged.
    pub flagged: u64,
    /// Matching check-ins sealed to another venue key than the key file's.
    pub not_opened: u64,
}

impl Venue {
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
        if normalize(&public.fingerprint_text()) != normalize(&c.req.body.venue) {
            return Err(Error::KeyMismatch {
                got: public.fingerprint_text(),
                want: c.req.body.venue.clone(),
            });
        }
        let key_id = self
            .key_rows()?
            .into_iter()
            .find(|(_, k)| *k == public)
            .map(|(id, _)| id)
            .ok_or_else(|| Error::KeyMismatch {
                got: public.fingerprint_text(),
                want: self.fingerprint(),
            })?;
        if out.exists() {
            return Err(KeyFileError::Exists(out.to_path_buf()).into());
        }
        let b = &c.req.body;
        let matching = Matching {
            areas: &c.area_ids,
            from: b.from,
            until: b.until,
            now,
        };
        let total = self.store.count_matching_for_key(&matching, key_id)?;
        let fingerprint = public.fingerprint();
        let v2_since: i64 = self
            .store
            .meta(Meta::SealV2Since)?
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
            let mut batch: Vec<MatchingRow> = Vec::with_capacity(BATCH);
            let mut done = 0u64;
            progress(0, total);
            self.store
                .for_each_matching(&matching, key_id, &mut |row| {
                    batch.push(row);
                    if batch.len() == BATCH {
                        let (n, f) = flush(&mut batch, &mut w, keys, &fingerprint, v2_since)?;
                        done += n;
                        flagged += f;
                        progress(done, total);
                    }
                    Ok(())
                })?;
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
        tresen_protocol::files::write_new_with(out, write)?;
        let opened = total - flagged;
        let detail = crate::audit::detail([
            ("case", c.review.case_reference.clone().into()),
            ("records", opened.into()),
            ("flagged", flagged.into()),
            ("other_keys", c.review.matching.saturating_sub(total).into()),
        ]);
        self.store.decide_request(
            &Decision {
                request_id: &c.req.request_id,
                office_id: &c.review.office_id,
                case_reference: &c.review.case_reference,
                status: "approved",
                decision: &format!("{total} records"),
                now,
            },
            &AuditNote {
                at: now,
                event: "approved",
                request_id: &c.review.request_id,
                office: &c.review.office_id,
                detail: &detail,
            },
        )?;
        tracing::info!(event = "request.approved", records = opened, flagged);
        Ok(ApprovalReport {
            records: opened,
            flagged,
            not_opened: c.review.matching.saturating_sub(total),
        })
    }
}

/// Opens a batch of check-ins on all cores and appends them, in order, to the answer;
/// returns (entries written, of which flagged as damaged).
fn flush<W: std::io::Write>(
    batch: &mut Vec<MatchingRow>,
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
            tracing::warn!(event = "request.damaged_checkin", record = %tresen_protocol::textcode::encode_base32(&d.record_id));
        }
        w.push(entry)?;
    }
    let n = batch.len() as u64;
    batch.clear();
    Ok((n, flagged))
}

fn open_row(
    r: &MatchingRow,
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
        checkin_record::open(&keys.seal, r.seal_version, &b, &r.guest_seal, &r.table_seal)
    });
    let unbound = r.seal_version == 1 && r.checked_in_at >= v2_since;
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
