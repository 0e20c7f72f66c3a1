//! `ooievaar source push` and `registry push`: what a vendor's source system (or a consent
//! registry) does (sign a fresh token and call the
//! source API, DESIGN section 8), for vendors and demos. Registering sources and keys is the
//! viewer's administration and lives in `backend::sources`.

use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Signs a fresh token (60 s, unique `jti`) for `source` with a private key in PEM.
pub fn sign_token(
    source: &str,
    audience: &str,
    private_pem: &str,
    kid: Option<&str>,
) -> Result<String, String> {
    let (alg, key) = match EncodingKey::from_ec_pem(private_pem.as_bytes()) {
        Ok(k) => (Algorithm::ES256, k),
        Err(_) => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(private_pem.as_bytes())
                .map_err(|_| "--key: not an EC P-256 or RSA private key in PEM".to_owned())?,
        ),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "iss": source, "sub": source, "aud": audience,
        "iat": now, "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string(),
    });
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing failed: {e}"))
}

/// What `source push` sends.
pub enum PushBody {
    Share(String),
    Withdraw,
    /// A FHIR Bundle (the BSN is its Patient's).
    Fhir(String),
    /// A consent registry's profile of the client (DESIGN 8.3), as JSON.
    Profile(String),
}

/// `ooievaar source push`: calls the API like a source system and returns (status, body).
pub async fn push(
    url: &str,
    source: &str,
    audience: &str,
    private_pem: &str,
    bsn: &str,
    body: PushBody,
) -> anyhow::Result<(u16, String)> {
    let token = sign_token(source, audience, private_pem, None).map_err(anyhow::Error::msg)?;
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let request = match body {
        PushBody::Share(json) => client
            .put(format!("{base}/api/v1/shares/{bsn}"))
            .header("content-type", "application/json")
            .body(json),
        PushBody::Withdraw => client
            .put(format!("{base}/api/v1/shares/{bsn}/consent"))
            .header("content-type", "application/json")
            .body(r#"{"status":"withdrawn"}"#),
        PushBody::Profile(json) => client
            .put(format!("{base}/api/v1/consent-profiles/{bsn}"))
            .header("content-type", "application/json")
            .body(json),
        PushBody::Fhir(bundle) => client
            .post(format!("{base}/api/v1/fhir"))
            .header("content-type", "application/fhir+json")
            .body(bundle),
    };
    let response = request.bearer_auth(token).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}
