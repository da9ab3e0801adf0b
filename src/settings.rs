//! Venue settings with their defaults and allowed ranges.

use rusqlite::Connection;

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    /// Days check-ins are kept (legal retention), 1..=365.
    pub retention_days: u32,
    /// Default maximum stay of a new area, in minutes.
    pub default_max_stay_minutes: u32,
    /// Local hour at which a business day ends (0..=23): a night at the bar is one day.
    pub business_day_end_hour: u32,
    /// A second read of the same code within this many seconds is ignored.
    pub double_read_seconds: u32,
    /// Days after which a verified key backup must be verified again.
    pub backup_interval_days: u32,
    /// Days the audit log keeps its entries (a checkpoint keeps the chain verifiable).
    pub audit_retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retention_days: 28,
            default_max_stay_minutes: 240,
            business_day_end_hour: 5,
            double_read_seconds: 3,
            backup_interval_days: 90,
            audit_retention_days: 730,
        }
    }
}

/// (name, min, max, description)
pub const KEYS: &[(&str, u32, u32, &str)] = &[
    (
        "retention-days",
        1,
        365,
        "days check-ins are kept before deletion",
    ),
    (
        "default-max-stay-minutes",
        5,
        24 * 60,
        "maximum stay of new areas, in minutes",
    ),
    (
        "business-day-end-hour",
        0,
        23,
        "local hour at which a business day ends",
    ),
    (
        "double-read-seconds",
        0,
        60,
        "seconds within which a repeated scan is ignored",
    ),
    (
        "backup-interval-days",
        1,
        3650,
        "days after which the key backup must be verified again",
    ),
    (
        "audit-retention-days",
        365,
        3650,
        "days the audit log of data requests keeps its entries",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown setting '{0}'; known settings: {1}")]
    Unknown(String, String),
    #[error("{name} must be a whole number from {min} to {max}")]
    OutOfRange { name: String, min: u32, max: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Settings {
    pub fn load(conn: &Connection) -> Result<Settings, StoreError> {
        let mut s = Settings::default();
        let mut stmt = conn
            .prepare("SELECT key, value FROM settings")
            .map_err(StoreError::from)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(StoreError::from)?;
        for row in rows {
            let (k, v) = row.map_err(StoreError::from)?;
            if let Ok(n) = v.parse::<u32>() {
                if let Some(slot) = s.slot(&k) {
                    *slot = n;
                }
            }
        }
        Ok(s)
    }

    fn slot(&mut self, key: &str) -> Option<&mut u32> {
        Some(match key {
            "retention-days" => &mut self.retention_days,
            "default-max-stay-minutes" => &mut self.default_max_stay_minutes,
            "business-day-end-hour" => &mut self.business_day_end_hour,
            "double-read-seconds" => &mut self.double_read_seconds,
            "backup-interval-days" => &mut self.backup_interval_days,
            "audit-retention-days" => &mut self.audit_retention_days,
            _ => return None,
        })
    }

    /// Validates and stores one setting.
    pub fn set(&mut self, conn: &Connection, key: &str, value: &str) -> Result<(), SettingsError> {
        let Some(&(name, min, max, _)) = KEYS.iter().find(|(k, ..)| *k == key) else {
            let known = KEYS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ");
            return Err(SettingsError::Unknown(key.to_string(), known));
        };
        let n: u32 = value
            .trim()
            .parse()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(SettingsError::OutOfRange {
                name: name.to_string(),
                min,
                max,
            })?;
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (name, n.to_string()),
        )
        .map_err(StoreError::from)?;
        if let Some(slot) = self.slot(name) {
            *slot = n;
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<u32> {
        let mut copy = self.clone();
        copy.slot(key).map(|v| *v)
    }
}
