//! Authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30-second steps), with `totp-rs`
//! computing them, and the enrolment's QR code as SVG (`qrcode`). A code is accepted for the
//! current step and one step either way (a phone's clock drifts), and only for a step after the
//! last accepted one (no replay): the store's conditional update makes that hold across
//! sessions and instances.

use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one.
const DRIFT_STEPS: u64 = 1;
const ISSUER: &str = "Ooievaar";

/// A new random secret (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    match Secret::generate_secret().to_bytes() {
        Ok(bytes) => bytes,
        Err(_) => unreachable!("a generated secret is raw bytes"),
    }
}

/// The secret as the base32 text an authenticator app accepts when typed in.
pub fn base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// Reads a base32 secret (the demo's fixed ones).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::Encoded(text.trim().to_uppercase()).to_bytes().ok()
}

fn totp(secret: &[u8], account: &str) -> TOTP {
    // `new_unchecked`: the length check of `new` refuses nothing we make (160 bits), and an
    // account name is only a label in the app.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.replace(':', "_"),
    )
}

/// The step a unix time falls in.
pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The code of one step.
pub fn code_at_step(secret: &[u8], step: u64) -> String {
    totp(secret, "").generate(step * STEP_SECONDS)
}

/// The step whose code `code` is, among the current step and its neighbours, after
/// `last_step` (the last accepted one); `None` when it matches none of them.
pub fn matching_step(
    secret: &[u8],
    code: &str,
    unix_seconds: u64,
    last_step: Option<u64>,
) -> Option<u64> {
    let now = step_of(unix_seconds);
    (now.saturating_sub(DRIFT_STEPS)..=now + DRIFT_STEPS)
        .filter(|step| last_step.is_none_or(|last| *step > last))
        .find(|step| constant_time_eq(code_at_step(secret, *step).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    totp(secret, account).get_url()
}

/// The QR code of `uri` as an inline SVG element (no XML declaration, no script, no style).
pub fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(uri.as_bytes()).expect("an otpauth URI fits a QR code");
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at_step(secret, step_of(59)), "287082");
        assert_eq!(code_at_step(secret, step_of(1_111_111_109)), "081804");
        assert_eq!(code_at_step(secret, step_of(2_000_000_000)), "279037");
    }

    #[test]
    fn one_step_of_drift_either_way_and_never_a_used_step() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let step = step_of(now);
        for s in [step - 1, step, step + 1] {
            assert_eq!(
                matching_step(&secret, &code_at_step(&secret, s), now, None),
                Some(s)
            );
        }
        assert_eq!(
            matching_step(&secret, &code_at_step(&secret, step - 2), now, None),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_at_step(&secret, step + 2), now, None),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_at_step(&secret, step), now, Some(step)),
            None,
            "a used step is refused"
        );
        assert_eq!(
            matching_step(&secret, &code_at_step(&secret, step + 1), now, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn the_secret_round_trips_through_base32_and_the_uri_names_the_issuer() {
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
        let uri = otpauth_uri(&secret, "verloskundige");
        assert!(
            uri.starts_with("otpauth://totp/Ooievaar:verloskundige?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", base32(&secret))));
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("style="));
    }
}
