//! Venue settings with their defaults and allowed ranges.

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
}

impl Settings {
    /// The settings as stored; unknown keys and values that are not numbers are ignored
    /// (the defaults stay).
    pub fn from_stored(pairs: &[(String, String)]) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            if let (Ok(n), Some(slot)) = (v.parse::<u32>(), s.slot(k)) {
                *slot = n;
            }
        }
        s
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

    /// Checks a new value of a setting; gives the setting's name and the number to store.
    pub fn validate(key: &str, value: &str) -> Result<(&'static str, u32), SettingsError> {
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
        Ok((name, n))
    }

    /// Takes a validated value.
    pub fn apply(&mut self, name: &str, n: u32) {
        if let Some(slot) = self.slot(name) {
            *slot = n;
        }
    }

    pub fn get(&self, key: &str) -> Option<u32> {
        let mut copy = self.clone();
        copy.slot(key).map(|v| *v)
    }
}

impl crate::Venue {
    /// Changes a venue setting; every change is written to the audit log (a lowered
    /// retention period deletes data at the next purge).
    pub fn set_setting(&mut self, key: &str, value: &str, now: i64) -> Result<(), crate::Error> {
        let (name, n) = Settings::validate(key, value)?;
        let old = self.settings.get(name);
        let detail = crate::audit::detail([
            ("setting", name.into()),
            ("old", old.into()),
            ("new", n.into()),
        ]);
        let note = crate::store::AuditNote::change(now, "setting-changed", &detail);
        self.store
            .set_setting(name, &n.to_string(), (old != Some(n)).then_some(&note))?;
        self.settings.apply(name, n);
        Ok(())
    }
}
