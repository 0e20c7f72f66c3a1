//! The BSN (burgerservicenummer): nine digits passing the 11-check. Never put in a URL or a log.

use std::fmt;

/// A valid BSN. Only [`Bsn::parse`] makes one, so holding a `Bsn` means the 11-check passed.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bsn(String);

/// Why a text is not a BSN (Dutch, shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BsnError {
    #[error("het BSN moet uit 9 cijfers bestaan")]
    Format,
    #[error("dit is geen geldig BSN (de elfproef klopt niet)")]
    ElevenCheck,
}

impl Bsn {
    /// Accepts nine digits (spaces and dots, as people type them, are ignored) that pass the
    /// 11-check: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11 and not 0.
    pub fn parse(input: &str) -> Result<Self, BsnError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect();
        if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(BsnError::Format);
        }
        let sum: i64 = digits
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let d = i64::from(b - b'0');
                if i == 8 {
                    -d
                } else {
                    d * (9 - i as i64)
                }
            })
            .sum();
        if sum == 0 || sum % 11 != 0 {
            return Err(BsnError::ElevenCheck);
        }
        Ok(Self(digits))
    }

    /// Shows only the last three digits, for headers and screens where the full number is not needed.
    pub fn masked(&self) -> String {
        format!("******{}", &self.0[6..])
    }
}

impl AsRef<str> for Bsn {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Bsn {
    type Error = BsnError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Bsn> for String {
    fn from(value: Bsn) -> Self {
        value.0
    }
}

/// Debug never prints the number, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_bsns_pass() {
        for bsn in ["111222333", "123456782", "999990019"] {
            assert!(Bsn::parse(bsn).is_ok(), "{bsn}");
        }
        assert_eq!(Bsn::parse("1234 56 782").unwrap().as_ref(), "123456782");
    }

    #[test]
    fn wrong_length_letters_and_failed_checks_are_refused() {
        assert_eq!(Bsn::parse("12345678"), Err(BsnError::Format));
        assert_eq!(Bsn::parse("12345678a"), Err(BsnError::Format));
        assert_eq!(Bsn::parse("1234567890"), Err(BsnError::Format));
        assert_eq!(Bsn::parse("123456789"), Err(BsnError::ElevenCheck));
        assert_eq!(Bsn::parse("000000000"), Err(BsnError::ElevenCheck));
    }

    #[test]
    fn debug_and_mask_do_not_reveal_the_number() {
        let bsn = Bsn::parse("123456782").unwrap();
        assert!(!format!("{bsn:?}").contains("12345"));
        assert_eq!(bsn.masked(), "******782");
    }

    proptest! {
        #[test]
        fn changing_one_digit_of_a_valid_bsn_breaks_the_check(pos in 0usize..9, delta in 1u8..10) {
            let valid = "123456782".as_bytes().to_vec();
            let mut changed = valid.clone();
            changed[pos] = b'0' + (valid[pos] - b'0' + delta) % 10;
            let text = String::from_utf8(changed).unwrap();
            prop_assert!(Bsn::parse(&text).is_err());
        }
    }
}
