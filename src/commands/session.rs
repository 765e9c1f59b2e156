//! Connecting to an account for plan, apply and export: the real IBM Cloud, an emulator
//! at `--endpoint`, or the built-in sandbox served in-process (`--sandbox`).

use std::net::IpAddr;
use std::path::Path;

use secrecy::SecretString;

use super::settings::{Connection, Output, Target};
use crate::error::{AccountMismatch, Error, Result, Wanted};
use crate::iam::{self, Client, ClientOptions, Identity};
use crate::model::{AccountId, Date, DesiredState, LiveState};
use crate::plan::{self, Plan};

/// The built-in sandbox account: a small quantum organization whose live state differs
/// from `org.example.yaml` in every way a plan can show.
#[cfg(feature = "emulator")]
pub const SANDBOX_STATE: &str = include_str!("../../examples/sandbox-state.yaml");

/// The variables an API key is read from, in order (docs/cli.md, Environment variables).
const API_KEY_VARIABLES: [&str; 2] = ["IBMCLOUD_API_KEY", "IC_API_KEY"];

/// An open connection: the client, who it runs as, and the sandbox emulator if any.
pub(super) struct Session {
    pub client: Client,
    pub identity: Identity,
    #[cfg(feature = "emulator")]
    sandbox: Option<crate::emulator::Emulator>,
    /// The `--sandbox-state` file, resolved: the account two sandbox runs share.
    sandbox_state: Option<std::path::PathBuf>,
}

impl Session {
    pub async fn open(conn: &Connection, output: Output) -> Result<Session> {
        let sandbox_state = match &conn.target {
            #[cfg(feature = "emulator")]
            Target::Sandbox { state: Some(path) } => {
                Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
            }
            _ => None,
        };
        #[cfg(feature = "emulator")]
        let (endpoints, api_key, sandbox) = match &conn.target {
            Target::Account {
                endpoints,
                key_file,
            } => ((**endpoints).clone(), api_key(key_file.as_deref())?, None),
            Target::Sandbox { state } => {
                let (emulator, key) = start_sandbox(state.as_deref()).await?;
                let endpoints = iam::Endpoints::resolve(Some(&emulator.base_url()), "", "")?;
                (endpoints, key, Some(emulator))
            }
        };
        #[cfg(not(feature = "emulator"))]
        let (endpoints, api_key) = match &conn.target {
            Target::Account {
                endpoints,
                key_file,
            } => ((**endpoints).clone(), api_key(key_file.as_deref())?),
        };
        let client = Client::new(ClientOptions {
            endpoints,
            api_key,
            parallelism: conn.parallelism,
            timeout: conn.timeout,
            // One call, retries included: long enough to ride out a throttling spell.
            deadline: (conn.timeout * 4).max(std::time::Duration::from_secs(120)),
            progress: !output.quiet && crate::ui::stderr_is_terminal(),
        })?;
        let identity = client.whoami().await?;
        Ok(Session {
            client,
            identity,
            #[cfg(feature = "emulator")]
            sandbox,
            sandbox_state,
        })
    }

    fn in_sandbox(&self) -> bool {
        #[cfg(feature = "emulator")]
        return self.sandbox.is_some();
        #[cfg(not(feature = "emulator"))]
        false
    }

    /// Refuses to work on an account the API key does not belong to: IBM would answer 403
    /// on every call, and a wrong key is far likelier than intent.
    pub fn check_account(&self, account: &AccountId, by: Wanted) -> Result<()> {
        match &self.identity.account_id {
            Some(own) if own != account => Err(Error::OtherAccount(AccountMismatch {
                own: own.clone(),
                wanted: account.clone(),
                by,
                sandbox: self.in_sandbox(),
            })),
            _ => Ok(()),
        }
    }

    /// What the apply lock of `account` is keyed by: the account, or for an emulator on
    /// this machine the account at its address, since every emulator (a test's, the
    /// sandbox) is an account of its own whatever id it carries.
    pub fn lock_scope(&self, account: &AccountId) -> String {
        // Each sandbox run serves its own emulator, but runs with one --sandbox-state
        // file share its account: they are kept apart like applies on one real account.
        if let Some(state) = &self.sandbox_state {
            return format!("{account}@{}", state.display());
        }
        let url = self.client.endpoints().iam();
        let host = url.host_str().unwrap_or_default();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = match bare.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        };
        match (loopback, url.port_or_known_default()) {
            (true, Some(port)) => format!("{account}@{host}:{port}"),
            _ => account.to_string(),
        }
    }

    /// Reads the live account and plans against `desired` as of `today`.
    pub async fn fresh_plan(
        &self,
        desired: &DesiredState,
        today: Date,
    ) -> Result<(Plan, LiveState)> {
        let account = &desired.account_id;
        let options = plan::Options { today };
        let mut live = iam::acquire(&self.client, account, &desired.live_query()).await?;
        let plan = plan::plan(desired, &live, &options)?;
        // The plan names every group a leaving user leaves, groups orgsync does not manage
        // included: their groups are read, one request per user, and the plan made again.
        let leaving = plan.leaving_the_account();
        if leaving.is_empty() {
            return Ok((plan, live));
        }
        live.user_groups = self.client.groups_of_users(account, &leaving).await?;
        let plan = plan::plan(desired, &live, &options)?;
        Ok((plan, live))
    }

    pub async fn close(self) {
        #[cfg(feature = "emulator")]
        if let Some(emulator) = self.sandbox {
            emulator.shutdown().await;
        }
    }
}

/// The API key from `--api-key-file`, or the environment. A key missing altogether gets
/// its own error, which says how to provide one and how to try orgsync without one.
fn api_key(file: Option<&Path>) -> Result<SecretString> {
    let in_environment = API_KEY_VARIABLES
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|k| !k.trim().is_empty()));
    if file.is_none() && !in_environment {
        return Err(Error::NoApiKey);
    }
    Ok(iam::api_key_from_env_or_file(file)?)
}

#[cfg(feature = "emulator")]
async fn start_sandbox(
    state_file: Option<&Path>,
) -> Result<(crate::emulator::Emulator, SecretString)> {
    use crate::emulator::{self, KeyType, State};
    use crate::error::SandboxError;
    let state = match state_file {
        // Read here rather than by `State::load`, so that a problem names --sandbox-state;
        // bounded and never blocking, as the emulator reads its --state.
        Some(path) => State::read(path)
            .and_then(|text| State::parse(&text))
            .map_err(|message| {
                Error::Sandbox(SandboxError::State {
                    path: path.to_path_buf(),
                    message,
                })
            })?,
        None => {
            State::parse(SANDBOX_STATE).map_err(|e| Error::Sandbox(SandboxError::BuiltIn(e)))?
        }
    };
    let key = state
        .api_keys
        .iter()
        .find(|k| k.kind == KeyType::User)
        .or_else(|| state.api_keys.first())
        .map(|k| SecretString::from(k.apikey.clone()))
        .ok_or(Error::Sandbox(SandboxError::NoApiKey))?;
    let account = state.account_id.clone();
    // A state file of one's own is persisted, so plan → apply → plan in separate runs see
    // one account; the built-in sandbox starts afresh every run.
    let options = emulator::Options {
        persist: state_file.map(Path::to_path_buf),
        ..emulator::Options::default()
    };
    let emulator = emulator::start(state, options)
        .await
        .map_err(|e| Error::Sandbox(SandboxError::Start(e)))?;
    tracing::info!(account = %account, url = %emulator.base_url(), "sandbox emulator started");
    // Printed even with -q: it says which account the result is about, and that it is
    // not a real one.
    anstream::eprintln!(
        "Sandbox: an emulated IBM Cloud account ({account}) served in-process on a loopback port; nothing leaves this machine."
    );
    Ok((emulator, key))
}

/// The tokio runtime the network commands run on.
pub(super) fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::AsyncRuntime)
}
