//! The key and the seal: where the key comes from (Argon2id over a passphrase, or a key file),
//! and XChaCha20-Poly1305 records bound to their owner, name and generation.

use super::error::*;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use keywheel_chain::AccountId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Where the keystore's key comes from.
pub enum KeySource {
    /// A passphrase, stretched with Argon2id.
    Passphrase(Zeroizing<String>),
    /// A key file: 64 hex digits, mode 0600.
    KeyFile(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("KeySource::Passphrase(..)"),
            Self::KeyFile(path) => write!(f, "KeySource::KeyFile({})", path.display()),
        }
    }
}

/// How the key was made, stored in the clear beside the sealed records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Kdf {
    Argon2id { salt: [u8; 16], m_kib: u32, t: u32, p: u32 },
    KeyFile,
}

/// Argon2id cost of a new passphrase keystore (OWASP's baseline: 19 MiB, 2 passes).
pub(super) const ARGON2_M_KIB: u32 = 19 * 1024;
pub(super) const ARGON2_T: u32 = 2;
pub(super) const ARGON2_P: u32 = 1;

pub(super) fn derive_key(kdf: &Kdf, source: &KeySource, path: &Path) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    match (kdf, source) {
        (Kdf::Argon2id { salt, m_kib, t, p }, KeySource::Passphrase(passphrase)) => {
            let params =
                argon2::Params::new(*m_kib, *t, *p, Some(32)).map_err(|e| KeystoreError::Key(e.to_string()))?;
            let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let mut key = Zeroizing::new([0u8; 32]);
            argon
                .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
                .map_err(|e| KeystoreError::Key(e.to_string()))?;
            Ok(key)
        }
        (Kdf::KeyFile, KeySource::KeyFile(file)) => {
            keywheel_rpc::keyfile::read_seed(file).map_err(|e| KeystoreError::Key(e.to_string()))
        }
        (Kdf::Argon2id { .. }, KeySource::KeyFile(_)) => Err(KeystoreError::WrongKeyKind {
            path: path.to_path_buf(),
            made_with: "a passphrase",
        }),
        (Kdf::KeyFile, KeySource::Passphrase(_)) => Err(KeystoreError::WrongKeyKind {
            path: path.to_path_buf(),
            made_with: "a key file",
        }),
    }
}

pub(super) fn associated_data(owner: &AccountId, label: &str) -> Vec<u8> {
    keywheel_primitives::domain::keystore_record(owner, label)
}

/// Bytes of the XChaCha20 nonce at the start of every sealed record.
pub(super) const NONCE_LEN: usize = 24;

pub(super) fn seal(key: &[u8; 32], owner: &AccountId, label: &str, plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let aad = associated_data(owner, label);
    let ciphertext = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: &aad })
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    out
}

pub(super) fn open_sealed(key: &[u8; 32], owner: &AccountId, label: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let aad = associated_data(owner, label);
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}
