//! Assorted utilities.

mod serializable_map;

pub use serializable_map::SerializableMap;
