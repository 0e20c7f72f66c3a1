//! Source tokens (DESIGN section 8): `Authorization: Bearer <JWT>` signed with ES256 or RS256
//! by a registered, non-revoked key of the source named in `iss`.
//!
//! Checks, in order: a Bearer token; header algorithm ES256/RS256 (`none`, HS* and the rest
//! refused); the source in `iss` exists; a key of that source (the `kid` one, or each active
//! key) whose registered algorithm equals the header's verifies the signature; `aud` is the
//! configured audience; `iss` = `sub`; `exp` not passed, `nbf` (when present) reached and `iat`
//! not in the future, each with 60 s clock skew; `exp` at most 300 s after `iat`; `jti` present
//! and never seen before (kept in the database for as long as the token could still be accepted,
//! `exp` plus the clock skew, so a replay is refused across restarts and instances, even in the
//! last second).
//!
//! A refusal never names a source: before the signature verifies, `iss` is only a claim
//! (DESIGN rule 9). The caller learns only [`Refusal::public_code`], which is the same for an
//! unknown issuer, an unknown key and a bad signature, so it cannot tell which source ids
//! exist; the audit event keeps the precise [`Refusal::code`].

use backend::store::{Party, SourceKeyRow, Store, StoreError};
use domain::SourceId;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Clock skew tolerated for `iat`, `nbf` and `exp` (also the library's `Validation::leeway`).
pub const LEEWAY_SECS: u64 = 60;
/// Longest `iss` kept (as `claimed_issuer`) in the audit event of a refused token.
pub const CLAIMED_ISSUER_MAX_CHARS: usize = 64;
/// The longest a token may live.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// A verified caller: a source (with its organisation) or a consent registry (none).
#[derive(Debug, Clone)]
pub struct SourceIdentity {
    pub source_id: SourceId,
    pub organisation_id: Option<String>,
    pub key_id: String,
}

/// Why a token was refused; `code()` is the short reason in the 401 body and the audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Malformed,
    Algorithm,
    UnknownSource,
    UnknownKey,
    Signature,
    Audience,
    SubjectNotIssuer,
    Expired,
    NotYetValid,
    LifetimeTooLong,
    IssuedInFuture,
    MissingJti,
    Replayed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Missing => "missing_bearer_token",
            Refusal::Malformed => "malformed_token",
            Refusal::Algorithm => "algorithm_not_allowed",
            Refusal::UnknownSource => "unknown_issuer",
            Refusal::UnknownKey => "no_matching_key",
            Refusal::Signature => "bad_signature",
            Refusal::Audience => "wrong_audience",
            Refusal::SubjectNotIssuer => "sub_not_iss",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::LifetimeTooLong => "lifetime_too_long",
            Refusal::IssuedInFuture => "iat_in_future",
            Refusal::MissingJti => "missing_jti",
            Refusal::Replayed => "replayed_jti",
        }
    }

    /// The reason told to the caller (the 401 body). An unknown issuer, an unknown key and a bad
    /// signature all answer `not_verified`, so an outsider cannot probe which source ids exist.
    /// Every later reason is reached only by a token whose signature verified, i.e. by the
    /// source itself, which may learn exactly what was wrong.
    pub fn public_code(self) -> &'static str {
        match self {
            Refusal::UnknownSource | Refusal::UnknownKey | Refusal::Signature => "not_verified",
            other => other.code(),
        }
    }
}

/// A refusal. It names no source: `claimed_issuer` is the unverified `iss` (shortened), for
/// the audit event's `detail` only, never its `source_id`.
#[derive(Debug)]
pub struct Refused {
    pub reason: Refusal,
    pub claimed_issuer: Option<String>,
}

impl Refused {
    fn bare(reason: Refusal) -> Self {
        Self {
            reason,
            claimed_issuer: None,
        }
    }
}

/// Verification failed for a reason of ours (the database), not the caller's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct VerifyFailed(#[from] StoreError);

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    iat: i64,
    exp: i64,
    nbf: Option<i64>,
    jti: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

fn allowed(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::ES256 | Algorithm::RS256)
}

fn decoding_key(key: &SourceKeyRow) -> Option<(Algorithm, DecodingKey)> {
    let pem = key.public_key_pem.as_bytes();
    match key.algorithm.as_str() {
        "ES256" => DecodingKey::from_ec_pem(pem)
            .ok()
            .map(|k| (Algorithm::ES256, k)),
        "RS256" => DecodingKey::from_rsa_pem(pem)
            .ok()
            .map(|k| (Algorithm::RS256, k)),
        _ => None,
    }
}

fn map_jwt_error(err: &jsonwebtoken::errors::Error) -> Refusal {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => Refusal::Signature,
        ErrorKind::ExpiredSignature => Refusal::Expired,
        ErrorKind::ImmatureSignature => Refusal::NotYetValid,
        ErrorKind::InvalidAudience => Refusal::Audience,
        ErrorKind::InvalidIssuer => Refusal::UnknownSource,
        ErrorKind::InvalidAlgorithm => Refusal::Algorithm,
        _ => Refusal::Malformed,
    }
}

/// Verifies the `Authorization` header value at `now_ms` (ms since the epoch) as a token of a
/// caller of `party`'s kind, and records the token id against replay. A registry's token is
/// an unknown issuer on the source endpoints, and a source's on the registry's (DESIGN 8.3).
pub async fn verify(
    store: &Store,
    audience: &str,
    authorization: Option<&str>,
    now_ms: i64,
    party: Party,
) -> Result<Result<SourceIdentity, Refused>, VerifyFailed> {
    let now_secs = now_ms.div_euclid(1000);
    let Some(token) = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Ok(Err(Refused::bare(Refusal::Missing)));
    };
    let header = match jsonwebtoken::decode_header(token) {
        Ok(h) => h,
        Err(_) => return Ok(Err(Refused::bare(Refusal::Malformed))),
    };
    if !allowed(header.alg) {
        return Ok(Err(Refused::bare(Refusal::Algorithm)));
    }
    // The issuer is read before verification only to pick the keys to verify with.
    let issuer = jsonwebtoken::dangerous::insecure_decode::<UnverifiedIssuer>(token)
        .ok()
        .and_then(|d| d.claims.iss);
    let Some(issuer) = issuer else {
        return Ok(Err(Refused::bare(Refusal::Malformed)));
    };
    let claimed_issuer: String = issuer.chars().take(CLAIMED_ISSUER_MAX_CHARS).collect();
    let refuse = |reason| {
        Ok(Err(Refused {
            reason,
            claimed_issuer: Some(claimed_issuer.clone()),
        }))
    };
    let Some(source) = store
        .caller(party, &SourceId::from(issuer.as_str()))
        .await?
    else {
        return refuse(Refusal::UnknownSource);
    };
    let keys: Vec<SourceKeyRow> = store
        .active_caller_keys(party, &source.id)
        .await?
        .into_iter()
        .filter(|k| header.kid.as_deref().is_none_or(|kid| kid == k.id))
        .collect();
    let candidates: Vec<_> = keys
        .iter()
        .filter_map(|k| decoding_key(k).map(|(alg, dk)| (k, alg, dk)))
        // The algorithm is pinned to the key: an RS256 key never verifies an "ES256" token.
        .filter(|(_, alg, _)| *alg == header.alg)
        .collect();
    if candidates.is_empty() {
        return refuse(Refusal::UnknownKey);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[source.id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    // The library checks `exp` and `nbf` against the system clock with this leeway; the same
    // checks follow below against `now_ms`, the time the replay cache uses too.
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    let mut last = Refusal::Signature;
    let mut verified = None;
    for (key, _, dk) in &candidates {
        match jsonwebtoken::decode::<Claims>(token, dk, &validation) {
            Ok(data) => {
                verified = Some((key.id.clone(), data.claims));
                break;
            }
            Err(e) => last = map_jwt_error(&e),
        }
    }
    let Some((key_id, claims)) = verified else {
        return refuse(last);
    };
    if claims.sub != claims.iss {
        return refuse(Refusal::SubjectNotIssuer);
    }
    let leeway = LEEWAY_SECS as i64;
    // Accepted while `now_secs <= exp + leeway`: the last accepted instant is the end of that
    // second, which bounds how long the `jti` is kept below.
    if now_secs > claims.exp.saturating_add(leeway) {
        return refuse(Refusal::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now_secs.saturating_add(leeway))
    {
        return refuse(Refusal::NotYetValid);
    }
    if claims.exp - claims.iat > MAX_LIFETIME_SECS {
        return refuse(Refusal::LifetimeTooLong);
    }
    if claims.iat > now_secs + leeway {
        return refuse(Refusal::IssuedInFuture);
    }
    let Some(jti) = claims.jti.filter(|j| !j.is_empty() && j.len() <= 200) else {
        return refuse(Refusal::MissingJti);
    };
    if !store
        .remember_token_id(&source.id, &jti, jti_kept_until_ms(claims.exp), now_ms)
        .await?
    {
        return refuse(Refusal::Replayed);
    }
    Ok(Ok(SourceIdentity {
        source_id: source.id,
        organisation_id: source.organisation_id,
        key_id,
    }))
}

/// Until when (ms) a token id must be remembered: past the last millisecond in which a token
/// with this `exp` is still accepted (`now_secs <= exp + leeway`), so a replay in that last
/// second is refused too. The replay cache drops rows with `expires_at < now`.
pub fn jti_kept_until_ms(exp: i64) -> i64 {
    exp.saturating_add(LEEWAY_SECS as i64)
        .saturating_add(1)
        .saturating_mul(1000)
}
