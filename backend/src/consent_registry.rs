//! Receiving the client's national consent choice from a consent registry (DESIGN 8.3). A
//! profile only hides: shares and grants are kept, and the `visible_shares` view applies the
//! profile at every read, in the read's own transaction.

use crate::audit::{NewAuditEvent, RequestMeta};
use crate::store::{Store, StoreError};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::consent_profile::{validate_profile, ConsentProfile};
use domain::{AuditAction, Bsn, FieldError, Outcome, SourceId};
use serde_json::Value;

/// A registry whose token verified.
#[derive(Debug, Clone)]
pub struct RegistryCaller {
    pub registry_id: SourceId,
    pub request: RequestMeta,
}

impl RegistryCaller {
    fn event(
        &self,
        outcome: Outcome,
        bsn: Option<&str>,
        detail: detail::ConsentProfileChanged,
    ) -> NewAuditEvent {
        let mut event = NewAuditEvent::new(AuditAction::ConsentProfileChanged, outcome)
            .with_request(self.request.clone());
        event.source_id = Some(self.registry_id.clone());
        event.bsn = bsn.map(str::to_owned);
        event.detail = Some(AuditDetail::ConsentProfileChanged(detail));
        event
    }
}

/// A stored profile: what the API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileReceipt {
    pub profile: ConsentProfile,
    pub version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The input was refused (and the refusal logged); nothing changed.
    #[error("invalid consent profile")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and stores the profile of `bsn_input` sent by `caller`. Every outcome is an
/// audit event: `consent_profile_changed` with the choice and the sizes of its lists (never
/// the lists), or, refused, with the fields named.
pub async fn receive_profile(
    store: &Store,
    caller: &RegistryCaller,
    bsn_input: &str,
    body: &Value,
) -> Result<ProfileReceipt, ProfileError> {
    let bsn = Bsn::parse(bsn_input).map_err(|e| FieldError::new("bsn", e.to_string()));
    let profile = validate_profile(body);
    let mut problems: Vec<FieldError> = bsn.as_ref().err().into_iter().cloned().collect();
    match &profile {
        Err(errors) => problems.extend(errors.iter().cloned()),
        Ok(profile) => {
            let listed = profile.organisations();
            for unknown in store.unknown_organisations(&listed).await? {
                let index = listed
                    .iter()
                    .position(|o| *o == unknown)
                    .unwrap_or_default();
                problems.push(FieldError::new(
                    format!("organisations[{index}]"),
                    format!("unknown organisation '{}'", domain::share::quoted(&unknown)),
                ));
            }
        }
    }
    let (Ok(bsn), Ok(profile), true) = (bsn, profile, problems.is_empty()) else {
        let refused = detail::ConsentProfileChanged {
            registry_id: caller.registry_id.as_str().to_owned(),
            refused_fields: Some(problems.iter().map(|p| p.field.clone()).collect()),
            ..Default::default()
        };
        let valid_bsn = Bsn::parse(bsn_input).ok();
        store
            .record(caller.event(
                Outcome::Denied,
                valid_bsn.as_ref().map(|b| b.as_ref()),
                refused,
            ))
            .await?;
        return Err(ProfileError::Invalid(problems));
    };
    let version = store
        .put_consent_profile(bsn.as_ref(), &caller.registry_id, &profile, |version| {
            caller.event(
                Outcome::Success,
                Some(bsn.as_ref()),
                detail::ConsentProfileChanged {
                    registry_id: caller.registry_id.as_str().to_owned(),
                    choice: Some(profile.choice().as_str().to_owned()),
                    version: Some(version),
                    organisations: Some(profile.organisations().len() as i64),
                    organisation_kinds: Some(profile.kinds().len() as i64),
                    ..Default::default()
                },
            )
        })
        .await?;
    Ok(ProfileReceipt { profile, version })
}
