//! The keystore: a redb file with two slots for the parent key share, `current` (what the TSS
//! signs with) and `next` (the holding slot a reshare fills), the shares it *retired* from them,
//! and the markers the orchestrator keeps (`started`, the chain binding, the chain high-water
//! mark). Every record is sealed with XChaCha20-Poly1305 under a key from a passphrase
//! (Argon2id) or from a 0600 key file.
//!
//! **Nothing lost.** No method destroys a share on its own say: rotation and [`Keystore::retire`]
//! move a share into the retired set (sealed as before), [`Keystore::put_next`] retires a
//! different share it would replace, [`Keystore::replace_current`] only rewrites the current
//! record with the same share (dropping signing state its protocol demanded be dropped), and only
//! [`Keystore::shred`] deletes one retired share — when its caller has checked that it is safe to.
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

mod error;
mod index;
mod records;
mod sealing;

pub use error::KeystoreError;
pub use records::{ChainBinding, Held, HighWater, RetiredInfo, Slot, SlotInfo};
pub use sealing::KeySource;

use error::*;
use index::*;
use records::*;
use sealing::*;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use redb::{Database, ReadableDatabase};
use zeroize::Zeroizing;

/// File name of the keystore inside the data directory.
pub const KEYSTORE_FILE: &str = "keystore.redb";

/// The open keystore of one TSS.
pub struct Keystore {
    db: Database,
    path: PathBuf,
    owner: AccountId,
    key: Zeroizing<[u8; 32]>,
    /// Counts the writes that changed the `current` slot: whoever keeps something made from the
    /// current share (the signer's decoded key) forgets it when this moves.
    current_changed: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
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
            current_changed: tokio::sync::watch::Sender::new(0),
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

    /// Moves each time a write changes the `current` slot (rotated, retired, restored, replaced).
    pub fn current_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.current_changed.subscribe()
    }

    /// How many writes have changed the `current` slot since the keystore was opened.
    pub fn current_generation(&self) -> u64 {
        *self.current_changed.borrow()
    }

    fn note_current_changed(&self) {
        self.current_changed.send_modify(|changes| *changes += 1);
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
        let mut change = Change::begin(&self.db, self.sealer())?;
        if let Some(old) = change.get_held(Slot::Next)? {
            if old.info == held.info && old.secret == held.secret {
                return Ok(());
            }
            change.retire(Slot::Next, held.info.session)?;
        }
        change.put(Slot::Next.name(), &encode_held(held))?;
        change.commit()
    }

    /// Replaces the `current` record with `held`, which must have the same public facts (the
    /// same sharing, key and share): for a key whose signing state lost a part its protocol
    /// demanded be dropped (a DKLs23 pair after a failed OT check). The share itself must be the
    /// same, which the caller checks on the decoded keys; nothing else is ever replaced here.
    pub fn replace_current(&self, held: &Held) -> Result<(), KeystoreError> {
        let mut change = Change::begin(&self.db, self.sealer())?;
        match change.get_held(Slot::Current)? {
            Some(old) if old.info == held.info => {}
            _ => return Err(KeystoreError::NotTheCurrentShare),
        }
        change.put(Slot::Current.name(), &encode_held(held))?;
        change.commit()?;
        self.note_current_changed();
        Ok(())
    }

    /// Moves `next` into `current` in one transaction; the previous `current`, if any, is retired
    /// in `retired_in_session` (the chain's session) in the same transaction.
    pub fn rotate(&mut self, retired_in_session: SessionIndex) -> Result<SlotInfo, KeystoreError> {
        let info = {
            let mut change = Change::begin(&self.db, self.sealer())?;
            let held = change.get_held(Slot::Next)?.ok_or(KeystoreError::NothingToRotate)?;
            change.retire(Slot::Current, retired_in_session)?;
            change.put(Slot::Current.name(), &encode_held(&held))?;
            change.remove(Slot::Next.name())?;
            change.commit()?;
            held.info
        };
        self.note_current_changed();
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
        let mut change = Change::begin(&self.db, self.sealer())?;
        let Some(retired) = change.retire(slot, retired_in_session)? else {
            return Ok(None);
        };
        change.commit()?;
        if slot == Slot::Current {
            self.note_current_changed();
        }
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

    /// Puts a retired share back into `current` in one transaction — the chain names its sharing
    /// again (it was retired on a view that turned out wrong) — retiring what `current` held
    /// instead, in `retired_in_session`. `None` if no retired share has that id.
    pub fn restore(&mut self, id: &str, retired_in_session: SessionIndex) -> Result<Option<SlotInfo>, KeystoreError> {
        let name = retired_name(id);
        let mut change = Change::begin(&self.db, self.sealer())?;
        let Some(plain) = change.get(&name)? else {
            return Ok(None);
        };
        let (retired, secret) = decode_retired(id, &plain).ok_or_else(|| self.tampered(&name))?;
        let held = Held {
            info: retired.info,
            secret,
        };
        change.retire(Slot::Current, retired_in_session)?;
        change.put(Slot::Current.name(), &encode_held(&held))?;
        change.remove(&name)?;
        change.commit()?;
        self.note_current_changed();
        Ok(Some(held.info))
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
            let mut change = Change::begin(&self.db, self.sealer())?;
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
        let mut change = Change::begin(&self.db, self.sealer())?;
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
        let mut change = Change::begin(&self.db, self.sealer())?;
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
        let mut change = Change::begin(&self.db, self.sealer())?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use redb::TableDefinition;

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

    /// Whatever changes the current slot is announced (the signer forgets its decoded key on
    /// it): a departed member's share must not outlive its retirement in memory.
    #[test]
    fn every_change_of_the_current_slot_is_announced_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut ks = open(&dir.path().join(KEYSTORE_FILE)).unwrap();
        let changes = ks.current_changes();
        let seen = |n: u64| assert_eq!(*changes.borrow(), n);
        ks.put_next(&held(1, b"one")).unwrap();
        seen(0);
        ks.rotate(1).unwrap();
        seen(1);
        ks.replace_current(&held(1, b"one, a pair dropped")).unwrap();
        seen(2);
        // Refused: nothing changed, nothing announced.
        assert!(ks.replace_current(&held(2, b"another sharing")).is_err());
        seen(2);
        ks.put_next(&held(2, b"two")).unwrap();
        ks.retire(Slot::Next, 2).unwrap();
        seen(2);
        let retired = ks.retire(Slot::Current, 2).unwrap().unwrap();
        seen(3);
        assert!(ks.retire(Slot::Current, 2).unwrap().is_none());
        seen(3);
        ks.restore(&retired.id, 3).unwrap().unwrap();
        seen(4);
    }

    /// The current record is rewritten only by a record of the same share's public facts (a
    /// DKLs23 key that dropped a pair); anything else is refused and changes nothing.
    #[test]
    fn the_current_record_is_replaced_only_by_one_of_the_same_share() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE);
        let mut ks = open(&path).unwrap();
        assert!(matches!(
            ks.replace_current(&held(1, b"nothing current")),
            Err(KeystoreError::NotTheCurrentShare)
        ));
        ks.put_next(&held(1, b"with every pair")).unwrap();
        ks.rotate(1).unwrap();
        assert!(matches!(
            ks.replace_current(&held(2, b"another sharing")),
            Err(KeystoreError::NotTheCurrentShare)
        ));
        assert_eq!(
            ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(),
            b"with every pair"
        );
        ks.replace_current(&held(1, b"one pair dropped")).unwrap();
        drop(ks);
        let ks = open(&path).unwrap();
        assert_eq!(
            ks.get(Slot::Current).unwrap().unwrap().secret.as_slice(),
            b"one pair dropped"
        );
        assert!(ks.retired().unwrap().is_empty(), "nothing was retired or lost");
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
        HighWater::at(height, hash)
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
