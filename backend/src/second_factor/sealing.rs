//! The key that keeps second-factor secrets unreadable in the database (`OOIEVAAR_SECRET_KEY`).
//!
//! One 32-byte master key, kept in a file outside the database like the checkpoint key. Two
//! keys are derived from it (HMAC-SHA256 with a label), so no key serves two purposes:
//! - sealing: ChaCha20-Poly1305 with a random nonce, the owner's user id as associated data (a
//!   sealed secret copied to another user's row does not open);
//! - the keyed hash of recovery codes: a recovery code has about 40 bits, which an offline
//!   search of a plain hash would find; without the key there is nothing to search.

use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{AeadCore, ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The master key's derived keys. Its `Debug` shows nothing of them.
#[derive(Clone)]
pub struct SecretKey {
    seal: [u8; 32],
    code_hash: [u8; 32],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// A sealed value that does not open: the wrong key, another owner, or changed bytes.
#[derive(Debug, thiserror::Error)]
#[error("a sealed second-factor secret does not open with this key (OOIEVAAR_SECRET_KEY changed?)")]
pub struct Unsealable;

impl SecretKey {
    /// A new random master key, as the text kept in the key file (64 hex digits).
    pub fn generate_hex() -> String {
        let mut master = [0u8; 32];
        OsRng.fill_bytes(&mut master);
        hex::encode(master)
    }

    /// Reads the key file's text: 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|_| "not hexadecimal".to_owned())?;
        let master: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "not 32 bytes (64 hex digits)".to_owned())?;
        Ok(Self {
            seal: derive(&master, b"ooievaar second factor: sealing"),
            code_hash: derive(&master, b"ooievaar second factor: recovery codes"),
        })
    }

    /// Seals `secret` for `owner`: hex of nonce followed by ciphertext and tag.
    pub fn seal(&self, owner: &str, secret: &[u8]) -> String {
        let cipher = ChaCha20Poly1305::new(&Key::from(self.seal));
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: owner.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any length we use");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// Opens what [`seal`](Self::seal) made for the same `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<Vec<u8>, Unsealable> {
        let bytes = hex::decode(sealed).map_err(|_| Unsealable)?;
        if bytes.len() < 12 {
            return Err(Unsealable);
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| Unsealable)?;
        ChaCha20Poly1305::new(&Key::from(self.seal))
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| Unsealable)
    }

    /// The stored form of one recovery code of `owner` (hex of a keyed hash).
    pub fn code_hash(&self, owner: &str, code: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.code_hash).expect("HMAC takes any key");
        mac.update(owner.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_hex(&SecretKey::generate_hex()).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner_and_key() {
        let k = key();
        let sealed = k.seal("user-1", b"JBSWY3DPEHPK3PXP");
        assert!(
            !sealed.contains("4a425357"),
            "the plain secret is not in the sealed text"
        );
        assert_eq!(k.open("user-1", &sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(k.open("user-2", &sealed).is_err(), "another owner");
        assert!(key().open("user-1", &sealed).is_err(), "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(k
            .open("user-1", std::str::from_utf8(&tampered).unwrap())
            .is_err());
    }

    #[test]
    fn recovery_code_hashes_depend_on_key_owner_and_code() {
        let k = key();
        let h = k.code_hash("u", "123456789012");
        assert_eq!(h, k.code_hash("u", "123456789012"));
        assert_ne!(h, k.code_hash("v", "123456789012"));
        assert_ne!(h, k.code_hash("u", "123456789013"));
        assert_ne!(h, key().code_hash("u", "123456789012"));
    }

    #[test]
    fn a_bad_key_file_is_refused_with_its_reason() {
        assert!(SecretKey::from_hex("zz")
            .unwrap_err()
            .contains("hexadecimal"));
        assert!(SecretKey::from_hex("abcd")
            .unwrap_err()
            .contains("32 bytes"));
    }
}
