//! The TSS's identity: an sr25519 account (it signs protocol messages, confirmations, reports
//! and extrinsics) and an x25519 static key (its Noise transport key). Both are made on first
//! start and kept in the data directory as owner-only key files.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use keywheel_chain::AccountId;
use keywheel_mpc::PartySigner;
use keywheel_rpc::keyfile::{self, KeyFileError};
use zeroize::Zeroizing;

/// File of the sr25519 account seed, inside the data directory.
pub const ACCOUNT_KEY_FILE: &str = "account.key";
/// File of the x25519 transport secret, inside the data directory.
pub const TRANSPORT_KEY_FILE: &str = "transport.key";

/// The TSS's keys. `Debug` shows only the public halves.
#[derive(Clone)]
pub struct Identity {
    signer: PartySigner,
    x25519_secret: Zeroizing<[u8; 32]>,
    x25519_public: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("account", &self.account())
            .field("x25519", &hex::encode(self.x25519_public))
            .finish()
    }
}

fn load_or_generate_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    if !path.exists() {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, seed.as_mut());
        keyfile::write_seed(path, &seed)?;
    }
    keyfile::read_seed(path)
}

/// Makes the data directory if it is missing, and owner-only (0700) either way: it holds the key
/// files and the keystore.
fn owner_only_dir(dir: &Path) -> Result<(), KeyFileError> {
    let failed = |what: &str, e: std::io::Error| KeyFileError {
        path: dir.to_path_buf(),
        reason: format!(
            "cannot {what} the data directory ({e}); run `mkdir -p -m 700 {}`",
            dir.display()
        ),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| failed("create", e))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| failed("read", e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| failed("make owner-only (chmod 700)", e))?;
    }
    Ok(())
}

impl Identity {
    /// Loads the keys from `dir`, generating whichever is missing (and `dir` itself, owner-only;
    /// an existing `dir` is made owner-only).
    pub fn load_or_generate(dir: &Path) -> Result<Self, KeyFileError> {
        owner_only_dir(dir)?;
        let account = load_or_generate_seed(&dir.join(ACCOUNT_KEY_FILE))?;
        let transport = load_or_generate_seed(&dir.join(TRANSPORT_KEY_FILE))?;
        Ok(Self::from_seeds(&account, &transport))
    }

    /// Loads the keys from `dir`; refuses if either is missing (nothing is generated).
    pub fn load(dir: &Path) -> Result<Self, KeyFileError> {
        let account = keyfile::read_seed(&dir.join(ACCOUNT_KEY_FILE))?;
        let transport = keyfile::read_seed(&dir.join(TRANSPORT_KEY_FILE))?;
        Ok(Self::from_seeds(&account, &transport))
    }

    /// The identity with these seeds.
    pub fn from_seeds(account_seed: &[u8; 32], x25519_secret: &[u8; 32]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(*x25519_secret);
        let x25519_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        Self {
            signer: PartySigner::from_seed(account_seed),
            x25519_secret: Zeroizing::new(secret.to_bytes()),
            x25519_public,
        }
    }

    /// The protocol and extrinsic signer.
    pub fn signer(&self) -> &PartySigner {
        &self.signer
    }

    /// The TSS account (its party id in every protocol).
    pub fn account(&self) -> AccountId {
        self.signer.account()
    }

    /// The x25519 public key validators declare on chain for this TSS.
    pub fn x25519_public(&self) -> [u8; 32] {
        self.x25519_public
    }

    /// The x25519 secret, for the Noise handshake only.
    pub(crate) fn x25519_secret(&self) -> &[u8; 32] {
        &self.x25519_secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_loaded_and_not_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_generate(dir.path()).unwrap();
        let again = Identity::load_or_generate(dir.path()).unwrap();
        assert_eq!(first.account(), again.account());
        assert_eq!(first.x25519_public(), again.x25519_public());
        let shown = format!("{first:?}");
        assert!(!shown.contains(&hex::encode(first.x25519_secret())), "{shown}");
        assert!(!shown.contains(&hex::encode(first.signer().seed())), "{shown}");
    }

    #[test]
    fn the_data_directory_and_key_files_are_owner_only() {
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("tss");
        Identity::load_or_generate(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "a new data directory");
        assert_eq!(mode(&dir.join(ACCOUNT_KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.join(TRANSPORT_KEY_FILE)), 0o600);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Identity::load_or_generate(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "an existing data directory others could read");
    }
}
