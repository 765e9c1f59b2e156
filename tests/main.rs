//! orgsync's integration tests, as one test binary: the crate is linked once, and the
//! helpers in [`support`] are shared by every module instead of being copied per file.
//!
//! Each module is one contract: `config` (the file and `validate`/`schema`;
//! `config_grants` for roles, access and rules, `config_messages` for how problems read,
//! `config_trust` for hostile files), `plan_cli` and `apply` (the real binary against the
//! in-process emulator), `export`, `emulator` (its HTTP behaviour; `emulator_access`,
//! `emulator_resources` and `emulator_rules` for what a group grants, `emulator_trust`
//! for its safety, with helpers in `emulator_http`), `iam`, `iam_access` and `hostile`
//! (the client against scripted servers), `cli` (the command line: flags, files, the
//! apply lock, signals, show/completions/man, validate's formats), `reliability` and
//! `reliability_access` (faults and secrets), `readme` (the walkthrough replayed).
//! Shared helpers live in `support`; `e2e` keeps the end-to-end helpers reachable under
//! their first name.

mod apply;
mod cli;
mod config;
mod config_grants;
mod config_messages;
mod config_trust;
mod e2e;
mod emulator;
mod emulator_access;
mod emulator_http;
mod emulator_resources;
mod emulator_rules;
mod emulator_trust;
mod export;
mod hostile;
mod iam;
mod iam_access;
mod plan_cli;
mod readme;
mod reliability;
mod reliability_access;
mod support;
