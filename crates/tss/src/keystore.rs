//! The keystore: a redb file with two slots for the parent key share, `current` (what the TSS
//! signs with) and `next` (the holding slot a reshare fills), the shares it *retired* from them,
//! and the markers the orchestrator keeps (`started`, the chain binding, the chain high-water
//! mark). Every record is sealed with XChaCha20-Poly1305 under a key from a passphrase
//! (Argon2id) or from a 0600 key file.
//!
//! **Nothing lost.** No method destroys a share on its own say: rotation and [`Keystore::retire`]
//! move a share into the retired set (sealed as before), [`Keystore::put_next`] retires a
//! different share it would replace, and only [`Keystore::shred`] deletes one retired share —
//! when its caller has checked that it is safe to.
//!
//! **Tables** (format 2):
//! - `keywheel_keystore_meta`: `format` (u16, big-endian), `owner` (32 bytes), `kdf` (postcard)
//!   in the clear; `check` (sealed fixed text, tells a wrong key from a damaged record)
//!   and `index` (sealed, see below).
//! - `keywheel_keystore_sealed`: the records `current`, `next`, `started`, `chain`,
//!   `high_water`.
//! - `keywheel_keystore_retired`: one record per retired share, keyed by its id
//!   (`s{session}-a{attempt}-{n}`); its name in the index and in its associated data is
//!   `retired/{id}`.
//!
//! **Sealing.** A record is `nonce (24 bytes) ‖ ciphertext`; its associated data is
//! `keystore_record(owner, "{name}@{generation}")` (`keywheel/keystore/v1/ ‖ owner ‖ / ‖ label`),
//! where `generation` is the number of the write transaction that last wrote it. The `check` and
//! `index` records use the labels `check` and `index`. So a record copied to another name, to
//! another keystore, or back from an older copy of itself does not open.
//!
//! **Index.** The sealed `index` holds the number of the last write transaction, the number of
//! shares ever retired, and the name and generation of every record present. Every change
//! rewrites it in the same write transaction. On open, on every read and in every write, the
//! records in the file must be exactly the ones the index names, and the record read must open
//! under the generation the index gives it: a deleted record, one that is there but was not
//! written by the keystore, or one rolled back to an older copy is refused as
//! [`KeystoreError::Tampered`], never read as empty. (A damaged record does not stop the others
//! from being read.) What this cannot see from inside the file: the whole file replaced by an
//! older copy of itself that is consistent (a restored backup). The orchestrator tells that case
//! from the chain (the chain binding and the high-water mark, which the backup has older).
//!
//! Each change is one redb write transaction: after a crash the keystore is as it was before the
//! change or after it. The file is made readable by its owner only (0600) on every open.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use keywheel_chain::{to_hex, AccountId, AttemptIndex, SessionIndex, Sharing};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// File name of the keystore inside the data directory.
pub const KEYSTORE_FILE: &str = "keystore.redb";

/// Version of the keystore layout (2: generations, index, retired shares, chain records).
const FORMAT: u16 = 2;
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_meta");
const SEALED: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_sealed");
const RETIRED: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_retired");
/// What the `check` record seals.
const CHECK_PLAINTEXT: &[u8] = b"keywheel keystore key check";
const NONCE_LEN: usize = 24;

/// Record names (in the index and in the associated data).
const CHECK: &str = "check";
const INDEX: &str = "index";
const STARTED: &str = "started";
const CHAIN: &str = "chain";
const HIGH_WATER: &str = "high_water";
const RETIRED_PREFIX: &str = "retired/";

/// What is wrong with a tampered record.
const MISSING: &str =
    "is missing although the keystore wrote it (deleted, or part of the file restored from an older copy)";
const UNCOMMITTED: &str =
    "is present although the keystore did not write it (added, or part of the file restored from an older copy)";
const NOT_LAST: &str =
    "is not the version the keystore last wrote (rolled back to an older copy, moved, altered or damaged)";

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
    /// The file is a keystore of another layout version.
    #[error(
        "the keystore {path} has format {found}, and this TSS reads format {FORMAT} only (it does not migrate \
         keystores); re-initialise: move the file aside and start the TSS again to make a new keystore"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// The format it has.
        found: u16,
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
    /// A sealed record does not open although the key is right, is missing although the index
    /// names it, is present although the index does not, or is an older version of itself.
    #[error("the keystore {path}: record `{record}` {what}; restore the keystore from a backup")]
    Tampered {
        /// The file.
        path: PathBuf,
        /// Which record.
        record: String,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A rotation was asked for with an empty holding slot.
    #[error("nothing to rotate: the holding slot `next` is empty")]
    NothingToRotate,
    /// The keystore belongs to another chain than the one it is asked to bind to.
    #[error(
        "the keystore {path} belongs to the chain with {bound}, and the node serves the chain with {offered}: \
         point the TSS at a node of its own chain, or give a TSS of the other chain its own data directory"
    )]
    OtherChain {
        /// The file.
        path: PathBuf,
        /// The chain it is bound to.
        bound: Box<ChainBinding>,
        /// The chain it was asked to bind to.
        offered: Box<ChainBinding>,
    },
    /// The chain is shown at a point behind (or beside) what this TSS saw of it before.
    #[error(
        "the keystore {path} has seen the chain up to {seen}, and is now shown {offered}: the node is behind what \
         this TSS saw (restored from an older backup?) or on another fork; let the node sync past what the TSS \
         saw, or check that it serves the same chain"
    )]
    Behind {
        /// The file.
        path: PathBuf,
        /// The highest point recorded.
        seen: Box<HighWater>,
        /// The point offered.
        offered: Box<HighWater>,
    },
    /// An attempt earlier than the last one this TSS began was to be recorded as begun.
    #[error(
        "the keystore {path} records that this TSS began attempt {} of session {}, and will not record the \
         earlier attempt {} of session {}: the chain it follows is behind what it saw (a node restored from an \
         older backup?); let the node sync to the chain it followed before",
        .started.1, .started.0, .offered.1, .offered.0
    )]
    StartedBehind {
        /// The file.
        path: PathBuf,
        /// The last attempt begun: (session, attempt).
        started: (SessionIndex, AttemptIndex),
        /// The attempt offered: (session, attempt).
        offered: (SessionIndex, AttemptIndex),
    },
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

/// The public facts about a retired share (one taken out of a slot and kept, never deleted but by
/// [`Keystore::shred`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredInfo {
    /// Its id in the keystore, stable while it is kept: `s{session}-a{attempt}-{n}` (the
    /// attempt that made it, and `n` counting every share this keystore retired).
    pub id: String,
    /// The share's public facts.
    pub info: SlotInfo,
    /// The chain session in which it was retired.
    pub retired_in_session: SessionIndex,
}

/// The chain a keystore belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBinding {
    /// The network id.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub network: [u8; 32],
    /// The genesis block's hash.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub genesis_hash: [u8; 32],
}

impl std::fmt::Display for ChainBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network {} and genesis {}",
            to_hex(&self.network),
            to_hex(&self.genesis_hash)
        )
    }
}

/// The furthest point of the chain the TSS has seen (and acted on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighWater {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub block_hash: [u8; 32],
    /// The chain's session at that block.
    pub session: SessionIndex,
    /// The digest of the chain's sharing at that block, if it had one.
    #[serde(with = "hex_opt_array")]
    pub sharing: Option<[u8; 32]>,
}

impl std::fmt::Display for HighWater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "block {} ({}, session {})",
            self.height,
            to_hex(&self.block_hash),
            self.session
        )
    }
}

/// Serde for `Option<[u8; 32]>`: hex when human-readable, bytes otherwise.
mod hex_opt_array {
    use keywheel_chain::encoding::{from_hex, to_hex};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            bytes.as_ref().map(|b| to_hex(b)).serialize(serializer)
        } else {
            bytes.serialize(serializer)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<[u8; 32]>, D::Error> {
        if deserializer.is_human_readable() {
            Option::<String>::deserialize(deserializer)?
                .map(|s| {
                    from_hex(&s)?
                        .try_into()
                        .map_err(|b: Vec<u8>| format!("expected 32 bytes of hex, got {}", b.len()))
                })
                .transpose()
                .map_err(D::Error::custom)
        } else {
            Option::deserialize(deserializer)
        }
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

#[derive(Serialize)]
struct RetiredRecord<'a> {
    info: &'a SlotInfo,
    secret: &'a [u8],
    retired_in_session: SessionIndex,
}

#[derive(Deserialize)]
struct RetiredRecordOwned {
    info: SlotInfo,
    secret: Vec<u8>,
    retired_in_session: SessionIndex,
}

fn encode_held(held: &Held) -> Zeroizing<Vec<u8>> {
    let record = HeldRecord {
        info: &held.info,
        secret: &held.secret,
    };
    Zeroizing::new(postcard::to_allocvec(&record).expect("plain data serializes"))
}

fn decode_held(plain: &[u8]) -> Option<Held> {
    let record: HeldRecordOwned = postcard::from_bytes(plain).ok()?;
    Some(Held {
        info: record.info,
        secret: Zeroizing::new(record.secret),
    })
}

fn decode_retired(id: &str, plain: &[u8]) -> Option<(RetiredInfo, Zeroizing<Vec<u8>>)> {
    let record: RetiredRecordOwned = postcard::from_bytes(plain).ok()?;
    let secret = Zeroizing::new(record.secret);
    let info = RetiredInfo {
        id: id.to_owned(),
        info: record.info,
        retired_in_session: record.retired_in_session,
    };
    Some((info, secret))
}

/// The sealed index: what the file must hold.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    /// The number of the last write transaction (a record's generation is the number of the one
    /// that last wrote it).
    generation: u64,
    /// How many shares this keystore ever retired (the `n` of the next retired id).
    retirements: u64,
    /// Every record present, by name, with its generation.
    records: BTreeMap<String, u64>,
}

/// The table a record lives in, and its key there.
fn location(name: &str) -> (TableDefinition<'static, &'static str, &'static [u8]>, &str) {
    match name.strip_prefix(RETIRED_PREFIX) {
        Some(id) => (RETIRED, id),
        None => (SEALED, name),
    }
}

fn retired_name(id: &str) -> String {
    format!("{RETIRED_PREFIX}{id}")
}

/// The label in a record's associated data: its name and generation.
fn label(name: &str, generation: u64) -> String {
    format!("{name}@{generation}")
}

/// Adds the names of a table's records to `out`.
fn names_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
    out: &mut BTreeSet<String>,
) -> Result<(), KeystoreError> {
    for entry in table.iter().map_err(storage)? {
        let (key, _) = entry.map_err(storage)?;
        out.insert(format!("{prefix}{}", key.value()));
    }
    Ok(())
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

fn associated_data(owner: &AccountId, label: &str) -> Vec<u8> {
    keywheel_primitives::domain::keystore_record(owner, label)
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
    let format: [u8; 2] = get("format")?
        .try_into()
        .map_err(|_| unreadable("format record is not 2 bytes".into()))?;
    let format = u16::from_be_bytes(format);
    if format != FORMAT {
        return Err(KeystoreError::Format {
            path: path.to_path_buf(),
            found: format,
        });
    }
    let owner: [u8; 32] = get("owner")?
        .try_into()
        .map_err(|_| unreadable("owner record is not 32 bytes".into()))?;
    let kdf = postcard::from_bytes(&get("kdf")?).map_err(|e| unreadable(format!("kdf record: {e}")))?;
    Ok(Some(Meta {
        owner: AccountId(owner),
        kdf,
        check: get(CHECK)?,
    }))
}

/// Makes the file readable and writable by its owner only.
fn owner_only(path: &Path) -> Result<(), KeystoreError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        KeystoreError::Storage(format!(
            "cannot make the keystore {} readable by its owner only ({e}); run `chmod 600 {}` as its owner",
            path.display(),
            path.display()
        ))
    })
}

/// The key and what it is bound to: seals, opens and checks records.
struct Sealer<'a> {
    path: &'a Path,
    owner: &'a AccountId,
    key: &'a [u8; 32],
}

impl Sealer<'_> {
    fn tampered(&self, record: &str, what: &'static str) -> KeystoreError {
        KeystoreError::Tampered {
            path: self.path.to_path_buf(),
            record: record.into(),
            what,
        }
    }

    fn seal(&self, name: &str, generation: u64, plain: &[u8]) -> Vec<u8> {
        seal(self.key, self.owner, &label(name, generation), plain)
    }

    /// The index, from the meta table.
    fn index(&self, meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Index, KeystoreError> {
        let sealed = meta
            .get(INDEX)
            .map_err(storage)?
            .ok_or_else(|| self.tampered(INDEX, MISSING))?;
        let plain =
            open_sealed(self.key, self.owner, INDEX, sealed.value()).ok_or_else(|| self.tampered(INDEX, NOT_LAST))?;
        postcard::from_bytes(&plain).map_err(|_| self.tampered(INDEX, NOT_LAST))
    }

    /// Refuses a file whose records are not exactly the ones the index names.
    fn check_present(&self, index: &Index, present: &BTreeSet<String>) -> Result<(), KeystoreError> {
        if let Some(missing) = index.records.keys().find(|name| !present.contains(*name)) {
            return Err(self.tampered(missing, MISSING));
        }
        if let Some(extra) = present.iter().find(|name| !index.records.contains_key(*name)) {
            return Err(self.tampered(extra, UNCOMMITTED));
        }
        Ok(())
    }

    /// The index of a read transaction, once the file's records are the ones it names.
    fn verified_index(&self, tx: &ReadTransaction) -> Result<Index, KeystoreError> {
        let index = self.index(&tx.open_table(META).map_err(storage)?)?;
        let mut present = BTreeSet::new();
        for (table, prefix) in [(SEALED, ""), (RETIRED, RETIRED_PREFIX)] {
            match tx.open_table(table) {
                Ok(table) => names_in(&table, prefix, &mut present)?,
                // No table, no records: the check below names any the index expects.
                Err(redb::TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        self.check_present(&index, &present)?;
        Ok(index)
    }

    /// Opens a record the index names, under the generation it gives; `None` if it names none.
    fn open(
        &self,
        index: &Index,
        table: &impl ReadableTable<&'static str, &'static [u8]>,
        name: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        let Some(&generation) = index.records.get(name) else {
            return Ok(None);
        };
        let sealed = table
            .get(location(name).1)
            .map_err(storage)?
            .ok_or_else(|| self.tampered(name, MISSING))?;
        open_sealed(self.key, self.owner, &label(name, generation), sealed.value())
            .map(Some)
            .ok_or_else(|| self.tampered(name, NOT_LAST))
    }
}

/// One change: a write transaction that checked the file against the index first, and rewrites
/// the index with what it changed when it commits. Dropped without `commit`, it changes nothing.
struct Change<'a> {
    sealer: Sealer<'a>,
    tx: WriteTransaction,
    /// The index as it will be committed; its `generation` is this change's.
    index: Index,
}

impl<'a> Change<'a> {
    fn begin(ks: &'a Keystore) -> Result<Self, KeystoreError> {
        let sealer = ks.sealer();
        let tx = ks.db.begin_write().map_err(storage)?;
        let mut index = sealer.index(&tx.open_table(META).map_err(storage)?)?;
        let mut present = BTreeSet::new();
        for (table, prefix) in [(SEALED, ""), (RETIRED, RETIRED_PREFIX)] {
            names_in(&tx.open_table(table).map_err(storage)?, prefix, &mut present)?;
        }
        sealer.check_present(&index, &present)?;
        index.generation = index
            .generation
            .checked_add(1)
            .ok_or_else(|| sealer.tampered(INDEX, NOT_LAST))?;
        Ok(Self { sealer, tx, index })
    }

    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        if !self.index.records.contains_key(name) {
            return Ok(None);
        }
        let table = self.tx.open_table(location(name).0).map_err(storage)?;
        self.sealer.open(&self.index, &table, name)
    }

    fn get_held(&self, slot: Slot) -> Result<Option<Held>, KeystoreError> {
        let Some(plain) = self.get(slot.name())? else {
            return Ok(None);
        };
        decode_held(&plain)
            .map(Some)
            .ok_or_else(|| self.sealer.tampered(slot.name(), NOT_LAST))
    }

    fn put(&mut self, name: &str, plain: &[u8]) -> Result<(), KeystoreError> {
        let generation = self.index.generation;
        let sealed = self.sealer.seal(name, generation, plain);
        let (table, key) = location(name);
        self.tx
            .open_table(table)
            .map_err(storage)?
            .insert(key, sealed.as_slice())
            .map_err(storage)?;
        self.index.records.insert(name.to_owned(), generation);
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), KeystoreError> {
        let (table, key) = location(name);
        self.tx
            .open_table(table)
            .map_err(storage)?
            .remove(key)
            .map_err(storage)?;
        self.index.records.remove(name);
        Ok(())
    }

    /// Moves a slot's share into the retired set.
    fn retire(&mut self, slot: Slot, retired_in_session: SessionIndex) -> Result<Option<RetiredInfo>, KeystoreError> {
        let Some(held) = self.get_held(slot)? else {
            return Ok(None);
        };
        let n = self.index.retirements;
        self.index.retirements = n.checked_add(1).ok_or_else(|| self.sealer.tampered(INDEX, NOT_LAST))?;
        let id = format!("s{}-a{}-{n}", held.info.session, held.info.attempt);
        let record = RetiredRecord {
            info: &held.info,
            secret: &held.secret,
            retired_in_session,
        };
        let plain = Zeroizing::new(postcard::to_allocvec(&record).expect("plain data serializes"));
        self.put(&retired_name(&id), &plain)?;
        self.remove(slot.name())?;
        Ok(Some(RetiredInfo {
            id,
            info: held.info,
            retired_in_session,
        }))
    }

    fn commit(self) -> Result<(), KeystoreError> {
        let plain = Zeroizing::new(postcard::to_allocvec(&self.index).expect("plain data serializes"));
        let sealed = seal(self.sealer.key, self.sealer.owner, INDEX, &plain);
        self.tx
            .open_table(META)
            .map_err(storage)?
            .insert(INDEX, sealed.as_slice())
            .map_err(storage)?;
        self.tx.commit().map_err(storage)
    }
}

impl Keystore {
    /// Opens the keystore at `path` for `owner`, creating it if the file does not exist, and
    /// makes the file readable by its owner only (0600).
    ///
    /// An existing file is checked through a read-only handle first (format, owner, that the
    /// key opens its check record, and that its records are the ones its index names), so a
    /// refused file is left as it was.
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
                    let key = Self::check(path, owner, source, &meta)?;
                    let sealer = Sealer {
                        path,
                        owner: &owner,
                        key: &key,
                    };
                    sealer.verified_index(&db.begin_read().map_err(storage)?)?;
                    checked = Some(key);
                }
                // Left unclean by a killed process: redb repairs it when opened for writing.
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(e) => return Err(in_use(e)),
            }
        }
        let db = Database::create(path).map_err(in_use)?;
        // Before anything is sealed into a new file, and on every open of an existing one.
        owner_only(path)?;
        let key = match checked {
            Some(key) => key,
            None => match read_meta(&db, path)? {
                Some(meta) => Self::check(path, owner, source, &meta)?,
                None => Self::initialise(&db, owner, source, path)?,
            },
        };
        let keystore = Self {
            db,
            path: path.to_path_buf(),
            owner,
            key,
        };
        keystore
            .sealer()
            .verified_index(&keystore.db.begin_read().map_err(storage)?)?;
        Ok(keystore)
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
        match open_sealed(&key, &owner, CHECK, &meta.check) {
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
        let check = seal(&key, &owner, CHECK, CHECK_PLAINTEXT);
        let index = postcard::to_allocvec(&Index::default()).expect("plain data serializes");
        let index = seal(&key, &owner, INDEX, &index);
        let tx = db.begin_write().map_err(storage)?;
        {
            let mut meta = tx.open_table(META).map_err(storage)?;
            meta.insert("format", FORMAT.to_be_bytes().as_slice())
                .map_err(storage)?;
            meta.insert("owner", owner.0.as_slice()).map_err(storage)?;
            let kdf = postcard::to_allocvec(&kdf).map_err(storage)?;
            meta.insert("kdf", kdf.as_slice()).map_err(storage)?;
            meta.insert(CHECK, check.as_slice()).map_err(storage)?;
            meta.insert(INDEX, index.as_slice()).map_err(storage)?;
            tx.open_table(SEALED).map_err(storage)?;
            tx.open_table(RETIRED).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(key)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sealer(&self) -> Sealer<'_> {
        Sealer {
            path: &self.path,
            owner: &self.owner,
            key: &self.key,
        }
    }

    fn tampered(&self, record: &str) -> KeystoreError {
        self.sealer().tampered(record, NOT_LAST)
    }

    /// A record's plaintext, once the file's records are the ones the index names.
    fn read(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let sealer = self.sealer();
        let index = sealer.verified_index(&tx)?;
        if !index.records.contains_key(name) {
            return Ok(None);
        }
        let table = tx.open_table(location(name).0).map_err(storage)?;
        sealer.open(&index, &table, name)
    }

    /// What a slot holds, if anything.
    pub fn get(&self, slot: Slot) -> Result<Option<Held>, KeystoreError> {
        let Some(plain) = self.read(slot.name())? else {
            return Ok(None);
        };
        decode_held(&plain).map(Some).ok_or_else(|| self.tampered(slot.name()))
    }

    /// The public facts of a slot, if it holds a share.
    pub fn info(&self, slot: Slot) -> Result<Option<SlotInfo>, KeystoreError> {
        Ok(self.get(slot)?.map(|held| held.info))
    }

    /// Puts a reshare's result into the holding slot. A different share the slot held is
    /// retired (in the session of the new share's attempt), never overwritten.
    pub fn put_next(&self, held: &Held) -> Result<(), KeystoreError> {
        let mut change = Change::begin(self)?;
        if let Some(old) = change.get_held(Slot::Next)? {
            if old.info == held.info && old.secret == held.secret {
                return Ok(());
            }
            change.retire(Slot::Next, held.info.session)?;
        }
        change.put(Slot::Next.name(), &encode_held(held))?;
        change.commit()
    }

    /// Moves `next` into `current` in one transaction; the previous `current`, if any, is retired
    /// in `retired_in_session` (the chain's session) in the same transaction.
    pub fn rotate(&mut self, retired_in_session: SessionIndex) -> Result<SlotInfo, KeystoreError> {
        let info = {
            let mut change = Change::begin(self)?;
            let held = change.get_held(Slot::Next)?.ok_or(KeystoreError::NothingToRotate)?;
            change.retire(Slot::Current, retired_in_session)?;
            change.put(Slot::Current.name(), &encode_held(&held))?;
            change.remove(Slot::Next.name())?;
            change.commit()?;
            held.info
        };
        self.compact();
        Ok(info)
    }

    /// Moves a slot's share into the retired set in one transaction (a departed member's share, a
    /// holding slot no rotation will use); `None` if the slot was empty. The share stays in the
    /// keystore, sealed, until [`Keystore::shred`].
    pub fn retire(
        &mut self,
        slot: Slot,
        retired_in_session: SessionIndex,
    ) -> Result<Option<RetiredInfo>, KeystoreError> {
        let mut change = Change::begin(self)?;
        let Some(retired) = change.retire(slot, retired_in_session)? else {
            return Ok(None);
        };
        change.commit()?;
        Ok(Some(retired))
    }

    /// The retired shares' public facts, in the order they were retired.
    pub fn retired(&self) -> Result<Vec<RetiredInfo>, KeystoreError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let sealer = self.sealer();
        let index = sealer.verified_index(&tx)?;
        let mut names: Vec<(u64, &str)> = index
            .records
            .iter()
            .filter(|(name, _)| name.starts_with(RETIRED_PREFIX))
            .map(|(name, generation)| (*generation, name.as_str()))
            .collect();
        names.sort();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let table = tx.open_table(RETIRED).map_err(storage)?;
        let mut out = Vec::with_capacity(names.len());
        for (_, name) in names {
            let plain = sealer
                .open(&index, &table, name)?
                .ok_or_else(|| sealer.tampered(name, MISSING))?;
            let (info, _secret) = decode_retired(location(name).1, &plain).ok_or_else(|| self.tampered(name))?;
            out.push(info);
        }
        Ok(out)
    }

    /// A retired share, so that it can be recovered; `None` if no share has that id.
    pub fn get_retired(&self, id: &str) -> Result<Option<Held>, KeystoreError> {
        let name = retired_name(id);
        let Some(plain) = self.read(&name)? else {
            return Ok(None);
        };
        let (retired, secret) = decode_retired(id, &plain).ok_or_else(|| self.tampered(&name))?;
        Ok(Some(Held {
            info: retired.info,
            secret,
        }))
    }

    /// Deletes one retired share for good, then compacts the file so the freed pages go back to
    /// the file system; `false` if no retired share has that id.
    ///
    /// The keystore does not check that this is safe: **the caller must**. A retired share may be
    /// the only copy of a share the chain still names (a node that showed an old or another chain
    /// made the TSS retire it), so shred only a share retired at least the policy's number of
    /// sessions ago, on a chain the caller has verified (bound with [`Keystore::bind_chain`], at
    /// or above [`Keystore::high_water`]), whose sharing is not this share's.
    pub fn shred(&mut self, id: &str) -> Result<bool, KeystoreError> {
        let name = retired_name(id);
        {
            let mut change = Change::begin(self)?;
            if !change.index.records.contains_key(&name) {
                return Ok(false);
            }
            change.remove(&name)?;
            change.commit()?;
        }
        self.compact();
        Ok(true)
    }

    /// Gives freed pages (which may still hold an old sealed share) back to the file system.
    fn compact(&mut self) {
        if let Err(e) = self.db.compact() {
            tracing::debug!("keystore compaction skipped: {e}");
        }
    }

    /// Records that this TSS began taking part in `(session, attempt)`, before it sends any
    /// protocol message: after a crash it must not run that attempt again (new randomness for
    /// the same session would be equivocation). The record only moves forward: an attempt
    /// earlier than the one recorded is refused ([`KeystoreError::StartedBehind`]); the same one
    /// again is Ok.
    pub fn mark_started(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<(), KeystoreError> {
        let mut change = Change::begin(self)?;
        if let Some(plain) = change.get(STARTED)? {
            let started: (SessionIndex, AttemptIndex) =
                postcard::from_bytes(&plain).map_err(|_| self.tampered(STARTED))?;
            if (session, attempt) < started {
                return Err(KeystoreError::StartedBehind {
                    path: self.path.clone(),
                    started,
                    offered: (session, attempt),
                });
            }
            if (session, attempt) == started {
                return Ok(());
            }
        }
        let plain = postcard::to_allocvec(&(session, attempt)).expect("plain data serializes");
        change.put(STARTED, &plain)?;
        change.commit()
    }

    /// The last attempt this TSS began, if any.
    pub fn started(&self) -> Result<Option<(SessionIndex, AttemptIndex)>, KeystoreError> {
        self.read_value(STARTED)
    }

    fn read_value<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>, KeystoreError> {
        let Some(plain) = self.read(name)? else {
            return Ok(None);
        };
        postcard::from_bytes(&plain).map(Some).map_err(|_| self.tampered(name))
    }

    /// The chain this keystore belongs to, once bound.
    pub fn chain_binding(&self) -> Result<Option<ChainBinding>, KeystoreError> {
        self.read_value(CHAIN)
    }

    /// Binds the keystore to a chain, once: the same binding again is Ok, another is refused
    /// ([`KeystoreError::OtherChain`]).
    pub fn bind_chain(&mut self, binding: &ChainBinding) -> Result<(), KeystoreError> {
        let mut change = Change::begin(self)?;
        if let Some(plain) = change.get(CHAIN)? {
            let bound: ChainBinding = postcard::from_bytes(&plain).map_err(|_| self.tampered(CHAIN))?;
            if bound == *binding {
                return Ok(());
            }
            return Err(KeystoreError::OtherChain {
                path: self.path.clone(),
                bound: Box::new(bound),
                offered: Box::new(*binding),
            });
        }
        let plain = postcard::to_allocvec(binding).expect("plain data serializes");
        change.put(CHAIN, &plain)?;
        change.commit()
    }

    /// The furthest point of the chain recorded, if any.
    pub fn high_water(&self) -> Result<Option<HighWater>, KeystoreError> {
        self.read_value(HIGH_WATER)
    }

    /// Records a further point of the chain. A lower height, or the same height with another
    /// block hash, is refused ([`KeystoreError::Behind`]); the same block again is Ok (and writes
    /// nothing).
    pub fn raise_high_water(&mut self, mark: &HighWater) -> Result<(), KeystoreError> {
        let mut change = Change::begin(self)?;
        if let Some(plain) = change.get(HIGH_WATER)? {
            let seen: HighWater = postcard::from_bytes(&plain).map_err(|_| self.tampered(HIGH_WATER))?;
            if mark.height == seen.height && mark.block_hash == seen.block_hash {
                return Ok(());
            }
            if mark.height <= seen.height {
                return Err(KeystoreError::Behind {
                    path: self.path.clone(),
                    seen: Box::new(seen),
                    offered: Box::new(mark.clone()),
                });
            }
        }
        let plain = postcard::to_allocvec(mark).expect("plain data serializes");
        change.put(HIGH_WATER, &plain)?;
        change.commit()
    }
}

fn seal(key: &[u8; 32], owner: &AccountId, label: &str, plain: &[u8]) -> Vec<u8> {
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

fn open_sealed(key: &[u8; 32], owner: &AccountId, label: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
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
        raw_table(path, SEALED)
    }

    fn raw_table(path: &Path, table: TableDefinition<&str, &[u8]>) -> BTreeMap<String, Vec<u8>> {
        let db = Database::open(path).unwrap();
        let tx = db.begin_read().unwrap();
        let table = tx.open_table(table).unwrap();
        redb::ReadableTable::iter(&table)
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().to_string(), v.value().to_vec())
            })
            .collect()
    }

    fn write_raw(path: &Path, record: &str, bytes: &[u8]) {
        write_raw_in(path, SEALED, record, bytes);
    }

    /// Writes a row behind the keystore's back.
    fn write_raw_in(path: &Path, table: TableDefinition<&str, &[u8]>, record: &str, bytes: &[u8]) {
        let db = Database::open(path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(table).unwrap().insert(record, bytes).unwrap();
        tx.commit().unwrap();
    }

    /// Deletes a row behind the keystore's back.
    fn remove_raw_in(path: &Path, table: TableDefinition<&str, &[u8]>, record: &str) {
        let db = Database::open(path).unwrap();
        let tx = db.begin_write().unwrap();
        assert!(
            tx.open_table(table).unwrap().remove(record).unwrap().is_some(),
            "no row {record}"
        );
        tx.commit().unwrap();
    }

    /// Opens with a key file beside the keystore (made on first use; faster than Argon2id).
    fn open(path: &Path) -> Result<Keystore, KeystoreError> {
        let key_file = path.with_extension("key");
        if !key_file.exists() {
            keywheel_rpc::keyfile::write_seed(&key_file, &[9; 32]).unwrap();
        }
        Keystore::open(path, OWNER, &KeySource::KeyFile(key_file))
    }

    fn assert_tampered<T: std::fmt::Debug>(result: Result<T, KeystoreError>, name: &str, reason: &str) {
        match result {
            Err(KeystoreError::Tampered { record, what, .. }) => {
                assert_eq!(record, name);
                assert_eq!(what, reason, "record {name}");
            }
            other => panic!("expected record `{name}` to be refused as tampered, got {other:?}"),
        }
    }

    #[test]
    fn shares_survive_reopening_and_rotation_moves_next_to_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = Keystore::open(&path, OWNER, &passphrase("correct horse")).unwrap();
        assert!(ks.get(Slot::Current).unwrap().is_none());
        assert!(matches!(ks.rotate(1), Err(KeystoreError::NothingToRotate)));

        ks.put_next(&held(1, b"first secret")).unwrap();
        assert_eq!(ks.rotate(1).unwrap().session, 1);
        ks.put_next(&held(2, b"second secret")).unwrap();
        drop(ks);

        let mut ks = Keystore::open(&path, OWNER, &passphrase("correct horse")).unwrap();
        assert_eq!(
            ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(),
            b"first secret"
        );
        assert_eq!(ks.info(Slot::Next).unwrap().unwrap().session, 2);
        ks.rotate(2).unwrap();
        let current = ks.get(Slot::Current).unwrap().unwrap();
        assert_eq!(current.secret.as_slice(), b"second secret");
        assert!(
            ks.get(Slot::Next).unwrap().is_none(),
            "rotation empties the holding slot"
        );
        drop(ks);

        // The previous share is retired (kept, sealed, out of the slots), and no secret is stored
        // in the clear.
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
        assert_eq!(raw_table(&path, RETIRED).keys().collect::<Vec<_>>(), ["s1-a1-0"]);
        let ks = Keystore::open(&path, OWNER, &passphrase("correct horse")).unwrap();
        assert_eq!(
            ks.get_retired("s1-a1-0").unwrap().unwrap().secret.as_slice(),
            b"first secret"
        );
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
        ks.rotate(1).unwrap();
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

    #[test]
    fn rotation_and_retire_keep_the_old_share_until_it_is_shredded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = open(&path).unwrap();
        assert!(
            ks.retire(Slot::Current, 1).unwrap().is_none(),
            "an empty slot retires nothing"
        );
        assert!(ks.retired().unwrap().is_empty());

        ks.put_next(&held(1, b"one")).unwrap();
        ks.rotate(1).unwrap();
        assert!(
            ks.retired().unwrap().is_empty(),
            "nothing was current before the first rotation"
        );
        ks.put_next(&held(2, b"two")).unwrap();
        assert_eq!(ks.rotate(2).unwrap().session, 2);

        // The share rotation replaced is retired, with its secret, not destroyed.
        let first = RetiredInfo {
            id: "s1-a1-0".into(),
            info: held(1, b"").info,
            retired_in_session: 2,
        };
        assert_eq!(ks.retired().unwrap(), std::slice::from_ref(&first));
        assert_eq!(ks.get_retired("s1-a1-0").unwrap().unwrap().secret.as_slice(), b"one");
        assert_eq!(ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(), b"two");
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!(json["id"], "s1-a1-0");
        assert_eq!(json["retired_in_session"], 2);
        drop(ks);

        // It survives reopening; `retire(Current)` empties the slot and keeps the share.
        let mut ks = open(&path).unwrap();
        assert_eq!(ks.retired().unwrap(), std::slice::from_ref(&first));
        let second = ks.retire(Slot::Current, 3).unwrap().unwrap();
        assert_eq!(second.id, "s2-a1-1");
        assert_eq!(second.retired_in_session, 3);
        assert!(ks.get(Slot::Current).unwrap().is_none());
        assert_eq!(ks.retired().unwrap(), [first, second.clone()]);
        assert_eq!(ks.get_retired("s2-a1-1").unwrap().unwrap().secret.as_slice(), b"two");

        // `shred` deletes exactly the one named, and nothing for an unknown id.
        assert!(ks.shred("s1-a1-0").unwrap());
        assert_eq!(ks.retired().unwrap(), std::slice::from_ref(&second));
        assert!(ks.get_retired("s1-a1-0").unwrap().is_none());
        assert!(!ks.shred("s1-a1-0").unwrap());
        assert!(!ks.shred("no-such-share").unwrap());
        drop(ks);
        let ks = open(&path).unwrap();
        assert_eq!(ks.retired().unwrap(), [second]);
        assert_eq!(ks.get_retired("s2-a1-1").unwrap().unwrap().secret.as_slice(), b"two");
        drop(ks);
        assert_eq!(raw_table(&path, RETIRED).keys().collect::<Vec<_>>(), ["s2-a1-1"]);
    }

    #[test]
    fn a_held_share_is_retired_not_overwritten_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let ks = open(&path).unwrap();
        ks.put_next(&held(2, b"attempt one")).unwrap();
        ks.put_next(&held(2, b"attempt one")).unwrap();
        assert!(
            ks.retired().unwrap().is_empty(),
            "the same share again replaces nothing"
        );
        ks.put_next(&held(3, b"attempt two")).unwrap();
        assert_eq!(ks.get(Slot::Next).unwrap().unwrap().secret.as_slice(), b"attempt two");
        let retired = ks.retired().unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!((retired[0].info.session, retired[0].retired_in_session), (2, 3));
        assert_eq!(
            ks.get_retired(&retired[0].id).unwrap().unwrap().secret.as_slice(),
            b"attempt one"
        );
    }

    /// A keystore with every kind of record: `current`, `next`, a retired share, `started`, the
    /// chain binding and the high-water mark.
    fn full_keystore(path: &Path) {
        let mut ks = open(path).unwrap();
        ks.put_next(&held(1, b"one")).unwrap();
        ks.rotate(1).unwrap();
        ks.put_next(&held(2, b"two")).unwrap();
        ks.rotate(2).unwrap();
        ks.put_next(&held(3, b"three")).unwrap();
        ks.mark_started(3, 1).unwrap();
        ks.bind_chain(&binding(1, 1)).unwrap();
        ks.raise_high_water(&mark(10, 1)).unwrap();
    }

    fn binding(network: u8, genesis: u8) -> ChainBinding {
        ChainBinding {
            network: [network; 32],
            genesis_hash: [genesis; 32],
        }
    }

    fn mark(height: u64, hash: u8) -> HighWater {
        HighWater {
            height,
            block_hash: [hash; 32],
            session: 3,
            sharing: Some([4; 32]),
        }
    }

    #[test]
    fn a_deleted_record_is_refused_not_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        full_keystore(&path);
        let pristine = std::fs::read(&path).unwrap();
        let cases = [
            (SEALED, "current", "current"),
            (SEALED, "next", "next"),
            (SEALED, "started", "started"),
            (SEALED, "chain", "chain"),
            (SEALED, "high_water", "high_water"),
            (RETIRED, "s1-a1-0", "retired/s1-a1-0"),
            (META, "index", "index"),
        ];
        for (table, row, record) in cases {
            std::fs::write(&path, &pristine).unwrap();
            remove_raw_in(&path, table, row);
            let before = std::fs::read(&path).unwrap();
            assert_tampered(open(&path), record, MISSING);
            assert_eq!(std::fs::read(&path).unwrap(), before, "a refused open changed the file");
        }

        // Untouched, every share is still there.
        std::fs::write(&path, &pristine).unwrap();
        let ks = open(&path).unwrap();
        assert_eq!(ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(), b"two");
        assert_eq!(ks.get(Slot::Next).unwrap().unwrap().secret.as_slice(), b"three");
        assert_eq!(ks.get_retired("s1-a1-0").unwrap().unwrap().secret.as_slice(), b"one");
        assert_eq!(ks.started().unwrap(), Some((3, 1)));
        assert_eq!(ks.chain_binding().unwrap(), Some(binding(1, 1)));
        assert_eq!(ks.high_water().unwrap(), Some(mark(10, 1)));
    }

    #[test]
    fn a_record_rolled_back_to_an_older_copy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let ks = open(&path).unwrap();
        ks.put_next(&held(1, b"one")).unwrap();
        drop(ks);
        let old_next = raw_records(&path)["next"].clone();
        let mut ks = open(&path).unwrap();
        ks.rotate(1).unwrap();
        ks.mark_started(1, 1).unwrap();
        ks.raise_high_water(&mark(10, 1)).unwrap();
        drop(ks);
        let old = raw_records(&path);
        let old_index = raw_table(&path, META)["index"].clone();
        let mut ks = open(&path).unwrap();
        ks.put_next(&held(2, b"two")).unwrap();
        ks.rotate(2).unwrap();
        ks.mark_started(2, 1).unwrap();
        ks.raise_high_water(&mark(20, 2)).unwrap();
        drop(ks);
        let pristine = std::fs::read(&path).unwrap();

        // `current` back to the share it held before the rotation: refused when read, and a later
        // write does not make it good.
        write_raw(&path, "current", &old["current"]);
        let ks = open(&path).unwrap();
        assert_tampered(ks.get(Slot::Current), "current", NOT_LAST);
        assert_eq!(ks.get_retired("s1-a1-0").unwrap().unwrap().secret.as_slice(), b"one");
        ks.mark_started(3, 1).unwrap();
        drop(ks);
        assert_tampered(open(&path).unwrap().get(Slot::Current), "current", NOT_LAST);

        // `started` and the high-water mark back to older values: refused, not moved back.
        for (name, older) in [("started", &old["started"]), ("high_water", &old["high_water"])] {
            std::fs::write(&path, &pristine).unwrap();
            write_raw(&path, name, older);
            let ks = open(&path).unwrap();
            if name == "started" {
                assert_tampered(ks.started(), name, NOT_LAST);
            } else {
                assert_tampered(ks.high_water(), name, NOT_LAST);
            }
        }

        // A holding slot brought back after it was rotated away: refused at open.
        std::fs::write(&path, &pristine).unwrap();
        write_raw(&path, "next", &old_next);
        assert_tampered(open(&path), "next", UNCOMMITTED);

        // The index back to an older copy: the records written since do not match it.
        std::fs::write(&path, &pristine).unwrap();
        write_raw_in(&path, META, "index", &old_index);
        assert_tampered(open(&path), "retired/s1-a1-0", UNCOMMITTED);

        // Untouched, the newest values read back.
        std::fs::write(&path, &pristine).unwrap();
        let ks = open(&path).unwrap();
        assert_eq!(ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(), b"two");
        assert_eq!(ks.started().unwrap(), Some((2, 1)));
        assert_eq!(ks.high_water().unwrap(), Some(mark(20, 2)));
    }

    #[test]
    fn started_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let ks = open(&path).unwrap();
        ks.mark_started(3, 2).unwrap();
        for (session, attempt) in [(3, 1), (2, 9)] {
            let err = ks.mark_started(session, attempt).unwrap_err();
            assert!(
                matches!(err, KeystoreError::StartedBehind { started: (3, 2), offered, .. } if offered == (session, attempt)),
                "{err}"
            );
            assert!(err.to_string().contains("began attempt 2 of session 3"), "{err}");
        }
        ks.mark_started(3, 2).unwrap();
        assert_eq!(ks.started().unwrap(), Some((3, 2)));
        ks.mark_started(4, 1).unwrap();
        drop(ks);
        let ks = open(&path).unwrap();
        assert_eq!(ks.started().unwrap(), Some((4, 1)));
        assert!(ks.mark_started(3, 5).is_err());
    }

    #[test]
    fn the_chain_binding_is_set_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = open(&path).unwrap();
        assert_eq!(ks.chain_binding().unwrap(), None);
        ks.bind_chain(&binding(1, 2)).unwrap();
        ks.bind_chain(&binding(1, 2)).unwrap();
        for other in [binding(9, 2), binding(1, 9)] {
            let err = ks.bind_chain(&other).unwrap_err();
            assert!(
                matches!(&err, KeystoreError::OtherChain { bound, offered, .. } if **bound == binding(1, 2) && **offered == other),
                "{err}"
            );
            assert!(err.to_string().contains("its own data directory"), "{err}");
        }
        drop(ks);
        assert_eq!(open(&path).unwrap().chain_binding().unwrap(), Some(binding(1, 2)));
        let json = serde_json::to_value(binding(1, 2)).unwrap();
        assert_eq!(json["network"], format!("0x{}", "01".repeat(32)));
    }

    #[test]
    fn the_high_water_mark_only_rises() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = open(&path).unwrap();
        assert_eq!(ks.high_water().unwrap(), None);
        ks.raise_high_water(&mark(10, 1)).unwrap();
        ks.raise_high_water(&mark(10, 1)).unwrap();
        for behind in [mark(9, 1), mark(10, 2)] {
            let err = ks.raise_high_water(&behind).unwrap_err();
            assert!(
                matches!(&err, KeystoreError::Behind { seen, offered, .. } if **seen == mark(10, 1) && **offered == behind),
                "{err}"
            );
            assert!(err.to_string().contains("let the node sync"), "{err}");
        }
        assert_eq!(ks.high_water().unwrap(), Some(mark(10, 1)));
        ks.raise_high_water(&mark(11, 3)).unwrap();
        drop(ks);
        let ks = open(&path).unwrap();
        assert_eq!(ks.high_water().unwrap(), Some(mark(11, 3)));
        let json = serde_json::to_value(mark(11, 3)).unwrap();
        assert_eq!(json["sharing"], format!("0x{}", "04".repeat(32)));
        let back: HighWater = serde_json::from_value(json).unwrap();
        assert_eq!(back, mark(11, 3));
    }

    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        drop(open(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open(&path).unwrap());
        assert_eq!(mode(&path), 0o600, "opening tightens a loosened file");
    }

    #[test]
    fn a_keystore_of_the_old_format_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        drop(open(&path).unwrap());
        write_raw_in(&path, META, "format", &1u16.to_be_bytes());
        let before = std::fs::read(&path).unwrap();
        let err = open(&path).unwrap_err();
        assert!(matches!(err, KeystoreError::Format { found: 1, .. }), "{err}");
        assert!(err.to_string().contains("re-initialise"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "a refused open changed the file");
    }
}
