//! The layout and the index: the tables, the record names, the meta table read before anything
//! is written, and `Change`, the one write transaction that checks the file against the index
//! and rewrites it.

use super::error::*;
use super::records::*;
use super::sealing::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use keywheel_chain::{AccountId, SessionIndex};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_meta");
pub(super) const SEALED: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_sealed");
pub(super) const RETIRED: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_keystore_retired");
/// What the `check` record seals.
pub(super) const CHECK_PLAINTEXT: &[u8] = b"keywheel keystore key check";

/// Record names (in the index and in the associated data).
pub(super) const CHECK: &str = "check";
pub(super) const INDEX: &str = "index";
pub(super) const STARTED: &str = "started";
pub(super) const CHAIN: &str = "chain";
pub(super) const HIGH_WATER: &str = "high_water";
pub(super) const RETIRED_PREFIX: &str = "retired/";

/// What is wrong with a tampered record.
pub(super) const MISSING: &str =
    "is missing although the keystore wrote it (deleted, or part of the file restored from an older copy)";
pub(super) const UNCOMMITTED: &str =
    "is present although the keystore did not write it (added, or part of the file restored from an older copy)";
pub(super) const NOT_LAST: &str =
    "is not the version the keystore last wrote (rolled back to an older copy, moved, altered or damaged)";

/// The sealed index: what the file must hold.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Index {
    /// The number of the last write transaction (a record's generation is the number of the one
    /// that last wrote it).
    pub(super) generation: u64,
    /// How many shares this keystore ever retired (the `n` of the next retired id).
    pub(super) retirements: u64,
    /// Every record present, by name, with its generation.
    pub(super) records: BTreeMap<String, u64>,
}

/// The table a record lives in, and its key there.
pub(super) fn location(name: &str) -> (TableDefinition<'static, &'static str, &'static [u8]>, &str) {
    match name.strip_prefix(RETIRED_PREFIX) {
        Some(id) => (RETIRED, id),
        None => (SEALED, name),
    }
}

pub(super) fn retired_name(id: &str) -> String {
    format!("{RETIRED_PREFIX}{id}")
}

/// The label in a record's associated data: its name and generation.
pub(super) fn label(name: &str, generation: u64) -> String {
    format!("{name}@{generation}")
}

/// Adds the names of a table's records to `out`.
pub(super) fn names_in(
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

/// What the meta table says, read before anything is written.
pub(super) struct Meta {
    pub(super) owner: AccountId,
    pub(super) kdf: Kdf,
    pub(super) check: Vec<u8>,
}

pub(super) fn read_meta(db: &impl ReadableDatabase, path: &Path) -> Result<Option<Meta>, KeystoreError> {
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

/// The key and what it is bound to: seals, opens and checks records.
pub(super) struct Sealer<'a> {
    pub(super) path: &'a Path,
    pub(super) owner: &'a AccountId,
    pub(super) key: &'a [u8; 32],
}

impl Sealer<'_> {
    pub(super) fn tampered(&self, record: &str, what: &'static str) -> KeystoreError {
        KeystoreError::Tampered {
            path: self.path.to_path_buf(),
            record: record.into(),
            what,
        }
    }

    pub(super) fn seal(&self, name: &str, generation: u64, plain: &[u8]) -> Vec<u8> {
        seal(self.key, self.owner, &label(name, generation), plain)
    }

    /// The index, from the meta table.
    pub(super) fn index(&self, meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Index, KeystoreError> {
        let sealed = meta
            .get(INDEX)
            .map_err(storage)?
            .ok_or_else(|| self.tampered(INDEX, MISSING))?;
        let plain =
            open_sealed(self.key, self.owner, INDEX, sealed.value()).ok_or_else(|| self.tampered(INDEX, NOT_LAST))?;
        postcard::from_bytes(&plain).map_err(|_| self.tampered(INDEX, NOT_LAST))
    }

    /// Refuses a file whose records are not exactly the ones the index names.
    pub(super) fn check_present(&self, index: &Index, present: &BTreeSet<String>) -> Result<(), KeystoreError> {
        if let Some(missing) = index.records.keys().find(|name| !present.contains(*name)) {
            return Err(self.tampered(missing, MISSING));
        }
        if let Some(extra) = present.iter().find(|name| !index.records.contains_key(*name)) {
            return Err(self.tampered(extra, UNCOMMITTED));
        }
        Ok(())
    }

    /// The index of a read transaction, once the file's records are the ones it names.
    pub(super) fn verified_index(&self, tx: &ReadTransaction) -> Result<Index, KeystoreError> {
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
    pub(super) fn open(
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
pub(super) struct Change<'a> {
    pub(super) sealer: Sealer<'a>,
    pub(super) tx: WriteTransaction,
    /// The index as it will be committed; its `generation` is this change's.
    pub(super) index: Index,
}

impl<'a> Change<'a> {
    pub(super) fn begin(db: &'a Database, sealer: Sealer<'a>) -> Result<Self, KeystoreError> {
        let tx = db.begin_write().map_err(storage)?;
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

    pub(super) fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        if !self.index.records.contains_key(name) {
            return Ok(None);
        }
        let table = self.tx.open_table(location(name).0).map_err(storage)?;
        self.sealer.open(&self.index, &table, name)
    }

    pub(super) fn get_held(&self, slot: Slot) -> Result<Option<Held>, KeystoreError> {
        let Some(plain) = self.get(slot.name())? else {
            return Ok(None);
        };
        decode_held(&plain)
            .map(Some)
            .ok_or_else(|| self.sealer.tampered(slot.name(), NOT_LAST))
    }

    pub(super) fn put(&mut self, name: &str, plain: &[u8]) -> Result<(), KeystoreError> {
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

    pub(super) fn remove(&mut self, name: &str) -> Result<(), KeystoreError> {
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
    pub(super) fn retire(
        &mut self,
        slot: Slot,
        retired_in_session: SessionIndex,
    ) -> Result<Option<RetiredInfo>, KeystoreError> {
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

    pub(super) fn commit(self) -> Result<(), KeystoreError> {
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
