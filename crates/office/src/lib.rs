//! The health authority's and health offices' side: the authority's folder and the
//! offices it certifies or withdraws, the office's desk that signs requests and opens
//! answers, and the contact list it exports.
#![forbid(unsafe_code)]

pub mod authority;
pub mod desk;
pub mod export;
