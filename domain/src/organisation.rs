//! Kinds of organisation in the network (DESIGN section 4).

crate::string_enum! {
    /// What kind of care provider an organisation is.
    OrganisationKind {
        Verloskundigenpraktijk => "verloskundigenpraktijk",
        Ziekenhuis => "ziekenhuis",
        Kraamzorg => "kraamzorg",
        Echocentrum => "echocentrum",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_only_their_keys() {
        assert_eq!(
            OrganisationKind::parse("ziekenhuis"),
            Some(OrganisationKind::Ziekenhuis)
        );
        assert_eq!(OrganisationKind::parse("huisarts"), None);
        assert_eq!(OrganisationKind::ALL.len(), 4);
    }
}
