//! The keystore: a redb file with two slots for the parent key share, `current` (what the TSS
//! signs with) and `next` (the holding slot a reshare fills), each sealed with
//! XChaCha20-Poly1305 under a key from a passphrase (Argon2id) or from a 0600 key file.
//!
//! Every sealed record is bound (as associated data) to the keystore's owner and the record's
//! name, so a record moved to another slot or another keystore does not open. A check record,
//! sealed when the keystore is made, tells a wrong passphrase or key file from a tampered slot.
//! Rotation (`next → current`) is one write transaction: after a crash either both slots are as
//! they were or the rotation happened, and the previous `current` is gone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use keywheel_chain::{AccountId, AttemptIndex, SessionIndex, Sharing};
use redb::{Database, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// File name of the keystore inside the data directory.
pub const KEYSTORE_FILE: &str = "keystore.redb";

/// Version of the keystore layout.
const FORMAT: u16 = 1;
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_meta");
const SEALED: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_sealed");
const CHECK_PLAINTEXT: &[u8] = b"keywheel keystore key check";
const NONCE_LEN: usize = 24;

/// Why the keystore cannot be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Another process holds the file.
    #[error("the keystore {0} is in use by another process (is another TSS running on this data directory?)")]
    InUse(PathBuf),
    /// The file is not a keystore, or is damaged beyond reading.
    #[error("the keystore {path} is damaged or not a keystore ({reason}); restore it from a backup")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What redb or the check said.
        reason: String,
    },
    /// The key does not open the keystore.
    #[error("the keystore {0} does not open with this key: wrong passphrase or key file (or its header was altered)")]
    WrongKey(PathBuf),
    /// The keystore was made with the other kind of key.
    #[error("the keystore {path} was made with {made_with}; configure that instead")]
    WrongKeyKind {
        /// The file.
        path: PathBuf,
        /// What it was made with.
        made_with: &'static str,
    },
    /// It belongs to another TSS account.
    #[error("the keystore {path} belongs to TSS account {owner}, not to this TSS's account")]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: AccountId,
    },
    /// A sealed record does not open although the key is right.
    #[error("the keystore {path}: record `{record}` was tampered with or damaged; restore the keystore from a backup")]
    Tampered {
        /// The file.
        path: PathBuf,
        /// Which record.
        record: String,
    },
    /// A rotation was asked for with an empty holding slot.
    #[error("nothing to rotate: the holding slot `next` is empty")]
    NothingToRotate,
    /// The key material could not be derived.
    #[error("keystore key: {0}")]
    Key(String),
    /// redb failed while the file was open.
    #[error("keystore storage: {0}")]
    Storage(String),
}

fn storage(e: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::Storage(e.to_string())
}

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
enum Kdf {
    Argon2id { salt: [u8; 16], m_kib: u32, t: u32, p: u32 },
    KeyFile,
}

/// The two slots of a parent key share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slot {
    /// The share the TSS signs with.
    Current,
    /// The holding slot: a reshare's result, until the chain says rotate.
    Next,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Current => "current",
            Slot::Next => "next",
        }
    }
}

/// The public facts about a held share: which attempt made it and the sharing it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// The session of the attempt that made it.
    pub session: SessionIndex,
    /// The attempt.
    pub attempt: AttemptIndex,
    /// The parent verifying key (compressed SEC1).
    #[serde(with = "keywheel_chain::encoding::hex_vec")]
    pub verifying_key: Vec<u8>,
    /// The sharing's threshold.
    pub threshold: u32,
    /// Every holder's public key share (compressed SEC1).
    #[serde(with = "keywheel_primitives::account::hex_map")]
    pub public_shares: BTreeMap<AccountId, Vec<u8>>,
}

impl SlotInfo {
    /// SHA-256 over the threshold and the public shares: names one sharing.
    pub fn sharing_digest(&self) -> [u8; 32] {
        Sharing::digest_of(self.threshold, &self.public_shares)
    }
}

/// SHA-256 over a sharing's threshold and public shares (until the devnet and the network test
/// call [`Sharing::digest_of`] themselves).
pub fn sharing_digest(threshold: u32, public_shares: &BTreeMap<AccountId, Vec<u8>>) -> [u8; 32] {
    Sharing::digest_of(threshold, public_shares)
}

/// A slot's content: its public facts and the secret share bytes.
pub struct Held {
    /// The public facts.
    pub info: SlotInfo,
    /// The encoded `ParentKeyShare` (secret; zeroized on drop).
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("info", &self.info).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct HeldRecord<'a> {
    info: &'a SlotInfo,
    secret: &'a [u8],
}

#[derive(Deserialize)]
struct HeldRecordOwned {
    info: SlotInfo,
    secret: Vec<u8>,
}

/// Argon2id cost of a new passphrase keystore (OWASP's baseline: 19 MiB, 2 passes).
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// The open keystore of one TSS.
pub struct Keystore {
    db: Database,
    path: PathBuf,
    owner: AccountId,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

fn derive_key(kdf: &Kdf, source: &KeySource, path: &Path) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
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

fn associated_data(owner: &AccountId, record: &str) -> Vec<u8> {
    keywheel_primitives::domain::keystore_record(owner, record)
}

/// What the meta table says, read before anything is written.
struct Meta {
    owner: AccountId,
    kdf: Kdf,
    check: Vec<u8>,
}

fn read_meta(db: &impl ReadableDatabase, path: &Path) -> Result<Option<Meta>, KeystoreError> {
    let unreadable = |reason: String| KeystoreError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let tx = db.begin_read().map_err(storage)?;
    let meta = match tx.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let get = |name: &str| -> Result<Vec<u8>, KeystoreError> {
        meta.get(name)
            .map_err(|e| unreadable(e.to_string()))?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| unreadable(format!("no `{name}` record")))
    };
    let format = get("format")?;
    if format != FORMAT.to_be_bytes() {
        return Err(unreadable(format!("keystore format {format:?} is not {FORMAT}")));
    }
    let owner: [u8; 32] = get("owner")?
        .try_into()
        .map_err(|_| unreadable("owner record is not 32 bytes".into()))?;
    let kdf = postcard::from_bytes(&get("kdf")?).map_err(|e| unreadable(format!("kdf record: {e}")))?;
    Ok(Some(Meta {
        owner: AccountId(owner),
        kdf,
        check: get("check")?,
    }))
}

impl Keystore {
    /// Opens the keystore at `path` for `owner`, creating it if the file does not exist.
    ///
    /// An existing file is checked through a read-only handle first (format, owner, and that
    /// the key opens its check record), so a refused file is left as it was.
    pub fn open(path: &Path, owner: AccountId, source: &KeySource) -> Result<Self, KeystoreError> {
        let in_use = |e: redb::DatabaseError| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => KeystoreError::InUse(path.to_path_buf()),
            other => KeystoreError::Unreadable {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        };
        let mut checked = None;
        if path.exists() {
            match redb::ReadOnlyDatabase::open(path) {
                Ok(db) => {
                    let meta = read_meta(&db, path)?.ok_or_else(|| KeystoreError::Unreadable {
                        path: path.to_path_buf(),
                        reason: "it has no keystore header".into(),
                    })?;
                    checked = Some(Self::check(path, owner, source, &meta)?);
                }
                // Left unclean by a killed process: redb repairs it when opened for writing.
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(e) => return Err(in_use(e)),
            }
        }
        let db = Database::create(path).map_err(in_use)?;
        let key = match checked {
            Some(key) => key,
            None => match read_meta(&db, path)? {
                Some(meta) => Self::check(path, owner, source, &meta)?,
                None => Self::initialise(&db, owner, source, path)?,
            },
        };
        Ok(Self {
            db,
            path: path.to_path_buf(),
            owner,
            key,
        })
    }

    fn check(
        path: &Path,
        owner: AccountId,
        source: &KeySource,
        meta: &Meta,
    ) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        if meta.owner != owner {
            return Err(KeystoreError::WrongOwner {
                path: path.to_path_buf(),
                owner: meta.owner,
            });
        }
        let key = derive_key(&meta.kdf, source, path)?;
        match open_sealed(&key, &owner, "check", &meta.check) {
            Some(plain) if plain.as_slice() == CHECK_PLAINTEXT => Ok(key),
            _ => Err(KeystoreError::WrongKey(path.to_path_buf())),
        }
    }

    fn initialise(
        db: &Database,
        owner: AccountId,
        source: &KeySource,
        path: &Path,
    ) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        let kdf = match source {
            KeySource::Passphrase(_) => {
                let mut salt = [0u8; 16];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
                Kdf::Argon2id {
                    salt,
                    m_kib: ARGON2_M_KIB,
                    t: ARGON2_T,
                    p: ARGON2_P,
                }
            }
            KeySource::KeyFile(_) => Kdf::KeyFile,
        };
        let key = derive_key(&kdf, source, path)?;
        let check = seal(&key, &owner, "check", CHECK_PLAINTEXT);
        let tx = db.begin_write().map_err(storage)?;
        {
            let mut meta = tx.open_table(META).map_err(storage)?;
            meta.insert("format", FORMAT.to_be_bytes().as_slice())
                .map_err(storage)?;
            meta.insert("owner", owner.0.as_slice()).map_err(storage)?;
            let kdf = postcard::to_allocvec(&kdf).map_err(storage)?;
            meta.insert("kdf", kdf.as_slice()).map_err(storage)?;
            meta.insert("check", check.as_slice()).map_err(storage)?;
            tx.open_table(SEALED).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(key)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_sealed(&self, record: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(SEALED).map_err(storage)?;
        let Some(sealed) = table.get(record).map_err(storage)? else {
            return Ok(None);
        };
        open_sealed(&self.key, &self.owner, record, sealed.value())
            .map(Some)
            .ok_or_else(|| self.tampered(record))
    }

    fn tampered(&self, record: &str) -> KeystoreError {
        KeystoreError::Tampered {
            path: self.path.clone(),
            record: record.into(),
        }
    }

    /// What a slot holds, if anything.
    pub fn get(&self, slot: Slot) -> Result<Option<Held>, KeystoreError> {
        let Some(plain) = self.read_sealed(slot.name())? else {
            return Ok(None);
        };
        let record: HeldRecordOwned = postcard::from_bytes(&plain).map_err(|_| self.tampered(slot.name()))?;
        Ok(Some(Held {
            info: record.info,
            secret: Zeroizing::new(record.secret),
        }))
    }

    /// The public facts of a slot, if it holds a share.
    pub fn info(&self, slot: Slot) -> Result<Option<SlotInfo>, KeystoreError> {
        Ok(self.get(slot)?.map(|held| held.info))
    }

    fn seal_held(&self, slot: Slot, held: &Held) -> Zeroizing<Vec<u8>> {
        let record = HeldRecord {
            info: &held.info,
            secret: &held.secret,
        };
        let plain = Zeroizing::new(postcard::to_allocvec(&record).expect("plain data serializes"));
        Zeroizing::new(seal(&self.key, &self.owner, slot.name(), &plain))
    }

    /// Puts a reshare's result into the holding slot (replacing what it held).
    pub fn put_next(&self, held: &Held) -> Result<(), KeystoreError> {
        let sealed = self.seal_held(Slot::Next, held);
        let tx = self.db.begin_write().map_err(storage)?;
        tx.open_table(SEALED)
            .map_err(storage)?
            .insert(Slot::Next.name(), sealed.as_slice())
            .map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// Moves `next` into `current` in one transaction; the previous `current` is gone.
    pub fn rotate(&mut self) -> Result<SlotInfo, KeystoreError> {
        let held = self.get(Slot::Next)?.ok_or(KeystoreError::NothingToRotate)?;
        let sealed = self.seal_held(Slot::Current, &held);
        let tx = self.db.begin_write().map_err(storage)?;
        {
            let mut table = tx.open_table(SEALED).map_err(storage)?;
            table.insert(Slot::Current.name(), sealed.as_slice()).map_err(storage)?;
            table.remove(Slot::Next.name()).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        self.compact();
        Ok(held.info)
    }

    /// Erases a slot (a departed member's share, a holding slot no rotation will use).
    pub fn erase(&mut self, slot: Slot) -> Result<(), KeystoreError> {
        let tx = self.db.begin_write().map_err(storage)?;
        tx.open_table(SEALED)
            .map_err(storage)?
            .remove(slot.name())
            .map_err(storage)?;
        tx.commit().map_err(storage)?;
        self.compact();
        Ok(())
    }

    /// Gives freed pages (which may still hold an old sealed share) back to the file system.
    fn compact(&mut self) {
        if let Err(e) = self.db.compact() {
            tracing::debug!("keystore compaction skipped: {e}");
        }
    }

    /// Records that this TSS began taking part in `(session, attempt)`, before it sends any
    /// protocol message: after a crash it must not run that attempt again (new randomness for
    /// the same session would be equivocation).
    pub fn mark_started(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<(), KeystoreError> {
        let plain = postcard::to_allocvec(&(session, attempt)).expect("plain data serializes");
        let sealed = seal(&self.key, &self.owner, "started", &plain);
        let tx = self.db.begin_write().map_err(storage)?;
        tx.open_table(SEALED)
            .map_err(storage)?
            .insert("started", sealed.as_slice())
            .map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// The last attempt this TSS began, if any.
    pub fn started(&self) -> Result<Option<(SessionIndex, AttemptIndex)>, KeystoreError> {
        let Some(plain) = self.read_sealed("started")? else {
            return Ok(None);
        };
        postcard::from_bytes(&plain)
            .map(Some)
            .map_err(|_| self.tampered("started"))
    }
}

fn seal(key: &[u8; 32], owner: &AccountId, record: &str, plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let aad = associated_data(owner, record);
    let ciphertext = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: &aad })
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    out
}

fn open_sealed(key: &[u8; 32], owner: &AccountId, record: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let aad = associated_data(owner, record);
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

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: AccountId = AccountId([7; 32]);

    fn passphrase(p: &str) -> KeySource {
        KeySource::Passphrase(Zeroizing::new(p.into()))
    }

    fn held(session: SessionIndex, secret: &[u8]) -> Held {
        Held {
            info: SlotInfo {
                session,
                attempt: 1,
                verifying_key: vec![2; 33],
                threshold: 2,
                public_shares: [(AccountId([1; 32]), vec![3; 33])].into(),
            },
            secret: Zeroizing::new(secret.to_vec()),
        }
    }

    fn raw_records(path: &Path) -> BTreeMap<String, Vec<u8>> {
        let db = Database::open(path).unwrap();
        let tx = db.begin_read().unwrap();
        let table = tx.open_table(SEALED).unwrap();
        redb::ReadableTable::iter(&table)
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().to_string(), v.value().to_vec())
            })
            .collect()
    }

    fn write_raw(path: &Path, record: &str, bytes: &[u8]) {
        let db = Database::open(path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(SEALED).unwrap().insert(record, bytes).unwrap();
        tx.commit().unwrap();
    }

    #[test]
    fn shares_survive_reopening_and_rotation_moves_next_to_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = Keystore::open(&path, OWNER, &passphrase("correct horse")).unwrap();
        assert!(ks.get(Slot::Current).unwrap().is_none());
        assert!(matches!(ks.rotate(), Err(KeystoreError::NothingToRotate)));

        ks.put_next(&held(1, b"first secret")).unwrap();
        assert_eq!(ks.rotate().unwrap().session, 1);
        ks.put_next(&held(2, b"second secret")).unwrap();
        drop(ks);

        let mut ks = Keystore::open(&path, OWNER, &passphrase("correct horse")).unwrap();
        assert_eq!(
            ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(),
            b"first secret"
        );
        assert_eq!(ks.info(Slot::Next).unwrap().unwrap().session, 2);
        ks.rotate().unwrap();
        let current = ks.get(Slot::Current).unwrap().unwrap();
        assert_eq!(current.secret.as_slice(), b"second secret");
        assert!(
            ks.get(Slot::Next).unwrap().is_none(),
            "rotation empties the holding slot"
        );
        drop(ks);

        // The previous share is gone from the records, and no secret is stored in the clear.
        let file = std::fs::read(&path).unwrap();
        assert!(
            !file.windows(12).any(|w| w == b"first secret"),
            "the old share's plaintext is in the file"
        );
        assert!(
            !file.windows(13).any(|w| w == b"second secret"),
            "a share is stored in the clear"
        );
        assert_eq!(raw_records(&path).keys().collect::<Vec<_>>(), ["current"]);
    }

    #[test]
    fn wrong_passphrase_or_key_kind_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let ks = Keystore::open(&path, OWNER, &passphrase("right")).unwrap();
        ks.put_next(&held(1, b"secret")).unwrap();
        drop(ks);
        let before = std::fs::read(&path).unwrap();

        let err = Keystore::open(&path, OWNER, &passphrase("wrong")).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongKey(_)), "{err}");
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        let key_file = dir.path().join("ks.key");
        keywheel_rpc::keyfile::write_seed(&key_file, &[5; 32]).unwrap();
        let err = Keystore::open(&path, OWNER, &KeySource::KeyFile(key_file)).unwrap_err();
        assert!(err.to_string().contains("was made with a passphrase"), "{err}");
        let err = Keystore::open(&path, AccountId([8; 32]), &passphrase("right")).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongOwner { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "a refused open changed the file");

        let ks = Keystore::open(&path, OWNER, &passphrase("right")).unwrap();
        assert_eq!(ks.get(Slot::Next).unwrap().unwrap().secret.as_slice(), b"secret");
    }

    #[test]
    fn wrong_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let (right, wrong) = (dir.path().join("right.key"), dir.path().join("wrong.key"));
        keywheel_rpc::keyfile::write_seed(&right, &[1; 32]).unwrap();
        keywheel_rpc::keyfile::write_seed(&wrong, &[2; 32]).unwrap();
        Keystore::open(&path, OWNER, &KeySource::KeyFile(right.clone())).unwrap();
        let err = Keystore::open(&path, OWNER, &KeySource::KeyFile(wrong)).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongKey(_)), "{err}");
        Keystore::open(&path, OWNER, &KeySource::KeyFile(right)).unwrap();
    }

    #[test]
    fn tampered_or_moved_records_are_named_never_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        ks.put_next(&held(1, b"one")).unwrap();
        ks.rotate().unwrap();
        ks.put_next(&held(2, b"two")).unwrap();
        drop(ks);
        let records = raw_records(&path);

        // One flipped bit in the sealed current share.
        let mut flipped = records["current"].clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        write_raw(&path, "current", &flipped);
        let ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        let err = ks.get(Slot::Current).unwrap_err();
        assert!(
            matches!(&err, KeystoreError::Tampered { record, .. } if record == "current"),
            "{err}"
        );
        drop(ks);

        // The holding slot's record copied over `current` (a forged early rotation).
        write_raw(&path, "current", &records["next"]);
        let ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        assert!(matches!(ks.get(Slot::Current), Err(KeystoreError::Tampered { .. })));
        assert_eq!(ks.get(Slot::Next).unwrap().unwrap().secret.as_slice(), b"two");
    }

    #[test]
    fn damaged_or_foreign_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        let whole = std::fs::read(&path).unwrap();

        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let err = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap_err();
        assert!(matches!(err, KeystoreError::Unreadable { .. }), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap().len(),
            whole.len() / 2,
            "a refused file was changed"
        );

        std::fs::write(&path, b"not a database at all").unwrap();
        let err = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap_err();
        assert!(matches!(err, KeystoreError::Unreadable { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"not a database at all");

        let other = dir.path().join("other.redb");
        Database::create(&other).unwrap();
        let err = Keystore::open(&other, OWNER, &passphrase("pw")).unwrap_err();
        assert!(err.to_string().contains("no keystore header"), "{err}");
    }

    #[test]
    fn an_open_keystore_cannot_be_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let _ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        let err = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap_err();
        assert!(matches!(err, KeystoreError::InUse(_)), "{err}");
    }

    #[test]
    fn the_started_marker_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        assert_eq!(ks.started().unwrap(), None);
        ks.mark_started(3, 2).unwrap();
        drop(ks);
        let ks = Keystore::open(&path, OWNER, &passphrase("pw")).unwrap();
        assert_eq!(ks.started().unwrap(), Some((3, 2)));
    }
}
