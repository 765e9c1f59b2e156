//! Connecting to an account for plan, apply and export: the real IBM Cloud, an emulator
//! at `--endpoint`, or the built-in sandbox served in-process (`--sandbox`).

use std::time::Duration;

use crate::cli::{Cli, ConnectionArgs};
use crate::error::{Error, Result};
use crate::iam::{self, Client, ClientOptions, Endpoints, Identity};
use crate::model::{AccountId, Date, DesiredState, LiveState};
use crate::plan::{self, Plan};

/// The built-in sandbox account: a small quantum organization whose live state differs
/// from `org.example.yaml` in every way a plan can show.
#[cfg(feature = "emulator")]
pub const SANDBOX_STATE: &str = include_str!("../../examples/sandbox-state.yaml");

/// An open connection: the client, who it runs as, and the sandbox emulator if any.
pub(super) struct Session {
    pub client: Client,
    pub identity: Identity,
    #[cfg(feature = "emulator")]
    sandbox: Option<crate::emulator::Emulator>,
}

impl Session {
    pub async fn open(cli: &Cli, conn: &ConnectionArgs) -> Result<Session> {
        #[cfg(feature = "emulator")]
        let (endpoints, api_key, sandbox) = if conn.sandbox || conn.sandbox_state.is_some() {
            let (emulator, key) = start_sandbox(conn).await?;
            let endpoints =
                Endpoints::resolve(Some(&emulator.base_url()), "", "").map_err(runtime)?;
            (endpoints, key, Some(emulator))
        } else {
            let (endpoints, key) = real_account(conn)?;
            (endpoints, key, None)
        };
        #[cfg(not(feature = "emulator"))]
        let (endpoints, api_key) = if conn.sandbox || conn.sandbox_state.is_some() {
            return Err(Error::Usage(
                "--sandbox needs the emulator, which this build of orgsync leaves out; rebuild with the default `emulator` feature".into(),
            ));
        } else {
            real_account(conn)?
        };

        let timeout = Duration::from_secs(conn.timeout);
        let client = Client::new(ClientOptions {
            endpoints,
            api_key,
            parallelism: conn.parallelism as usize,
            timeout,
            // One call, retries included: long enough to ride out a throttling spell.
            deadline: (timeout * 4).max(Duration::from_secs(120)),
            progress: !cli.quiet && crate::ui::stderr_is_terminal(),
        })
        .map_err(runtime)?;
        let identity = client.whoami().await.map_err(runtime)?;
        Ok(Session {
            client,
            identity,
            #[cfg(feature = "emulator")]
            sandbox,
        })
    }

    /// Refuses to work on an account the API key does not belong to: IBM would answer 403
    /// on every call, and a wrong key is far likelier than intent.
    pub fn check_account(&self, account: &AccountId) -> Result<()> {
        match &self.identity.account_id {
            Some(own) if own != account => Err(Error::Runtime(format!(
                "the API key belongs to account {own}, but the file governs account {account}; use an API key of account {account}, or fix account_id"
            ))),
            _ => Ok(()),
        }
    }

    /// Reads the live account and plans against `desired` as of `today`.
    pub async fn fresh_plan(
        &self,
        desired: &DesiredState,
        today: Date,
    ) -> Result<(Plan, LiveState)> {
        self.check_account(&desired.account_id)?;
        let live = iam::acquire(&self.client, &desired.account_id, &desired.live_query())
            .await
            .map_err(runtime)?;
        let plan = plan::plan(desired, &live, &plan::Options { today })
            .map_err(|e| Error::Runtime(e.to_string()))?;
        Ok((plan, live))
    }

    pub async fn close(self) {
        #[cfg(feature = "emulator")]
        if let Some(emulator) = self.sandbox {
            emulator.shutdown().await;
        }
    }
}

fn real_account(conn: &ConnectionArgs) -> Result<(Endpoints, secrecy::SecretString)> {
    let endpoints = Endpoints::resolve(
        conn.endpoint.as_deref(),
        &conn.iam_endpoint,
        &conn.user_management_endpoint,
    )
    .map_err(runtime)?;
    let key = iam::api_key_from_env_or_file(conn.api_key_file.as_deref()).map_err(runtime)?;
    Ok((endpoints, key))
}

#[cfg(feature = "emulator")]
async fn start_sandbox(
    conn: &ConnectionArgs,
) -> Result<(crate::emulator::Emulator, secrecy::SecretString)> {
    use crate::emulator::{self, KeyType, State};
    let state = match &conn.sandbox_state {
        Some(path) => State::load(path).map_err(Error::Runtime)?,
        None => State::parse(SANDBOX_STATE)
            .map_err(|e| Error::Runtime(format!("the built-in sandbox state is broken: {e}")))?,
    };
    let key = state
        .api_keys
        .iter()
        .find(|k| k.kind == KeyType::User)
        .or_else(|| state.api_keys.first())
        .map(|k| secrecy::SecretString::from(k.apikey.clone()))
        .ok_or_else(|| {
            Error::Runtime(
                "the sandbox state has no api_keys entry; add one (SPEC §9 shows the format)"
                    .into(),
            )
        })?;
    let account = state.account_id.clone();
    // A state file of one's own is persisted, so plan → apply → plan in separate runs see
    // one account; the built-in sandbox starts afresh every run.
    let options = emulator::Options {
        persist: conn.sandbox_state.clone(),
        ..emulator::Options::default()
    };
    let emulator = emulator::start(state, options).await.map_err(|e| {
        Error::Runtime(format!(
            "cannot start the sandbox emulator on a loopback port: {e}"
        ))
    })?;
    tracing::info!(account = %account, url = %emulator.base_url(), "sandbox emulator started");
    anstream::eprintln!(
        "Sandbox: an emulated IBM Cloud account ({account}) served in-process on a loopback port; nothing leaves this machine."
    );
    Ok((emulator, key))
}

pub(super) fn runtime(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
}

/// The tokio runtime the network commands run on.
pub(super) fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the async runtime: {e}")))
}
