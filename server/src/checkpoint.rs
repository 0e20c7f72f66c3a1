//! Signed checkpoints of the access log (issue "privacy officer", item 6).
//!
//! A checkpoint is the chain head (`event_id`, `hash`) signed with the server's checkpoint key
//! as an ES256 compact JWS whose payload is `{"event_id", "hash", "signed_at"}`. Stored
//! checkpoints are exported with the public key (`ooievaar audit checkpoints`); an outside
//! party keeps the export and later checks, with any JWS library or `ooievaar audit verify
//! --checkpoints <file>`, that every event it names still has that hash. A rewritten history
//! (even one re-hashed end to end) or a deleted tail then shows, which the chain alone cannot.
//!
//! The key is a PKCS#8 PEM P-256 private key at `OOIEVAAR_CHECKPOINT_KEY` (default: beside the
//! SQLite database, or `data/checkpoint-key.pem`), created on first use, except by `serve` in
//! production (secure cookies on), which refuses to start without it. Keep it outside the
//! database: whoever can rewrite the log must not also be able to re-sign it.
//!
//! This module holds only the key and the signature; what is checked, and the rule that only
//! an intact chain is signed, are `backend::integrity`'s.

use anyhow::Context;
use backend::store::{CheckpointRow, Store};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    event_id: i64,
    hash: String,
    signed_at: i64,
}

/// The server's signing key and its public half.
pub struct CheckpointKey {
    encoding: EncodingKey,
    pub public_pem: String,
    pub key_id: String,
}

/// Where the checkpoint key lives for this database.
pub fn key_path(database_url: &str) -> PathBuf {
    crate::key_file::path(
        "OOIEVAAR_CHECKPOINT_KEY",
        "checkpoint-key.pem",
        database_url,
    )
}

impl CheckpointKey {
    /// Loads the key, creating it (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let pem = crate::key_file::read_or_create(path, "checkpoint signing key", || {
            let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
            Ok(secret
                .to_pkcs8_pem(LineEnding::LF)
                .context("encoding the checkpoint key")?
                .to_string())
        })?;
        Self::from_pem(&pem)
    }

    /// Loads the key and refuses to go on when the file is missing (production: `serve` with
    /// secure cookies never creates a key on its own, DESIGN section 9 "Settings").
    pub fn load_existing(path: &Path) -> anyhow::Result<Self> {
        let pem = crate::key_file::read_existing(
            path,
            "checkpoint key",
            "OOIEVAAR_CHECKPOINT_KEY (or OOIEVAAR_CHECKPOINT_MINUTES=0 to sign no checkpoints)",
            "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out <file>`, or \
             `ooievaar audit checkpoint`",
        )?;
        Self::from_pem(&pem)
    }

    pub fn from_pem(private_pem: &str) -> anyhow::Result<Self> {
        let secret = p256::SecretKey::from_pkcs8_pem(private_pem)
            .map_err(|e| anyhow::anyhow!("the checkpoint key is not a PKCS#8 P-256 key: {e}"))?;
        let public_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .context("encoding the public key")?;
        let der = secret
            .public_key()
            .to_public_key_der()
            .context("encoding the public key")?;
        Ok(Self {
            encoding: EncodingKey::from_ec_pem(private_pem.as_bytes())?,
            key_id: hex::encode(&Sha256::digest(der.as_bytes())[..8]),
            public_pem,
        })
    }
}

impl backend::integrity::CheckpointSigner for CheckpointKey {
    type Error = anyhow::Error;

    fn key_id(&self) -> &str {
        &self.key_id
    }

    /// An ES256 compact JWS over `{"event_id", "hash", "signed_at"}`.
    fn sign(&self, event_id: i64, hash: &str, signed_at: i64) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let payload = Payload {
            event_id,
            hash: hash.to_owned(),
            signed_at,
        };
        Ok(jsonwebtoken::encode(&header, &payload, &self.encoding)?)
    }
}

/// The periodic task of `serve`: verify the new part of the chain (incremental), sign the head
/// when the chain is intact, and once a day verify the whole chain.
pub async fn keep_signing(store: Store, key: CheckpointKey, every: std::time::Duration) {
    use backend::integrity::{sign_if_intact, Signing, Verification};
    let mut interval = tokio::time::interval(every);
    let mut last_full = std::time::Instant::now();
    loop {
        interval.tick().await;
        let verification = if last_full.elapsed() >= std::time::Duration::from_secs(24 * 3600) {
            last_full = std::time::Instant::now();
            Verification::Full
        } else {
            Verification::Incremental
        };
        match sign_if_intact(&store, &key, verification).await {
            Ok(Signing::Signed(c)) => tracing::debug!(event_id = c.event_id, "checkpoint signed"),
            Ok(Signing::EmptyLog) => {}
            Ok(Signing::Broken { .. } | Signing::Unverified(_)) => {
                tracing::error!("audit chain is broken: no checkpoint signed")
            }
            Err(e) => tracing::error!(error = %e, "signing a checkpoint failed"),
        }
    }
}

/// What `ooievaar audit checkpoints` prints: everything an outside party needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointExport {
    pub algorithm: String,
    pub key_id: String,
    pub public_key_pem: String,
    pub checkpoints: Vec<CheckpointRow>,
}

pub fn export(key: &CheckpointKey, checkpoints: Vec<CheckpointRow>) -> CheckpointExport {
    CheckpointExport {
        algorithm: "ES256".into(),
        key_id: key.key_id.clone(),
        public_key_pem: key.public_pem.clone(),
        checkpoints,
    }
}

/// Whether the checkpoint's JWS is a valid signature of exactly its own fields.
pub fn signature_valid(public_pem: &str, checkpoint: &CheckpointRow) -> bool {
    let Ok(key) = DecodingKey::from_ec_pem(public_pem.as_bytes()) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Payload>(&checkpoint.jws, &key, &validation) {
        Ok(data) => {
            data.claims
                == Payload {
                    event_id: checkpoint.event_id,
                    hash: checkpoint.hash.clone(),
                    signed_at: checkpoint.signed_at,
                }
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_exactly_the_checkpoint_fields() {
        let dir = tempfile::tempdir().unwrap();
        let key = CheckpointKey::load_or_create(&dir.path().join("k.pem")).unwrap();
        let payload = Payload {
            event_id: 7,
            hash: "ab".repeat(32),
            signed_at: 1,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.key_id.clone());
        let jws = jsonwebtoken::encode(&header, &payload, &key.encoding).unwrap();
        let row = CheckpointRow {
            event_id: 7,
            hash: payload.hash.clone(),
            signed_at: 1,
            key_id: key.key_id.clone(),
            jws,
        };
        assert!(signature_valid(&key.public_pem, &row));
        let moved = CheckpointRow {
            event_id: 6,
            ..row.clone()
        };
        assert!(!signature_valid(&key.public_pem, &moved));
        let other = CheckpointKey::load_or_create(&dir.path().join("other.pem")).unwrap();
        assert!(!signature_valid(&other.public_pem, &row));
        // The same file gives the same key.
        let again = CheckpointKey::load_or_create(&dir.path().join("k.pem")).unwrap();
        assert_eq!(again.key_id, key.key_id);
    }
}
