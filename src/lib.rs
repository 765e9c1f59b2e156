//! orgsync keeps IBM Cloud IAM access-group membership in one YAML file.
//!
//! The pipeline is acquire → plan → execute:
//!
//! 1. [`config`] reads and validates the file into a [`model::DesiredState`].
//! 2. [`iam`] reads the live account into a [`model::LiveState`] (`iam::acquire`).
//! 3. [`plan`] is a pure function of the two (and options such as today's date) that makes
//!    every decision and returns a [`plan::Plan`], rendered as text, markdown or JSON.
//! 4. [`executor`] runs a plan against the account, deciding nothing new.
//!
//! Dependency rule: `plan` imports only `model` — no I/O, no tokio, no reqwest, no clock.
//! `config` and `iam` produce `model` types. `executor` consumes `plan` types and `iam`.
//! `emulator` shares no wire types with `iam`, so a misreading of IBM's API cannot agree
//! with itself on both sides. Only `commands` wires the layers together.
//!
//! At the edge: [`cli`] declares the command line (clap types, the `--help` text),
//! `commands::settings` checks every flag once and turns it into settings, and [`error`]
//! holds each layer's error unchanged in one enum whose variant chooses the exit code.

pub mod cli;
pub mod commands;
pub mod config;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod executor;
pub mod iam;
pub mod model;
pub mod plan;
pub mod ui;
