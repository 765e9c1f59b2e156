//! What the integration tests share, written once: the runner of the real binary, the
//! emulated account, the config files, the plan → apply → plan-again scenario, the scripted
//! stand-in for IBM Cloud, the client and raw-HTTP helpers, and time bounds.
//!
//! - [`run`]: `Orgsync::new().args(..).env(..).stdin(..).timeout(..).run()` → [`Run`];
//! - [`account`]: [`Account`] (the emulator's state), [`every_kind`], [`start`], readers
//!   of the emulator's rosters and statistics;
//! - [`workdir`]: [`config_yaml`] and the [`Workdir`] the runs use;
//! - [`scenario`]: [`Scenario`], which ends a test with [`Scenario::assert_no_changes`];
//! - [`stub`]: [`Stub`], a scripted server, with its tokens ([`jwt`]);
//! - [`client`]: [`Connect`], the library's client pointed at a test server;
//! - [`api`]: [`Api`], raw HTTP against the emulator.
//!
//! Modules use `crate::support::*`; the older `crate::e2e` re-exports its first part.

pub mod account;
pub mod api;
pub mod client;
pub mod run;
pub mod scenario;
pub mod stub;
pub mod workdir;

use std::future::Future;
use std::time::{Duration, Instant};

pub use account::*;
pub use api::*;
pub use client::*;
pub use run::*;
pub use scenario::*;
pub use stub::*;
pub use workdir::*;

/// Runs `fut`, failing the test if it takes longer than `secs`.
pub async fn bounded<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("the test did not finish within {secs} s"),
    }
}

/// Runs `fut` under `limit`, failing the test as a hang naming `what`, and reports how long
/// it took (see it with `--nocapture`).
pub async fn timed<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    let started = Instant::now();
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => {
            eprintln!("{what}: finished in {:?}", started.elapsed());
            v
        }
        Err(_) => panic!("{what}: still running after {limit:?}: a hang"),
    }
}
