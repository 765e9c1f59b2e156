//! `orgsync emulator`: serve the IBM Cloud emulator (docs/emulator.md) until Ctrl-C.
//!
//! Scripts read the one stdout line `listening on http://ADDR`; everything else (the base
//! URL, the admin key of an empty account) goes to stderr.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::cli::EmulatorArgs;
use crate::emulator::{self, Options, State};
use crate::error::{Error, Exit, Result, Usage};

/// The account an emulator without `--state` serves, and its admin key. Not a secret:
/// the emulator is a local test double and the key is documented here.
const EMPTY_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const EMPTY_ADMIN_KEY: &str = "emulator-admin-key";

pub fn run(args: &EmulatorArgs) -> Result<Exit> {
    let addr: SocketAddr = args
        .listen
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            Error::Usage(Usage::Invalid(format!(
                "--listen {:?} is not an address to listen on; give HOST:PORT, e.g. 127.0.0.1:8080",
                args.listen
            )))
        })?;
    let state = match &args.state {
        Some(path) => State::load(path).map_err(Error::EmulatorState)?,
        None => {
            eprintln!(
                "no --state given: serving an empty account {EMPTY_ACCOUNT}; admin API key: {EMPTY_ADMIN_KEY}"
            );
            State::empty(EMPTY_ACCOUNT, EMPTY_ADMIN_KEY)
        }
    };
    let options = options(args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::AsyncRuntime)?;
    runtime.block_on(async {
        let server = emulator::bind(addr, state, options)
            .await
            .map_err(|source| Error::EmulatorStart { addr, source })?;
        eprintln!(
            "IBM Cloud emulator at {} (token, User Management v2, Access Groups v2, Policy Management v1/v2, Resource Controller v2, Resource Manager v2; admin under /__admin); Ctrl-C stops it",
            server.base_url()
        );
        println!("listening on {}", server.base_url());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::signal::ctrl_c()
            .await
            .map_err(Error::Signal)?;
        server.shutdown().await;
        Ok(Exit::Success)
    })
}

/// The emulator's settings from its flags: milliseconds and seconds become durations, and
/// `--persist` writes back to the `--state` file.
fn options(args: &EmulatorArgs) -> Options {
    Options {
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        fail_rate: args.fail_rate,
        drop_rate: args.drop_rate,
        rate_limit: args.rate_limit,
        token_ttl: Duration::from_secs(args.token_ttl),
        processing: Duration::from_millis(args.processing_ms),
        persist: if args.persist {
            args.state.clone()
        } else {
            None
        },
    }
}
