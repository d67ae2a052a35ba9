//! Secret seeds (sr25519 accounts, x25519 transport keys, keystore keys) in files: 64 hex digits, readable by the owner only (mode 0600).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use keywheel_mpc::PartySigner;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// A key file that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("key file {path}: {reason}")]
pub struct KeyFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub reason: String,
}

fn key_error(path: &Path, reason: impl Into<String>) -> KeyFileError {
    KeyFileError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a seed; refuses a file that others can read.
pub fn read_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let meta = std::fs::metadata(path).map_err(|e| key_error(path, format!("cannot read it: {e}")))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(key_error(
            path,
            format!(
                "it is readable by others (mode {:o}); run `chmod 600 {}`",
                meta.permissions().mode() & 0o777,
                path.display()
            ),
        ));
    }
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| key_error(path, format!("cannot read it: {e}")))?);
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, seed.as_mut()).map_err(|_| key_error(path, "it does not hold a 32-byte hex seed"))?;
    Ok(seed)
}

/// Writes a seed to a new file with mode 0600 (never overwrites).
pub fn write_seed(path: &Path, seed: &[u8; 32]) -> Result<(), KeyFileError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| key_error(path, format!("cannot create it: {e}")))?;
    let text = Zeroizing::new(format!("{}\n", hex::encode(seed)));
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| key_error(path, format!("cannot write it: {e}")))
}

/// Generates a fresh key into a new file and returns its signer.
pub fn generate(path: &Path) -> Result<PartySigner, KeyFileError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(seed.as_mut());
    write_seed(path, &seed)?;
    Ok(PartySigner::from_seed(&seed))
}

/// Loads the signer whose seed is in `path`.
pub fn load_signer(path: &Path) -> Result<PartySigner, KeyFileError> {
    Ok(PartySigner::from_seed(&*read_seed(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_loads_back_and_others_cannot_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let signer = generate(&path).unwrap();
        assert_eq!(load_signer(&path).unwrap().account(), signer.account());
        assert!(generate(&path).is_err(), "an existing key is never overwritten");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_signer(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "not hex").unwrap();
        assert!(load_signer(&path).unwrap_err().to_string().contains("32-byte hex seed"));
    }
}
