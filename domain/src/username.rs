//! Login names.

/// A username: 3-64 characters of lowercase letters, digits, `.`, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim().to_lowercase();
        if !(3..=64).contains(&name.chars().count()) {
            return Err("een gebruikersnaam heeft 3 tot 64 tekens".into());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        {
            return Err("een gebruikersnaam bestaat uit letters, cijfers, '.', '-' en '_'".into());
        }
        Ok(Self(name))
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_bounded() {
        assert_eq!(Username::parse(" Anna.Vos ").unwrap().as_ref(), "anna.vos");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("anna vos").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }
}
