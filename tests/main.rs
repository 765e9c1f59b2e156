//! orgsync's integration tests, as one test binary: the crate is linked once, and the
//! helpers in [`e2e`] are shared by every module instead of being compiled per file.
//!
//! Each module is one contract: `config` (the file and `validate`/`schema`), `plan_cli`
//! and `apply` (the real binary against the in-process emulator), `export`, `emulator`
//! (its HTTP behaviour; `emulator_access`, `emulator_resources` and `emulator_rules` for
//! what a group grants, with helpers in `emulator_http`), `iam` and `hostile` (the
//! client against scripted servers), `reliability` (faults and secrets), `readme` (the
//! walkthrough replayed).

mod apply;
mod config;
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
mod plan_cli;
mod readme;
mod reliability;
