//! orgsync's integration tests, as one test binary: the crate is linked once, and the
//! helpers in [`e2e`] are shared by every module instead of being compiled per file.
//!
//! Each module is one contract: `config` (the file and `validate`/`schema`), `plan_cli`
//! and `apply` (the real binary against the in-process emulator), `export`, `emulator`
//! (its HTTP behaviour), `iam` and `hostile` (the client against scripted servers),
//! `reliability` (faults and secrets), `readme` (the walkthrough replayed).

mod apply;
mod config;
mod e2e;
mod emulator;
mod export;
mod hostile;
mod iam;
mod iam_access;
mod plan_cli;
mod readme;
mod reliability;
mod reliability_access;
