-- The second factor of every login (DESIGN 9, rule 10). Kept in the database so that several
-- instances agree; the secrets are sealed with the key of OOIEVAAR_SECRET_KEY, which is kept
-- outside the database, so a copy of the database alone gives no codes.

-- A user's authenticator app (TOTP, RFC 6238). `last_step` is the 30-second step of the last
-- accepted code: a code of that step or an earlier one is never accepted again, in any session
-- on any instance (the accepting UPDATE is conditional on it).
CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    secret_sealed TEXT NOT NULL,
    last_step BIGINT,
    enrolled_at BIGINT NOT NULL
);

-- Single-use recovery codes, stored as a keyed hash (HMAC-SHA256 with the secret key): digits
-- only, so a leaked database cannot be searched for them without the key.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Passkeys (WebAuthn credentials). `credential` is the library's record of the public key and
-- its signature counter (JSON), updated after each use; `credential_id` is unique across users.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);
