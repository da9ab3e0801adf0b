//! A guest's contact data: validation when a code is made (and again when a health office
//! opens it), and the fixed-size plaintext that is sealed, so that the length of a sealed
//! blob reveals nothing about the name or address inside.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Size of the padded plaintext sealed inside a guest code.
pub const PLAINTEXT_LEN: usize = 184;
const FORMAT_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ContactData {
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// Field limits in bytes of UTF-8.
pub const LIMITS: [(Field, usize); 6] = [
    (Field::Name, 64),
    (Field::Street, 64),
    (Field::Postcode, 10),
    (Field::City, 48),
    (Field::Phone, 21),
    (Field::Email, 64),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Name,
    Street,
    Postcode,
    City,
    Phone,
    Email,
}

impl Field {
    /// The field's key in the contact data (`name`, `street`, …).
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Street => "street",
            Field::Postcode => "postcode",
            Field::City => "city",
            Field::Phone => "phone",
            Field::Email => "email",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Street => "street",
            Field::Postcode => "postcode",
            Field::City => "city",
            Field::Phone => "phone",
            Field::Email => "e-mail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("the {} is required", .0.label())]
    Missing(Field),
    #[error("the {field} is too long (at most {1} bytes)", field = .0.label())]
    TooLong(Field, usize),
    #[error("the {} contains a control character", .0.label())]
    ControlCharacter(Field),
    #[error("the phone number must have 6 to 20 digits (spaces, '/', '-', '.', '(', ')' and a leading '+' are allowed)")]
    BadPhone,
    #[error("the postcode may contain only letters, digits, spaces and '-'")]
    BadPostcode,
    #[error("the e-mail address is not valid")]
    BadEmail,
    #[error("the contact data is too long in total; please shorten the street or e-mail address")]
    TooLongInTotal,
    #[error("the sealed contact data is malformed")]
    Malformed,
}

impl ContactData {
    /// Trims, normalises (phone to `+` and digits) and validates; returns the cleaned data.
    pub fn validated(&self) -> Result<ContactData, ContactError> {
        let mut c = ContactData {
            name: self.name.trim().to_string(),
            street: self.street.trim().to_string(),
            postcode: self.postcode.trim().to_string(),
            city: self.city.trim().to_string(),
            phone: normalize_phone(self.phone.trim())?,
            email: self.email.trim().to_string(),
        };
        c.check()?;
        c.postcode = c.postcode.to_uppercase();
        Ok(c)
    }

    /// Checks already-normalised data (also used after opening a sealed blob).
    pub fn check(&self) -> Result<(), ContactError> {
        for (field, limit) in LIMITS {
            let v = self.get(field);
            if v.chars().any(|ch| ch.is_control()) {
                return Err(ContactError::ControlCharacter(field));
            }
            if v.is_empty() && field != Field::Email {
                return Err(ContactError::Missing(field));
            }
            if v.len() > limit {
                return Err(ContactError::TooLong(field, limit));
            }
        }
        if !self
            .postcode
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch == ' ' || ch == '-')
        {
            return Err(ContactError::BadPostcode);
        }
        let digits = self.phone.trim_start_matches('+');
        if !digits.chars().all(|ch| ch.is_ascii_digit())
            || !(6..=20).contains(&digits.len())
            || self.phone.matches('+').count() > 1
        {
            return Err(ContactError::BadPhone);
        }
        if !self.email.is_empty() && !valid_email(&self.email) {
            return Err(ContactError::BadEmail);
        }
        if self.encoded_len() > PLAINTEXT_LEN {
            return Err(ContactError::TooLongInTotal);
        }
        Ok(())
    }

    fn get(&self, f: Field) -> &str {
        match f {
            Field::Name => &self.name,
            Field::Street => &self.street,
            Field::Postcode => &self.postcode,
            Field::City => &self.city,
            Field::Phone => &self.phone,
            Field::Email => &self.email,
        }
    }

    fn encoded_len(&self) -> usize {
        1 + LIMITS
            .iter()
            .map(|(f, _)| 1 + self.get(*f).len())
            .sum::<usize>()
    }

    /// The fixed-size plaintext: version, then each field as length byte + UTF-8, then
    /// zero padding to [`PLAINTEXT_LEN`].
    pub fn to_padded(&self) -> Result<Zeroizing<Vec<u8>>, ContactError> {
        self.check()?;
        let mut out = Zeroizing::new(Vec::with_capacity(PLAINTEXT_LEN));
        out.push(FORMAT_VERSION);
        for (f, _) in LIMITS {
            let v = self.get(f).as_bytes();
            out.push(v.len() as u8);
            out.extend_from_slice(v);
        }
        out.resize(PLAINTEXT_LEN, 0);
        Ok(out)
    }

    /// Parses a padded plaintext without validating the content (the health office keeps
    /// invalid data and flags it); see [`ContactData::check`].
    pub fn from_padded(bytes: &[u8]) -> Result<ContactData, ContactError> {
        if bytes.len() != PLAINTEXT_LEN || bytes[0] != FORMAT_VERSION {
            return Err(ContactError::Malformed);
        }
        let mut pos = 1;
        let mut fields: Vec<String> = Vec::with_capacity(6);
        for _ in LIMITS {
            let len = *bytes.get(pos).ok_or(ContactError::Malformed)? as usize;
            let v = bytes
                .get(pos + 1..pos + 1 + len)
                .ok_or(ContactError::Malformed)?;
            fields.push(String::from_utf8(v.to_vec()).map_err(|_| ContactError::Malformed)?);
            pos += 1 + len;
        }
        if bytes[pos..].iter().any(|b| *b != 0) {
            return Err(ContactError::Malformed);
        }
        let mut it = fields.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Ok(ContactData {
            name: next(),
            street: next(),
            postcode: next(),
            city: next(),
            phone: next(),
            email: next(),
        })
    }
}

fn normalize_phone(raw: &str) -> Result<String, ContactError> {
    if raw.is_empty() {
        return Err(ContactError::Missing(Field::Phone));
    }
    if raw.chars().any(|c| c.is_control()) {
        return Err(ContactError::ControlCharacter(Field::Phone));
    }
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '/' | '-' | '(' | ')' | '.' => {}
            _ => return Err(ContactError::BadPhone),
        }
    }
    Ok(out)
}

fn valid_email(e: &str) -> bool {
    let mut parts = e.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> ContactData {
        ContactData {
            name: "Jürgen Weiß".into(),
            street: "Hauptstraße 1".into(),
            postcode: "10115".into(),
            city: "Berlin".into(),
            phone: "+49 (30) 1234-567".into(),
            email: "jw@example.de".into(),
        }
    }

    #[test]
    fn validates_and_normalises() {
        let c = sample().validated().unwrap();
        assert_eq!(c.phone, "+49301234567");
        let padded = c.to_padded().unwrap();
        assert_eq!(padded.len(), PLAINTEXT_LEN);
        assert_eq!(ContactData::from_padded(&padded).unwrap(), c);
    }

    #[test]
    fn refuses_bad_input() {
        type Change = fn(&mut ContactData);
        let cases: Vec<(Change, ContactError)> = vec![
            (|c| c.name = " ".into(), ContactError::Missing(Field::Name)),
            (
                |c| c.city = "Ber\u{7}lin".into(),
                ContactError::ControlCharacter(Field::City),
            ),
            (
                |c| c.name = "a\nb".into(),
                ContactError::ControlCharacter(Field::Name),
            ),
            (|c| c.phone = "12345".into(), ContactError::BadPhone),
            (|c| c.phone = "0301234x".into(), ContactError::BadPhone),
            (|c| c.phone = "".into(), ContactError::Missing(Field::Phone)),
            (|c| c.email = "no-at-sign".into(), ContactError::BadEmail),
            (|c| c.postcode = "1011;5".into(), ContactError::BadPostcode),
            (
                |c| c.name = "x".repeat(65),
                ContactError::TooLong(Field::Name, 64),
            ),
            (
                |c| {
                    c.street = "s".repeat(64);
                    c.email = format!("{}@example.de", "e".repeat(52));
                    c.name = "n".repeat(64);
                    c.city = "c".repeat(48);
                },
                ContactError::TooLongInTotal,
            ),
        ];
        for (change, want) in cases {
            let mut c = sample();
            change(&mut c);
            assert_eq!(c.validated(), Err(want));
        }
    }

    #[test]
    fn malformed_padding_is_refused() {
        let mut p = sample().validated().unwrap().to_padded().unwrap();
        p[PLAINTEXT_LEN - 1] = 1;
        assert_eq!(ContactData::from_padded(&p), Err(ContactError::Malformed));
        assert_eq!(
            ContactData::from_padded(&p[..10]),
            Err(ContactError::Malformed)
        );
    }
}
