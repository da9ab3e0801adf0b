//! Times as Tresen shows them: local time, to the minute.

use chrono::{DateTime, Local};

/// `YYYY-MM-DD HH:MM` in local time (the number itself if it is no valid time).
pub fn format_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// The time now, in Unix seconds: read by the front ends only and passed in everywhere
/// below them, so every rule can be tested at any time.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
