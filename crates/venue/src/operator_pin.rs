//! The operator PIN that keeps counter staff out of the operator screens. It is stored as
//! an Argon2id hash; wrong PINs are counted in the database so that a restart does not
//! reset the pause after repeated failures.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::store::{AuditNote, Meta, StoreError};
use crate::{Error, Venue};

pub const MIN_PIN_DIGITS: usize = 6;
pub const MAX_PIN_DIGITS: usize = 12;
/// Wrong PINs allowed before the first pause.
const FREE_ATTEMPTS: u32 = 5;

fn check_pin_rules(pin: &str) -> Result<(), Error> {
    let digits: Vec<u8> = pin.bytes().collect();
    if digits.len() < MIN_PIN_DIGITS || digits.len() > MAX_PIN_DIGITS {
        return Err(Error::WeakPin(format!(
            "use {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits"
        )));
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(Error::WeakPin("use digits only".into()));
    }
    let steps: Vec<i16> = digits
        .windows(2)
        .map(|w| i16::from(w[1]) - i16::from(w[0]))
        .collect();
    if steps.iter().all(|&d| d == steps[0]) && steps[0].abs() <= 1 {
        return Err(Error::WeakPin(
            "repeated or consecutive digits are guessed first".into(),
        ));
    }
    Ok(())
}

/// Pause after `failures` wrong PINs: none for the first few, then doubling from 30 s to
/// an hour.
fn pause_secs(failures: u32) -> i64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    (30i64 << (failures - FREE_ATTEMPTS).min(7)).min(3600)
}

impl Venue {
    pub fn has_operator_pin(&self) -> Result<bool, Error> {
        Ok(self.store.meta(Meta::OperatorPin)?.is_some())
    }

    /// Sets the first operator PIN (setup). Once one is set it is changed only with
    /// [`Venue::change_operator_pin`], which needs the old one.
    pub fn set_operator_pin(&mut self, pin: &str, now: i64) -> Result<(), Error> {
        if self.has_operator_pin()? {
            return Err(Error::PinExists);
        }
        self.store_pin(pin, now, "pin-set")
    }

    /// Changes the operator PIN: the old PIN is checked first (and counts as an attempt).
    pub fn change_operator_pin(&mut self, old: &str, new: &str, now: i64) -> Result<(), Error> {
        check_pin_rules(new)?;
        self.check_operator_pin(old, now)?;
        self.store_pin(new, now, "pin-changed")
    }

    fn store_pin(&mut self, pin: &str, now: i64, event: &str) -> Result<(), Error> {
        check_pin_rules(pin)?;
        let salt = SaltString::encode_b64(&tresen_protocol::crypto::random_bytes::<16>())
            .map_err(|e| Error::WeakPin(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| Error::WeakPin(e.to_string()))?
            .to_string();
        self.store.set_metas(
            &[(Meta::OperatorPin, &hash), (Meta::OperatorPinFailures, "0")],
            Some(&AuditNote::change(now, event, "{}")),
        )?;
        Ok(())
    }

    /// Checks the operator PIN; after repeated failures every attempt is refused for a
    /// while, right or wrong.
    pub fn check_operator_pin(&mut self, pin: &str, now: i64) -> Result<(), Error> {
        let stored = self.store.meta(Meta::OperatorPin)?.ok_or(Error::NoPin)?;
        let failures: u32 = self
            .store
            .meta(Meta::OperatorPinFailures)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let last: i64 = self
            .store
            .meta(Meta::OperatorPinFailedAt)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let wait = last + pause_secs(failures) - now;
        if wait > 0 {
            return Err(Error::PinLocked { seconds: wait });
        }
        let hash = PasswordHash::new(&stored)
            .map_err(|_| StoreError::Corrupt("the stored operator PIN is damaged".into()))?;
        if Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok()
        {
            self.store.set_meta(Meta::OperatorPinFailures, "0")?;
            return Ok(());
        }
        let failures = failures + 1;
        self.store.set_metas(
            &[
                (Meta::OperatorPinFailures, &failures.to_string()),
                (Meta::OperatorPinFailedAt, &now.to_string()),
            ],
            None,
        )?;
        tracing::warn!(event = "operator.pin_wrong", failures);
        if pause_secs(failures) > 0 {
            return Err(Error::PinLocked {
                seconds: pause_secs(failures),
            });
        }
        Err(Error::WrongPin {
            attempts_left: FREE_ATTEMPTS - failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_pins_are_refused() {
        for pin in [
            "",
            "12345",
            "123456",
            "654321",
            "000000",
            "12a456",
            "1234567890123",
        ] {
            assert!(check_pin_rules(pin).is_err(), "{pin}");
        }
        for pin in ["470815", "135790", "2468013579"] {
            assert!(check_pin_rules(pin).is_ok(), "{pin}");
        }
    }

    #[test]
    fn pauses_grow_after_the_free_attempts() {
        assert_eq!(pause_secs(4), 0);
        assert_eq!(pause_secs(5), 30);
        assert_eq!(pause_secs(6), 60);
        assert_eq!(pause_secs(40), 3600);
    }
}
