//! The one door to the YAML library. Every YAML call in orgsync goes through this module,
//! so switching libraries costs one module.

use serde::de::DeserializeOwned;

/// Parses a YAML document into `T` (used for non-config files, e.g. emulator state).
/// Errors are rendered messages that name the line and column.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}
