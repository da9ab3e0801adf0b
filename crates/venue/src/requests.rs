//! A health office's data request at the venue: verified in full before anything of it
//! is shown as trustworthy (signature, certification, listing in the current trust file,
//! this venue, replay, window, areas), reviewed, or declined. Every request seen, refused
//! or declined goes to the audit log.

use serde::Serialize;
use tresen_protocol::fingerprint::normalize;
use tresen_protocol::request::{self, RequestError, SignedRequest};

use crate::store::{AuditNote, Decision, Matching};
use crate::{Error, Venue};

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

pub(crate) struct Checked {
    pub req: SignedRequest,
    pub area_ids: Vec<i64>,
    pub review: RequestReview,
}

impl Venue {
    pub(crate) fn check_request(&self, text: &[u8], now: i64) -> Result<Checked, Error> {
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
        let ours = self
            .key_rows()?
            .iter()
            .any(|(_, k)| normalize(&k.fingerprint_text()) == normalize(&b.venue));
        if !ours {
            return Err(RequestError::OtherVenue(b.venue.clone()).into());
        }
        if let Some((status, at)) = self.store.request_decided(&req.request_id)? {
            return Err(RequestError::Replayed { status, at }.into());
        }
        if b.until > now + 60 {
            return Err(RequestError::WindowInFuture(b.until).into());
        }
        let oldest = now - i64::from(self.settings.retention_days) * 86_400;
        if b.from < oldest {
            return Err(RequestError::WindowBeforeRetention(oldest).into());
        }
        let all = self.areas()?;
        let mut area_ids = Vec::new();
        let mut areas = Vec::new();
        for a in &all {
            if tresen_protocol::request::names_area(&b.areas, &a.location, &a.name) {
                area_ids.push(a.id);
                areas.push((a.id, format!("{} / {}", a.location, a.name)));
            }
        }
        for w in &b.areas {
            if !all
                .iter()
                .any(|a| tresen_protocol::request::entry_names_area(w, &a.location, &a.name))
            {
                return Err(RequestError::UnknownArea(w.clone()).into());
            }
        }
        let (matching, earlier) = self.store.count_matching(
            &Matching {
                areas: &area_ids,
                from: b.from,
                until: b.until,
                now,
            },
            self.venue_key.id,
        )?;
        let review = RequestReview {
            request_id: tresen_protocol::encoding::hex(&req.request_id),
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

    /// Verifies a request and says what it asks for. Records that it was seen (or why it
    /// was refused) in the audit log.
    pub fn review_request(&mut self, text: &[u8], now: i64) -> Result<RequestReview, Error> {
        match self.check_request(text, now) {
            Ok(c) => {
                let detail = crate::audit::detail([
                    ("case", c.review.case_reference.clone().into()),
                    ("matching", c.review.matching.into()),
                ]);
                self.store.request_seen(
                    &c.req.request_id,
                    &c.review.office_id,
                    &c.review.case_reference,
                    &AuditNote {
                        at: now,
                        event: "seen",
                        request_id: &c.review.request_id,
                        office: &c.review.office_id,
                        detail: &detail,
                    },
                )?;
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
                    .map(|r| {
                        (
                            tresen_protocol::encoding::hex(&r.request_id),
                            r.office.body.office_id,
                        )
                    })
                    .unwrap_or_default();
                let code = match &e {
                    Error::Request(r) => r.code(),
                    other => other.code(),
                };
                // Of the refusal's values only its times: no text the file carries.
                let mut detail = e.params();
                detail.retain(|k, _| k.ends_with("_at"));
                detail.insert("refusal".into(), code.into());
                if text.len() > request::MAX_BYTES {
                    detail.insert("bytes_over".into(), request::MAX_BYTES.into());
                } else {
                    let hash = tresen_protocol::crypto::sha256(&[text]);
                    detail.insert(
                        "sha256".into(),
                        tresen_protocol::encoding::hex(&hash).into(),
                    );
                    detail.insert("bytes".into(), text.len().into());
                }
                let detail = serde_json::Value::Object(detail).to_string();
                self.store.append_audit(&AuditNote {
                    at: now,
                    event: "refused",
                    request_id: &id,
                    office: &office,
                    detail: &detail,
                })?;
                Err(e)
            }
        }
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
        self.store.decide_request(
            &Decision {
                request_id: &c.req.request_id,
                office_id: &c.review.office_id,
                case_reference: &c.review.case_reference,
                status: "declined",
                decision: reason,
                now,
            },
            &AuditNote {
                at: now,
                event: "declined",
                request_id: &c.review.request_id,
                office: &c.review.office_id,
                detail: &crate::audit::detail([
                    ("case", c.review.case_reference.clone().into()),
                    ("reason", reason.into()),
                ]),
            },
        )?;
        Ok(c.review)
    }
}
