//! Accounts registered for signing, and the BIP32 path of each.

pub use keywheel_primitives::{account_path, ACCOUNT_PATH_DEPTH};
