//! One emulated account and one config file, and the commands an end-to-end test runs
//! against them, with the endpoint, the API key and `--today` filled in.
//!
//! Every test that applies should end with [`Scenario::assert_no_changes`]: planning again
//! finds nothing to do and writes nothing. That is the promise of `apply`
//! (docs/reconciliation.md) in one check, the idea of omicron's
//! `assert_planning_makes_no_changes`.

use std::time::Duration;

use orgsync::emulator::{self, Emulator, State};
use serde_json::Value;

use super::{KEY, Orgsync, RUN_LIMIT, Run, TODAY, Workdir, orgsync, start, writes};

pub struct Scenario {
    pub emu: Emulator,
    /// Holds `org.yaml`; plan files and audit logs go beside it.
    pub w: Workdir,
    endpoint: Option<String>,
    key: String,
    today: String,
    extra: Vec<String>,
    timeout: Duration,
}

/// What [`Scenario::converge`] saw.
pub struct Converged {
    /// The first plan, as `plan --format json` printed it.
    pub plan: Value,
    pub apply: Run,
}

impl Scenario {
    /// The emulator serving `state` without faults, and `config` as `org.yaml`.
    pub async fn start(state: State, config: &str) -> Scenario {
        Scenario::start_with(state, config, emulator::Options::default()).await
    }

    pub async fn start_with(state: State, config: &str, options: emulator::Options) -> Scenario {
        Scenario {
            emu: start(state, options).await,
            w: Workdir::new(config),
            endpoint: None,
            key: KEY.into(),
            today: TODAY.into(),
            extra: Vec::new(),
            timeout: RUN_LIMIT,
        }
    }

    /// The API key every command runs with ([`KEY`] unless changed).
    pub fn key(mut self, key: &str) -> Scenario {
        self.key = key.into();
        self
    }

    /// The `--today` of every command ([`TODAY`] unless changed).
    pub fn today(mut self, today: &str) -> Scenario {
        self.today = today.into();
        self
    }

    /// Sends the commands to `url` (a proxy in front of the emulator) instead.
    pub fn endpoint(mut self, url: &str) -> Scenario {
        self.endpoint = Some(url.into());
        self
    }

    /// Arguments appended to every command (`--parallelism 2`, say).
    pub fn extra(mut self, args: &[&str]) -> Scenario {
        self.extra = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The time limit of every command.
    pub fn timeout(mut self, timeout: Duration) -> Scenario {
        self.timeout = timeout;
        self
    }

    /// Where the commands go: the emulator, or the endpoint set instead.
    pub fn url(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| self.emu.base_url())
    }

    /// `orgsync -c CONFIG ARGS... --today DATE --endpoint URL EXTRA...`.
    pub fn orgsync(&self, args: &[&str]) -> Orgsync {
        let mut all = args.to_vec();
        all.extend(["--today", &self.today]);
        orgsync(&self.w.config(), Some(&self.url()), &all)
            .args(&self.extra)
            .api_key(&self.key)
            .timeout(self.timeout)
    }

    /// `plan ARGS...`, see [`Scenario::orgsync`].
    pub fn plan(&self, args: &[&str]) -> Orgsync {
        self.orgsync(&[&["plan"], args].concat())
    }

    /// `apply ARGS...`, see [`Scenario::orgsync`].
    pub fn apply(&self, args: &[&str]) -> Orgsync {
        self.orgsync(&[&["apply"], args].concat())
    }

    /// `plan --format json`, which must succeed.
    pub async fn plan_json(&self) -> Value {
        self.plan(&["--format", "json"])
            .run()
            .await
            .expect(0)
            .json()
    }

    /// Plans again and asserts the account matches the file: `--detailed-exitcode` exits
    /// 0, the plan says so, and planning made no write call.
    pub async fn assert_no_changes(&self) -> Run {
        let before = writes(&self.emu.stats());
        let run = self.plan(&["--detailed-exitcode"]).run().await;
        run.expect(0);
        assert!(
            run.stdout.contains("No changes."),
            "planning again found changes:\n{}",
            run.stdout
        );
        assert_eq!(
            writes(&self.emu.stats()),
            before,
            "planning again wrote to the account"
        );
        run
    }

    /// Plan (which must have changes) → `apply` (which must exit 0) → plan again with
    /// [`Scenario::assert_no_changes`].
    pub async fn converge(&self, apply: Orgsync) -> Converged {
        let plan = self.plan_json().await;
        assert!(
            plan["summary"]["total"].as_u64().unwrap_or(0) > 0,
            "the scenario has nothing to converge: {plan:#}"
        );
        let apply = apply.run().await;
        apply.expect(0);
        self.assert_no_changes().await;
        Converged { plan, apply }
    }

    pub async fn shutdown(self) {
        self.emu.shutdown().await;
    }
}
