//! The config file (SPEC §2): YAML with spans → validated [`crate::model::DesiredState`].

pub mod yaml;
