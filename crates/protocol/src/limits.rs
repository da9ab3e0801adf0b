//! Limits the formats share.

/// The longest name of a venue, location, area or office, in characters.
pub const MAX_NAME_CHARS: usize = 120;
