//! `orgsync emulator`: serve the IBM Cloud emulator (docs/emulator.md) until Ctrl-C.
//!
//! Scripts read the one stdout line `listening on http://ADDR`; the announcement on stderr
//! says once what is served, for which account, and which API keys the state holds (the
//! key to pass as `IBMCLOUD_API_KEY`). Flags that make no sense (a probability of 2, a
//! TTL that overflows, a non-loopback address without `--allow-remote`) are usage errors
//! (exit 64), each saying what is accepted.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::cli::EmulatorArgs;
use crate::emulator::{self, KeyType, Options, State};
use crate::error::{Error, Exit, Result, Usage};

/// The account an emulator without `--state` serves, and its admin key. Not a secret:
/// the emulator is a local test double and the key is documented here.
const EMPTY_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const EMPTY_ADMIN_KEY: &str = "emulator-admin-key";

/// The bounds of the numeric flags (docs/emulator.md, Running it): beyond them a value is
/// a mistake, not a test setting.
const MAX_DELAY_MS: u64 = 60_000;
const MAX_PROCESSING_MS: u64 = 86_400_000;
const MAX_TOKEN_TTL: u64 = 31_536_000;
const MAX_RATE_LIMIT: f64 = 1_000_000.0;

/// How many API keys the announcement lists before it summarizes the rest.
const KEYS_SHOWN: usize = 10;

pub fn run(args: &EmulatorArgs) -> Result<Exit> {
    let addr = listen_address(args)?;
    let options = options(args)?;
    let (state, origin) = match &args.state {
        Some(path) => (
            State::load(path).map_err(Error::EmulatorState)?,
            format!("from {}", path.display()),
        ),
        None => (
            State::empty(EMPTY_ACCOUNT, EMPTY_ADMIN_KEY),
            "an empty account: no --state given".to_string(),
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::AsyncRuntime)?;
    runtime.block_on(async {
        let announcement = Announcement::of(&state, origin);
        let server = emulator::bind(addr, state, options)
            .await
            .map_err(|source| Error::EmulatorStart { addr, source })?;
        let url = server.base_url();
        if !addr.ip().is_loopback() {
            anstream::eprintln!(
                "warning: listening on {addr}, beyond this machine (--allow-remote): anyone who can reach it can read and replace the account, API keys included, through /__admin without authentication"
            );
        }
        anstream::eprint!("{}", announcement.render(&url));
        println!("listening on {url}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::signal::ctrl_c()
            .await
            .map_err(Error::Signal)?;
        server.shutdown().await;
        Ok(Exit::Success)
    })
}

/// `--listen` as a socket address; one beyond loopback only with `--allow-remote`, since
/// the admin endpoints are unauthenticated and return the API keys.
fn listen_address(args: &EmulatorArgs) -> Result<SocketAddr> {
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
    if !addr.ip().is_loopback() && !args.allow_remote {
        return Err(Error::Usage(Usage::Invalid(format!(
            "--listen {} is not a loopback address: the emulator's admin endpoints are unauthenticated and return the API keys; listen on 127.0.0.1, or add --allow-remote to serve other machines anyway",
            args.listen
        ))));
    }
    Ok(addr)
}

/// What the emulator says once it listens: the APIs, the account and where it came from,
/// and the API keys with their identity and type. Taken from the state before the
/// emulator owns it; rendered once the base URL is known.
struct Announcement {
    account: String,
    origin: String,
    /// One line per key shown: the key, its type and its identity (with the user's email).
    keys: Vec<String>,
    more: usize,
}

impl Announcement {
    fn of(state: &State, origin: String) -> Announcement {
        let shown = &state.api_keys[..state.api_keys.len().min(KEYS_SHOWN)];
        let width = shown
            .iter()
            .map(|k| k.apikey.chars().count())
            .max()
            .unwrap_or(0);
        let keys = shown
            .iter()
            .map(|key| {
                let kind = match key.kind {
                    KeyType::User => "user",
                    KeyType::Service => "service ID",
                };
                let email = state
                    .users
                    .iter()
                    .find(|u| u.iam_id == key.iam_id)
                    .map(|u| format!(" ({})", u.email))
                    .unwrap_or_default();
                format!("{:<width$}  {kind:<10}  {}{email}", key.apikey, key.iam_id)
            })
            .collect();
        Announcement {
            account: state.account_id.clone(),
            origin,
            keys,
            more: state.api_keys.len() - shown.len(),
        }
    }

    fn render(&self, url: &str) -> String {
        let mut out = format!(
            "orgsync emulator: IBM Cloud account {} ({}) at {url}\n  serves the token service, User Management v2, Access Groups v2, Policy Management v1/v2, Resource Controller v2 and Resource Manager v2; admin endpoints under {url}/__admin; Ctrl-C stops it\n",
            self.account, self.origin
        );
        if self.keys.is_empty() {
            out.push_str(
                "  no API keys: the state's api_keys list is empty, so no client can sign in\n",
            );
            return out;
        }
        out.push_str(&format!(
            "  API keys (pass one as IBMCLOUD_API_KEY, with --endpoint {url}):\n"
        ));
        for line in &self.keys {
            out.push_str(&format!("    {line}\n"));
        }
        if self.more > 0 {
            out.push_str(&format!(
                "    and {} more (GET {url}/__admin/state lists them)\n",
                self.more
            ));
        }
        out
    }
}

/// The emulator's settings from its flags, each checked: milliseconds and seconds become
/// durations, and `--persist` writes back to the `--state` file.
fn options(args: &EmulatorArgs) -> Result<Options> {
    Ok(Options {
        seed: args.seed,
        latency: Duration::from_millis(at_most("--latency-ms", args.latency_ms, MAX_DELAY_MS)?),
        jitter: Duration::from_millis(at_most("--jitter-ms", args.jitter_ms, MAX_DELAY_MS)?),
        fail_rate: probability("--fail-rate", args.fail_rate)?,
        drop_rate: probability("--drop-rate", args.drop_rate)?,
        rate_limit: rate_limit(args.rate_limit)?,
        token_ttl: Duration::from_secs(token_ttl(args.token_ttl)?),
        processing: Duration::from_millis(at_most(
            "--processing-ms",
            args.processing_ms,
            MAX_PROCESSING_MS,
        )?),
        persist: if args.persist {
            args.state.clone()
        } else {
            None
        },
        ..Options::default()
    })
}

fn probability(flag: &str, p: f64) -> Result<f64> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(Error::Usage(Usage::Invalid(format!(
            "{flag} {p} is not a probability; give a number from 0 to 1, e.g. {flag} 0.05"
        ))))
    }
}

fn rate_limit(rps: f64) -> Result<f64> {
    if rps.is_finite() && (0.0..=MAX_RATE_LIMIT).contains(&rps) {
        Ok(rps)
    } else {
        Err(Error::Usage(Usage::Invalid(format!(
            "--rate-limit {rps} is not a rate; give requests per second from 0 (unlimited) to {MAX_RATE_LIMIT}"
        ))))
    }
}

fn token_ttl(seconds: u64) -> Result<u64> {
    if (1..=MAX_TOKEN_TTL).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Error::Usage(Usage::Invalid(format!(
            "--token-ttl {seconds} is not a token lifetime; give seconds from 1 to {MAX_TOKEN_TTL} (a year); IBM's tokens last 3600"
        ))))
    }
}

fn at_most(flag: &str, value: u64, max: u64) -> Result<u64> {
    if value <= max {
        Ok(value)
    } else {
        Err(Error::Usage(Usage::Invalid(format!(
            "{flag} {value} is too long; give milliseconds from 0 to {max}"
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_names_every_key_with_its_identity_and_type() {
        let mut state = State::empty(EMPTY_ACCOUNT, EMPTY_ADMIN_KEY);
        state.api_keys.push(emulator::ApiKey {
            apikey: "robot-key".into(),
            iam_id: "iam-ServiceId-0000".into(),
            kind: KeyType::Service,
        });
        let text = Announcement::of(&state, "from s.yaml".into()).render("http://127.0.0.1:9");
        assert!(
            text.contains(EMPTY_ACCOUNT) && text.contains("(from s.yaml)"),
            "{text}"
        );
        assert!(
            text.contains("emulator-admin-key  user        IBMid-ADMIN00001 (admin@example.com)"),
            "{text}"
        );
        assert!(
            text.contains("robot-key           service ID  iam-ServiceId-0000\n"),
            "{text}"
        );
        assert!(text.contains("--endpoint http://127.0.0.1:9"), "{text}");
        state.api_keys = (0..12)
            .map(|i| emulator::ApiKey {
                apikey: format!("k{i}"),
                iam_id: format!("IBMid-K{i}"),
                kind: KeyType::User,
            })
            .collect();
        let text = Announcement::of(&state, "x".into()).render("u");
        assert!(text.contains("and 2 more"), "{text}");
        assert!(!text.contains("k10"), "{text}");
    }

    #[test]
    fn flags_are_bounded() {
        assert!(probability("--fail-rate", 0.0).is_ok());
        assert!(probability("--fail-rate", 1.0).is_ok());
        for bad in [2.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(probability("--fail-rate", bad).is_err(), "{bad}");
        }
        assert!(rate_limit(0.0).is_ok() && rate_limit(f64::NAN).is_err());
        assert!(token_ttl(1).is_ok() && token_ttl(0).is_err() && token_ttl(u64::MAX).is_err());
        assert!(at_most("--latency-ms", MAX_DELAY_MS, MAX_DELAY_MS).is_ok());
        assert!(at_most("--latency-ms", MAX_DELAY_MS + 1, MAX_DELAY_MS).is_err());
    }
}
