//! Key files kept outside the database: the checkpoint signing key (`OOIEVAAR_CHECKPOINT_KEY`)
//! and the second-factor secret key (`OOIEVAAR_SECRET_KEY`). Both default to a file beside the
//! SQLite database (or under `data/`), are created (mode 0600) when missing for plain local
//! use, and are never created by `serve` in production (secure cookies on): whoever can copy
//! or rewrite the database must not find the key there too.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Where a key lives: the path in `env_var` when set, else `file_name` beside the SQLite
/// database, else under `data/`.
pub fn path(env_var: &str, file_name: &str, database_url: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env_var) {
        if !path.trim().is_empty() {
            return PathBuf::from(path);
        }
    }
    let sqlite_file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest));
    match sqlite_file.and_then(|f| Path::new(f).parent()) {
        Some(dir) => dir.join(file_name),
        None => Path::new("data").join(file_name),
    }
}

/// The key file's text, first writing `make()`'s text (mode 0600) when the file is missing.
pub fn read_or_create(
    path: &Path,
    what: &str,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if !path.exists() {
        let text = make()?;
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        write_private(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        tracing::warn!(path = %path.display(), "created a new {what}");
    }
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

/// The key file's text; a missing file is an error that says how to make one (production).
pub fn read_existing(
    path: &Path,
    what: &str,
    env_var: &str,
    how_to_make: &str,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        path.exists(),
        "the {what} {} does not exist. With OOIEVAAR_SECURE_COOKIES=true (production) `serve` \
         does not create one beside the database: create it once on purpose ({how_to_make}), \
         keep it outside the database's storage and set {env_var} to its path",
        path.display()
    );
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The second-factor secret key of this database (`OOIEVAAR_SECRET_KEY`).
pub fn secret_key_path(database_url: &str) -> PathBuf {
    path("OOIEVAAR_SECRET_KEY", "secret-key", database_url)
}

/// Loads the second-factor secret key; `create` makes it when missing (not in production).
pub fn secret_key(
    database_url: &str,
    create: bool,
) -> anyhow::Result<backend::second_factor::SecretKey> {
    let path = secret_key_path(database_url);
    let text = if create {
        read_or_create(&path, "second-factor secret key", || {
            Ok(backend::second_factor::SecretKey::generate_hex())
        })?
    } else {
        read_existing(
            &path,
            "second-factor secret key",
            "OOIEVAAR_SECRET_KEY",
            "`openssl rand -hex 32 > <file>`",
        )?
    };
    backend::second_factor::SecretKey::from_hex(&text)
        .map_err(|e| anyhow::anyhow!("the secret key {} is {e}", path.display()))
}
