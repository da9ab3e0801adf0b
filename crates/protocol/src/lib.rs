//! Every format of docs/protocol.md, and nothing else: the code text and its keyboard
//! layouts, guest codes and their contact data, area and table codes, check-in records,
//! fingerprints, key files, the trust file, office certificates, data requests, answers,
//! the audit chain and the recovery sheet's parts, with the crypto wrappers they use. No
//! database, no devices, no PDF: the floors above build on it, and the fuzz targets test
//! it alone.
#![forbid(unsafe_code)]

/// The revision of docs/protocol.md this crate implements; it goes up with every change
/// of a format's version there (the history is in the document).
pub const PROTOCOL_VERSION: u32 = 3;

pub mod answer;
pub mod audit_chain;
pub mod authority_keys;
pub mod certificate;
pub mod checkin_record;
pub mod contact;
pub mod contact_pack;
pub mod crypto;
pub mod encoding;
pub mod files;
pub mod fingerprint;
pub mod guest_code;
pub mod join_file;
pub mod key_file;
pub mod keyboard_layout;
pub mod limits;
pub mod office_keys;
pub mod pseudonym;
pub mod recovery_parts;
pub mod request;
pub mod textcode;
pub mod time;
pub mod trust;
pub mod venue_code;
pub mod venue_keys;
