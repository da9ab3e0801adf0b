//! Area and table codes: printed on posters and table cards, scanned by staff to switch
//! the counter's area or assign a table. They name the venue by its key fingerprint, the
//! area, the table and the code's generation, so a replaced code is recognised and
//! refused. See docs/protocol.md, "Area and table code".

use crate::textcode::{self, CodeTextError, Kind};

pub const VERSION: u8 = 1;
pub const VENUE_TAG_LEN: usize = 8;
const BODY_LEN: usize = VENUE_TAG_LEN + 4 + 2 + 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueCode {
    /// The first 8 bytes of the venue key fingerprint.
    pub venue_tag: [u8; VENUE_TAG_LEN],
    pub area_id: u32,
    /// 0 for the area itself, otherwise the table number.
    pub table: u16,
    pub generation: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueCodeError {
    #[error(transparent)]
    Text(#[from] CodeTextError),
    #[error("this is a guest code, not a table or area code")]
    NotAVenueCode,
    #[error("the table or area code is malformed")]
    Malformed,
}

impl VenueCode {
    pub fn to_text(&self) -> String {
        let mut body = Vec::with_capacity(BODY_LEN);
        body.extend_from_slice(&self.venue_tag);
        body.extend_from_slice(&self.area_id.to_be_bytes());
        body.extend_from_slice(&self.table.to_be_bytes());
        body.extend_from_slice(&self.generation.to_be_bytes());
        textcode::frame(Kind::Venue, VERSION, &body)
    }

    pub fn parse(text: &str) -> Result<VenueCode, VenueCodeError> {
        let frame = textcode::unframe(text)?;
        if frame.kind != Kind::Venue {
            return Err(VenueCodeError::NotAVenueCode);
        }
        Self::from_body(&frame.body)
    }

    pub fn from_body(b: &[u8]) -> Result<VenueCode, VenueCodeError> {
        if b.len() != BODY_LEN {
            return Err(VenueCodeError::Malformed);
        }
        let mut venue_tag = [0u8; VENUE_TAG_LEN];
        venue_tag.copy_from_slice(&b[..8]);
        Ok(VenueCode {
            venue_tag,
            area_id: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            table: u16::from_be_bytes([b[12], b[13]]),
            generation: u16::from_be_bytes([b[14], b[15]]),
        })
    }
}
