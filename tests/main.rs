//! orgsync's integration tests, as one test binary: the crate is linked once, and the
//! helpers in [`support`] are shared by every module instead of being copied per file.
//!
//! Each module is one contract: `config` (the file and `validate`/`schema`), `plan_cli`
//! and `apply` (the real binary against the in-process emulator), `export`, `emulator`
//! (its HTTP behaviour), `iam` and `hostile` (the client against scripted servers),
//! `reliability` (faults and secrets), `readme` (the walkthrough replayed). `e2e` keeps the
//! end-to-end helpers reachable under their first name.

mod apply;
mod config;
mod e2e;
mod emulator;
mod export;
mod hostile;
mod iam;
mod plan_cli;
mod readme;
mod reliability;
mod support;
