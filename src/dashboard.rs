//! The counter's dashboard: what the venue looks like right now — present guests per area,
//! today's arrivals, and the warnings the counter must show. Assembled once here; the
//! window words the warning codes in its language, the `tresen status` command prints them.

use serde::Serialize;
use tresen_venue::{BackupState, ClockState, SetupStep, Venue};

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaCount {
    pub id: i64,
    pub location: String,
    pub name: String,
    pub present: u32,
    pub tables: Vec<u16>,
}

/// Something the counter shows until it is dealt with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `backup-no-copy`, `backup-not-verified`, `backup-same-medium`, `backup-overdue`,
    /// `clock-suspect` or `secret-in-file`.
    pub code: &'static str,
    /// When the state began (the last verification, the latest trusted time).
    pub since: Option<i64>,
}

/// Every warning code the dashboard can show (the window has text for each).
pub const WARNING_CODES: [&str; 6] = [
    "backup-no-copy",
    "backup-not-verified",
    "backup-same-medium",
    "backup-overdue",
    "clock-suspect",
    "secret-in-file",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    pub setup_step: SetupStep,
    pub venue: String,
    pub fingerprint: String,
    pub present: u32,
    pub areas: Vec<AreaCount>,
    /// (start of hour, check-ins) for today's business day.
    pub arrivals: Vec<(i64, u32)>,
    pub warnings: Vec<Warning>,
    /// Where a counter of a venue on a server stands with it (None: the venue's own file).
    pub sync: Option<tresen_venue::store::SyncState>,
}

/// The warnings about the key backup, the clock and the local secret. `demo` leaves out
/// the one about the secret in a file, which the throw-away demo venue uses on purpose.
pub fn warnings(venue: &mut Venue, demo: bool, now: i64) -> Result<Vec<Warning>, Error> {
    let mut out = Vec::new();
    // A counter of a venue on a server has no key file; its backup is the operator's.
    let counter = venue.server_role() == Some(tresen_venue::store::server::ServerRole::Counter);
    let backup = match venue.backup_status(now)?.state {
        _ if counter => None,
        BackupState::NoCopy => Some(("backup-no-copy", None)),
        BackupState::NotVerified => Some(("backup-not-verified", None)),
        BackupState::SameMedium => Some(("backup-same-medium", None)),
        BackupState::Overdue { verified_at } => Some(("backup-overdue", Some(verified_at))),
        BackupState::Ok => None,
    };
    out.extend(backup.map(|(code, since)| Warning { code, since }));
    match venue.clock_state(now)? {
        ClockState::Ok => {}
        ClockState::Behind { latest } | ClockState::Ahead { latest } => out.push(Warning {
            code: "clock-suspect",
            since: Some(latest),
        }),
    }
    if venue.secret_warning().is_some() && !demo {
        out.push(Warning {
            code: "secret-in-file",
            since: None,
        });
    }
    Ok(out)
}

/// The dashboard now.
pub fn dashboard(venue: &mut Venue, demo: bool, now: i64) -> Result<Dashboard, Error> {
    let mut areas = Vec::new();
    let mut present = 0;
    for (a, count) in venue.present(now)? {
        present += count;
        areas.push(AreaCount {
            id: a.id,
            location: a.location,
            name: a.name,
            present: count,
            tables: a.tables,
        });
    }
    Ok(Dashboard {
        setup_step: venue.setup_step()?,
        venue: venue.venue_name()?,
        fingerprint: venue.fingerprint(),
        present,
        areas,
        arrivals: venue.arrivals_by_hour(now)?,
        warnings: warnings(venue, demo, now)?,
        sync: venue.server_role().map(|_| venue.sync_state()),
    })
}
