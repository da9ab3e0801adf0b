//! Printed documents as PDF (posters, table cards, fob cards, the key recovery sheet) and
//! reading the recovery sheet back from scans or photos.
#![forbid(unsafe_code)]

pub mod documents;
pub mod pdf;
