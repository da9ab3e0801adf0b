//! The venue's domain and its store: locations, areas and tables, check-in and check-out,
//! retention, the key file's copies, trust updates, data requests and their approval, the
//! audit log, the setup's progress and the operator PIN. Knows nothing of Tauri, devices
//! or PDF; all SQL lives in the store.
#![forbid(unsafe_code)]

mod approval;
mod areas;
pub mod audit;
mod checkin;
mod clock;
mod counters;
mod error;
mod key_backup;
pub mod local_secret;
pub mod media;
mod model;
mod operator_pin;
mod requests;
mod retention;
pub mod scan_session;
pub mod settings;
pub mod store;
mod venue;
mod wizard;

pub use approval::ApprovalReport;
pub use clock::ClockState;
pub use counters::JoinFileMade;
pub use error::{Error, Params, Refusal};
pub use key_backup::{BackupOutcome, KeyFilePlace};
pub use model::*;
pub use requests::RequestReview;
pub use venue::{default_data_dir, parse_table_numbers, Venue};
pub use wizard::SetupStep;
