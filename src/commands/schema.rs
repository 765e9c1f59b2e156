//! `orgsync schema`: print the JSON Schema (draft-07) of the config file, for editors and
//! for the committed `org.schema.json`.

use crate::error::{Exit, Result};

pub fn run() -> Result<Exit> {
    super::print("the schema", &crate::config::schema_json())?;
    Ok(Exit::Success)
}
