//! Source administration (command line, DESIGN section 10): registering a source system of an
//! organisation, adding and revoking its public keys, each with its audit event. A key is
//! accepted only as an ES256 (P-256) or RS256 (at least [`MIN_RSA_BITS`]) public key in PEM; the
//! source API (`server/src/api/token.rs`) verifies tokens against the stored keys.
//!
//! Problems are field errors named after the command-line flags, as in `accounts`; nothing is
//! stored then.

use crate::audit::NewAuditEvent;
use crate::store::{SourceKeyRow, Store, StoreError};
use domain::error::AppError;
use domain::{AuditAction, FieldError, SourceId};
use jsonwebtoken::{Algorithm, DecodingKey};
use sha2::{Digest, Sha256};

/// DER of the OID of the P-256 curve (1.2.840.10045.3.1.7): ES256 keys must be on it.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// The smallest RSA modulus accepted (NIST SP 800-131A: shorter keys are no longer safe).
pub const MIN_RSA_BITS: usize = 2048;

/// A public key as registered: algorithm, PEM and its key id.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub algorithm: Algorithm,
    pub pem: String,
    /// First 16 hex digits of SHA-256 over the key's DER: stable, so a source can put it in `kid`.
    pub key_id: String,
}

/// Reads an ES256 (P-256) or RS256 public key in PEM. Anything else is refused, and so is an
/// RSA key under [`MIN_RSA_BITS`].
pub fn parse_public_key(pem_text: &str) -> Result<PublicKey, String> {
    let parsed = pem::parse(pem_text.trim()).map_err(|_| "not a PEM file".to_owned())?;
    if parsed.tag() != "PUBLIC KEY" {
        return Err(format!("expected a PUBLIC KEY, found {}", parsed.tag()));
    }
    let der = parsed.contents();
    let algorithm = if der.windows(P256_OID.len()).any(|w| w == P256_OID)
        && DecodingKey::from_ec_pem(pem_text.as_bytes()).is_ok()
    {
        Algorithm::ES256
    } else if DecodingKey::from_rsa_pem(pem_text.as_bytes()).is_ok()
        && !der
            .windows(7)
            .any(|w| w == [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D])
    {
        Algorithm::RS256
    } else {
        return Err("not an ES256 (P-256) or RS256 public key".to_owned());
    };
    if algorithm == Algorithm::RS256 {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let bits = rsa::RsaPublicKey::from_public_key_der(der)
            .map_err(|_| "not an ES256 (P-256) or RS256 public key".to_owned())?
            .n()
            .bits();
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "an RSA key needs at least {MIN_RSA_BITS} bits; this one has {bits}"
            ));
        }
    }
    let key_id = hex::encode(&Sha256::digest(der)[..8]);
    Ok(PublicKey {
        algorithm,
        pem: pem::encode(&parsed),
        key_id,
    })
}

impl PublicKey {
    /// The key as stored for `source_id`.
    fn into_row(self, source_id: &SourceId) -> SourceKeyRow {
        SourceKeyRow {
            id: self.key_id,
            source_id: source_id.clone(),
            algorithm: match self.algorithm {
                Algorithm::ES256 => "ES256",
                _ => "RS256",
            }
            .into(),
            public_key_pem: self.pem,
            revoked_at: None,
        }
    }
}

fn read_key_file(path: &str) -> Result<PublicKey, AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::field("--public-key", format!("cannot read {path}: {e}")))?;
    parse_public_key(&text).map_err(|p| AppError::field("--public-key", p))
}

/// A command-line event about a key of a source (the actor is the operating-system account).
fn key_event(
    action: AuditAction,
    organisation_id: &str,
    source_id: &SourceId,
    key_id: &str,
) -> NewAuditEvent {
    let mut event = crate::accounts::cli_event(action);
    event.organisation_id = Some(organisation_id.to_owned());
    event.source_id = Some(source_id.clone());
    let key = domain::audit_detail::KeyNamed {
        key_id: key_id.to_owned(),
    };
    event.detail = Some(match action {
        AuditAction::SourceAdded => domain::AuditDetail::SourceAdded(key),
        AuditAction::KeyRevoked => domain::AuditDetail::KeyRevoked(key),
        _ => domain::AuditDetail::KeyAdded(key),
    });
    event
}

/// `ooievaar source add`: registers a source of an organisation with its first key.
pub async fn add_source(
    store: &Store,
    id: &str,
    organisation: &str,
    key_path: &str,
) -> Result<String, AppError> {
    let mut problems = Vec::new();
    let (key_text, id) = (id, &SourceId::from(id));
    if !crate::accounts::valid_key(key_text) {
        problems.push(FieldError::new(
            "--id",
            "2-64 tekens: kleine letters, cijfers en '-'",
        ));
    } else if store.source(id).await?.is_some() {
        problems.push(FieldError::new("--id", "deze bron bestaat al"));
    } else if store.is_registry(id).await? {
        problems.push(FieldError::new(
            "--id",
            "dit id is al van een toestemmingsregister",
        ));
    }
    if store.organisation(organisation).await?.is_none() {
        problems.push(FieldError::new("--organisation", "onbekende organisatie"));
    }
    let key = read_key_file(key_path);
    if let Err(AppError::Validation { field_errors }) = &key {
        problems.extend(field_errors.iter().cloned());
    }
    if !problems.is_empty() {
        return Err(AppError::Validation {
            field_errors: problems,
        });
    }
    let key = key?;
    let row = key.into_row(id);
    match store
        .add_source_with_key(
            &row,
            organisation,
            key_event(AuditAction::SourceAdded, organisation, id, &row.id),
            key_event(AuditAction::KeyAdded, organisation, id, &row.id),
        )
        .await
    {
        Err(StoreError::AlreadyExists(what)) => {
            Err(AppError::field("--id", format!("{what} bestaat al")))
        }
        other => other.map(|()| row.id).map_err(Into::into),
    }
}

/// `ooievaar registry add`: registers a consent registry (DESIGN 8.3) with its first key. It
/// belongs to no organisation; its id may not be a source's (tokens name either by `iss`).
pub async fn add_registry(store: &Store, id: &str, key_path: &str) -> Result<String, AppError> {
    let mut problems = Vec::new();
    let (key_text, id) = (id, &SourceId::from(id));
    if !crate::accounts::valid_key(key_text) {
        problems.push(FieldError::new(
            "--id",
            "2-64 tekens: kleine letters, cijfers en '-'",
        ));
    } else if store.is_registry(id).await? {
        problems.push(FieldError::new("--id", "dit register bestaat al"));
    } else if store.source(id).await?.is_some() {
        problems.push(FieldError::new("--id", "dit id is al van een bronsysteem"));
    }
    let key = read_key_file(key_path);
    if let Err(AppError::Validation { field_errors }) = &key {
        problems.extend(field_errors.iter().cloned());
    }
    if !problems.is_empty() {
        return Err(AppError::Validation {
            field_errors: problems,
        });
    }
    let row = key?.into_row(id);
    let registry_event = |action: AuditAction| {
        let mut event = crate::accounts::cli_event(action);
        event.source_id = Some(id.clone());
        let key = domain::audit_detail::KeyNamed {
            key_id: row.id.clone(),
        };
        event.detail = Some(match action {
            AuditAction::RegistryAdded => domain::AuditDetail::RegistryAdded(key),
            _ => domain::AuditDetail::KeyAdded(key),
        });
        event
    };
    match store
        .add_registry_with_key(
            &row,
            registry_event(AuditAction::RegistryAdded),
            registry_event(AuditAction::KeyAdded),
        )
        .await
    {
        Err(StoreError::AlreadyExists(_)) => {
            Err(AppError::field("--id", "dit id of deze sleutel bestaat al"))
        }
        other => other.map(|()| row.id.clone()).map_err(Into::into),
    }
}

/// `ooievaar source key add`: an extra key, for rotation without downtime.
pub async fn add_key(store: &Store, id: &str, key_path: &str) -> Result<String, AppError> {
    let id = &SourceId::from(id);
    let source = store
        .source(id)
        .await?
        .ok_or_else(|| AppError::field("--id", "onbekende bron"))?;
    let key = read_key_file(key_path)?;
    let row = key.into_row(id);
    match store
        .add_source_key(
            &row,
            key_event(AuditAction::KeyAdded, &source.organisation_id, id, &row.id),
        )
        .await
    {
        Err(StoreError::AlreadyExists(_)) => Err(AppError::field(
            "--public-key",
            "deze sleutel is al geregistreerd",
        )),
        other => other.map(|()| row.id).map_err(Into::into),
    }
}

/// `ooievaar source key revoke`: the key verifies nothing from now on.
pub async fn revoke_key(store: &Store, id: &str, key_id: &str) -> Result<(), AppError> {
    let id = &SourceId::from(id);
    let source = store
        .source(id)
        .await?
        .ok_or_else(|| AppError::field("--id", "onbekende bron"))?;
    match store
        .revoke_source_key(
            id,
            key_id,
            key_event(AuditAction::KeyRevoked, &source.organisation_id, id, key_id),
        )
        .await
    {
        Err(StoreError::NotFound(_)) => Err(AppError::field(
            "--key",
            "geen actieve sleutel met dit id bij deze bron",
        )),
        other => other.map_err(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        // The key fixtures are the server's, which its integration tests share.
        std::fs::read_to_string(format!(
            "{}/../server/tests/fixtures/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn es256_and_rs256_public_keys_are_recognised_and_others_refused() {
        assert_eq!(
            parse_public_key(&fixture("es256-a.pub.pem"))
                .unwrap()
                .algorithm,
            Algorithm::ES256
        );
        assert_eq!(
            parse_public_key(&fixture("rs256-b.pub.pem"))
                .unwrap()
                .algorithm,
            Algorithm::RS256
        );
        assert!(
            parse_public_key(&fixture("es384.pub.pem")).is_err(),
            "P-384 is not ES256"
        );
        assert!(
            parse_public_key(&fixture("es256-a.pem")).is_err(),
            "a private key is not a public key"
        );
        assert!(parse_public_key("hello").is_err());
    }

    /// Issue 9 finding 11: an RSA key under 2048 bits is refused at registration.
    #[test]
    fn rsa_keys_under_2048_bits_are_refused() {
        let refused = parse_public_key(&fixture("rs1024.pub.pem")).unwrap_err();
        assert_eq!(
            refused,
            "an RSA key needs at least 2048 bits; this one has 1024"
        );
        assert!(parse_public_key(&fixture("rs256-b.pub.pem")).is_ok());
    }

    #[test]
    fn key_ids_are_stable_and_distinct() {
        let a = parse_public_key(&fixture("es256-a.pub.pem")).unwrap();
        let again = parse_public_key(&format!("\n{}\n", fixture("es256-a.pub.pem"))).unwrap();
        let c = parse_public_key(&fixture("es256-c.pub.pem")).unwrap();
        assert_eq!(a.key_id, again.key_id);
        assert_ne!(a.key_id, c.key_id);
        assert_eq!(a.key_id.len(), 16);
    }
}
