//! Blocks and state on disk (redb): every sealed block, and the node state after the last one,
//! written together in one transaction, so a killed node restarts at a block it fully stored.
//!
//! The file records its format and the genesis hash; a file of another program or another
//! network, or data that fails its own checks (decoding, digests, hashes), is refused with an
//! error that says so — never silently reused or overwritten.

use std::path::{Path, PathBuf};

use keywheel_chain::BlockNumber;
use keywheel_rpc::Block;
use redb::{Database, ReadableDatabase, TableDefinition};

use crate::error::NodeError;
use crate::runtime::{Head, NodeState};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_meta");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("keywheel_blocks");
const HEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("keywheel_head");

/// The value of the `format` meta key.
const FORMAT: &[u8] = b"keywheel-node-db/1";

/// The node's database.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn storage(e: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(e.to_string())
}

impl Store {
    /// Opens the database at `path` for the network `genesis_hash`, creating it with the
    /// genesis block and state if the file does not exist. Returns the store and its head.
    ///
    /// An existing file is first checked through a read-only handle, so a file that is refused
    /// (another program's, another network's, damaged) is left byte for byte as it was.
    pub fn open(path: &Path, genesis_hash: &[u8; 32], genesis: Head) -> Result<(Self, Head), NodeError> {
        let mut verified = None;
        if path.exists() {
            match redb::ReadOnlyDatabase::open(path) {
                Ok(db) => {
                    let reader = Reader { db: &db, path };
                    if reader.check_meta(genesis_hash)? {
                        verified = Some(reader.head()?);
                    }
                }
                // Left unclean by a killed process: redb repairs it when opened for writing,
                // and the checks below run on the repaired file.
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(NodeError::InUse(path.to_path_buf())),
                Err(e) => return Err(unreadable(path, e)),
            }
        }
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => NodeError::InUse(path.to_path_buf()),
            other => unreadable(path, other),
        })?;
        let store = Self {
            db,
            path: path.to_path_buf(),
        };
        let head = match verified {
            Some(head) => head,
            None if store.reader().check_meta(genesis_hash)? => store.reader().head()?,
            None => {
                store.initialise(genesis_hash, &genesis)?;
                genesis
            }
        };
        Ok((store, head))
    }

    fn reader(&self) -> Reader<'_, Database> {
        Reader {
            db: &self.db,
            path: &self.path,
        }
    }

    fn initialise(&self, genesis_hash: &[u8; 32], head: &Head) -> Result<(), NodeError> {
        let tx = self.db.begin_write().map_err(storage)?;
        {
            let mut meta = tx.open_table(META).map_err(storage)?;
            meta.insert("format", FORMAT).map_err(storage)?;
            meta.insert("genesis_hash", genesis_hash.as_slice()).map_err(storage)?;
        }
        Self::write_head(&tx, head)?;
        tx.commit().map_err(storage)
    }

    fn write_head(tx: &redb::WriteTransaction, head: &Head) -> Result<(), NodeError> {
        let block = postcard::to_allocvec(&head.block).map_err(storage)?;
        let state = postcard::to_allocvec(&head.state).map_err(storage)?;
        tx.open_table(BLOCKS)
            .map_err(storage)?
            .insert(head.block.header.number, block.as_slice())
            .map_err(storage)?;
        let mut table = tx.open_table(HEAD).map_err(storage)?;
        table.insert("state", state.as_slice()).map_err(storage)?;
        table
            .insert("number", head.block.header.number.to_be_bytes().as_slice())
            .map_err(storage)?;
        Ok(())
    }

    /// Stores a sealed block and the state after it, atomically.
    pub fn commit(&self, head: &Head) -> Result<(), NodeError> {
        let tx = self.db.begin_write().map_err(storage)?;
        Self::write_head(&tx, head)?;
        tx.commit().map_err(storage)
    }

    /// A stored block, checked: it decodes, its body matches its header, its number is its key,
    /// and its hash is what the next block (if stored) names as parent.
    pub fn block(&self, number: BlockNumber) -> Result<Option<Block>, NodeError> {
        self.reader().block(number)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> NodeError {
    NodeError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Checked reads, through a read-only or a read-write handle.
struct Reader<'a, D: ReadableDatabase> {
    db: &'a D,
    path: &'a Path,
}

impl<D: ReadableDatabase> Reader<'_, D> {
    fn corrupted(&self, what: impl Into<String>) -> NodeError {
        NodeError::Corrupted {
            path: self.path.to_path_buf(),
            what: what.into(),
        }
    }

    fn unreadable(&self, e: impl std::fmt::Display) -> NodeError {
        unreadable(self.path, e)
    }

    /// Whether the file is a keywheel database of this network (`false`: empty, new).
    fn check_meta(&self, genesis_hash: &[u8; 32]) -> Result<bool, NodeError> {
        let tx = self.db.begin_read().map_err(|e| self.unreadable(e))?;
        let table = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                // Tables but no format record: another program's database.
                let mut tables = tx.list_tables().map_err(|e| self.unreadable(e))?;
                return match tables.next() {
                    Some(_) => Err(NodeError::Foreign(self.path.to_path_buf())),
                    None => Ok(false),
                };
            }
            Err(redb::TableError::TableTypeMismatch { .. }) => return Err(NodeError::Foreign(self.path.to_path_buf())),
            Err(e) => return Err(self.unreadable(e)),
        };
        let get = |key: &str| -> Result<Option<Vec<u8>>, NodeError> {
            Ok(table
                .get(key)
                .map_err(|e| self.unreadable(e))?
                .map(|v| v.value().to_vec()))
        };
        let (Some(format), Some(found)) = (get("format")?, get("genesis_hash")?) else {
            return Err(self.corrupted("its format record is incomplete"));
        };
        if format != FORMAT {
            return Err(NodeError::Foreign(self.path.to_path_buf()));
        }
        if found != genesis_hash.as_slice() {
            return Err(NodeError::WrongNetwork {
                path: self.path.to_path_buf(),
                found: hex::encode(&found),
                expected: hex::encode(genesis_hash),
            });
        }
        Ok(true)
    }

    /// The head block and state, checked against each other.
    fn head(&self) -> Result<Head, NodeError> {
        let tx = self.db.begin_read().map_err(|e| self.unreadable(e))?;
        let table = tx
            .open_table(HEAD)
            .map_err(|e| self.corrupted(format!("no head record ({e})")))?;
        let number = table
            .get("number")
            .map_err(|e| self.unreadable(e))?
            .ok_or_else(|| self.corrupted("no head block number"))?;
        let number = u64::from_be_bytes(
            number
                .value()
                .try_into()
                .map_err(|_| self.corrupted("the head block number is not 8 bytes"))?,
        );
        let state_bytes = table
            .get("state")
            .map_err(|e| self.unreadable(e))?
            .ok_or_else(|| self.corrupted("no head state"))?;
        let state: NodeState = postcard::from_bytes(state_bytes.value())
            .map_err(|e| self.corrupted(format!("the head state does not decode ({e})")))?;
        let block = self
            .block(number)?
            .ok_or_else(|| self.corrupted(format!("the head block {number} is missing")))?;
        if state.digest() != block.header.state_digest {
            return Err(self.corrupted(format!(
                "the stored state does not match the digest recorded in head block {number}"
            )));
        }
        if number > 0 {
            // The head's header is checked against its parent's record of it.
            let parent = self
                .block(number - 1)?
                .ok_or_else(|| self.corrupted(format!("block {} is missing", number - 1)))?;
            if block.header.parent_hash != parent.hash() {
                return Err(self.corrupted(format!("head block {number} does not follow block {}", number - 1)));
            }
        }
        Ok(Head { block, state })
    }

    fn block(&self, number: BlockNumber) -> Result<Option<Block>, NodeError> {
        let tx = self.db.begin_read().map_err(|e| self.unreadable(e))?;
        let table = tx
            .open_table(BLOCKS)
            .map_err(|e| self.corrupted(format!("no block table ({e})")))?;
        let decode = |n: BlockNumber| -> Result<Option<Block>, NodeError> {
            let Some(bytes) = table.get(n).map_err(|e| self.unreadable(e))? else {
                return Ok(None);
            };
            let block: Block = postcard::from_bytes(bytes.value())
                .map_err(|e| self.corrupted(format!("block {n} does not decode ({e})")))?;
            if block.header.number != n || !block.body_matches_header() {
                return Err(self.corrupted(format!("block {n} does not match its header")));
            }
            Ok(Some(block))
        };
        let Some(block) = decode(number)? else {
            return Ok(None);
        };
        if let Some(child) = decode(number + 1)? {
            if child.header.parent_hash != block.hash() {
                return Err(self.corrupted(format!("block {number} is not the parent block {} names", number + 1)));
            }
        }
        Ok(Some(block))
    }
}
