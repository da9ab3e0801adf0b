//! Printed documents as PDF (posters, table cards, fob cards, the key recovery sheet) and
//! reading the recovery sheet back from scans or photos; the guest's slip for a receipt
//! printer (ESC/POS).
#![forbid(unsafe_code)]

pub mod documents;
pub mod pdf;
pub mod receipt_slip;
