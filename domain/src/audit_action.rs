//! The keys of the access log (DESIGN section 7).

crate::string_enum! {
    /// What an audit event records.
    AuditAction {
        Login => "login",
        LoginFailed => "login_failed",
        Logout => "logout",
        PasswordChanged => "password_changed",
        Search => "search",
        Read => "read",
        AccessRequest => "access_request",
        AccessDenied => "access_denied",
        GrantEnded => "grant_ended",
        GrantRevoked => "grant_revoked",
        ShareReceived => "share_received",
        ShareRefused => "share_refused",
        TokenRefused => "token_refused",
        ConsentWithdrawn => "consent_withdrawn",
        ConsentRestored => "consent_restored",
        LogRead => "log_read",
        Export => "export",
        ClientOverview => "client_overview",
        FlagReviewed => "flag_reviewed",
        OrganisationAdded => "organisation_added",
        UserAdded => "user_added",
        UserDisabled => "user_disabled",
        SourceAdded => "source_added",
        KeyAdded => "key_added",
        KeyRevoked => "key_revoked",
        DemoSeeded => "demo_seeded",
        LoginLocked => "login_locked",
        LoginUnlocked => "login_unlocked",
        RefusalsSummary => "refusals_summary",
        SecondFactorEnrolled => "second_factor_enrolled",
        SecondFactorFailed => "second_factor_failed",
        SecondFactorReset => "second_factor_reset",
        RecoveryCodeUsed => "recovery_code_used",
        RecoveryCodesRenewed => "recovery_codes_renewed",
        PasskeyAdded => "passkey_added",
        PasskeyRemoved => "passkey_removed",
        CodeMapChanged => "code_map_changed",
        RegistryAdded => "registry_added",
        ConsentProfileChanged => "consent_profile_changed",
        RetentionPurge => "retention_purge",
        Print => "print",
        SpoedInformed => "spoed_informed",
        SpoedSeen => "spoed_seen",
    }
}

crate::string_enum! {
    /// How the recorded attempt ended.
    Outcome {
        Success => "success",
        Denied => "denied",
        Error => "error",
    }
}

impl AuditAction {
    /// The action in the officer's words.
    pub fn label(self) -> &'static str {
        use AuditAction::*;
        match self {
            Login => "Ingelogd",
            LoginFailed => "Inloggen mislukt",
            Logout => "Uitgelogd",
            PasswordChanged => "Wachtwoord gewijzigd",
            Search => "Cliënt gezocht",
            Read => "Gegevens ingezien",
            AccessRequest => "Toegang aangevraagd",
            AccessDenied => "Toegang geweigerd",
            GrantEnded => "Toegang beëindigd",
            GrantRevoked => "Toegang ingetrokken",
            ShareReceived => "Gegevens ontvangen",
            ShareRefused => "Gegevens geweigerd",
            TokenRefused => "Bronsysteem geweigerd",
            ConsentWithdrawn => "Toestemming ingetrokken",
            ConsentRestored => "Toestemming hersteld",
            LogRead => "Logboek ingezien",
            Export => "Logboek geëxporteerd",
            ClientOverview => "Overzicht voor cliënt gemaakt",
            FlagReviewed => "Melding beoordeeld",
            OrganisationAdded => "Organisatie toegevoegd",
            UserAdded => "Gebruiker toegevoegd",
            UserDisabled => "Gebruiker geblokkeerd",
            SourceAdded => "Bronsysteem toegevoegd",
            KeyAdded => "Sleutel toegevoegd",
            KeyRevoked => "Sleutel ingetrokken",
            DemoSeeded => "Demogegevens geladen",
            LoginLocked => "Account tijdelijk vergrendeld",
            LoginUnlocked => "Account ontgrendeld",
            RefusalsSummary => "Herhaalde weigeringen (samengevat)",
            SecondFactorEnrolled => "Tweede stap ingesteld",
            SecondFactorFailed => "Verkeerde code bij tweede stap",
            SecondFactorReset => "Tweede stap gewist (beheer)",
            RecoveryCodeUsed => "Herstelcode gebruikt",
            RecoveryCodesRenewed => "Nieuwe herstelcodes gemaakt",
            PasskeyAdded => "Passkey toegevoegd",
            PasskeyRemoved => "Passkey verwijderd",
            CodeMapChanged => "Codetabel aangevuld",
            RegistryAdded => "Toestemmingsregister toegevoegd",
            ConsentProfileChanged => "Landelijke toestemmingskeuze gewijzigd",
            RetentionPurge => "Kopie verwijderd na bewaartermijn",
            Print => "Afgedrukt",
            SpoedInformed => "Cliënt achteraf geïnformeerd over spoedinzage",
            SpoedSeen => "Spoedinzage gezien",
        }
    }
}
