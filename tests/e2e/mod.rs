//! Shared helpers of the end-to-end tests (`tests/plan_cli.rs`, `tests/apply.rs`): an
//! account builder for the emulator, a config writer, and a runner of the real `orgsync`
//! binary against an emulator started in the test's own process.
//!
//! One module of the single test binary (`tests/main.rs`), so the helpers are compiled
//! once and never copied. Every run of the binary is bounded in time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orgsync::emulator::{self, ApiKey, Emulator, Group, KeyType, Member, MemberKind, State, User};

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const OTHER_ACCOUNT: &str = "fedcba9876543210fedcba9876543210";
pub const KEY: &str = "e2e-admin-api-key";
pub const ADMIN_IAM_ID: &str = "IBMid-E2EADMIN01";
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// A fixed "today" so expiry and pending-invitation warnings never depend on the clock.
pub const TODAY: &str = "2026-11-27";

/// Builds an emulator state: an admin user with an API key, then users and groups.
pub struct Account {
    state: State,
}

impl Account {
    pub fn new() -> Account {
        Account {
            state: State {
                account_id: ACCOUNT.into(),
                api_keys: vec![ApiKey {
                    apikey: KEY.into(),
                    iam_id: ADMIN_IAM_ID.into(),
                    kind: KeyType::User,
                }],
                users: vec![user(ADMIN_EMAIL, ADMIN_IAM_ID, "ACTIVE")],
                groups: Vec::new(),
                service_ids: Vec::new(),
            },
        }
    }

    pub fn user(mut self, email: &str, iam_id: &str, state: &str) -> Account {
        self.state.users.push(user(email, iam_id, state));
        self
    }

    /// A group with static members given by iam_id (the type follows the id's prefix).
    pub fn group(mut self, id: &str, name: &str, description: &str, members: &[&str]) -> Account {
        self.state.groups.push(Group {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            members: members.iter().map(|m| member(m)).collect(),
            created_at: Some("2024-01-01T00:00:00.000Z".into()),
            created_by_id: Some(ADMIN_IAM_ID.into()),
            last_modified_at: Some("2024-01-01T00:00:00.000Z".into()),
            last_modified_by_id: Some(ADMIN_IAM_ID.into()),
            revision: 0,
        });
        self
    }

    pub fn build(self) -> State {
        if let Err(e) = self.state.validate() {
            panic!("the test account is not a valid emulator state: {e}");
        }
        self.state
    }
}

pub fn user(email: &str, iam_id: &str, state: &str) -> User {
    User {
        email: email.into(),
        iam_id: iam_id.into(),
        state: state.into(),
        firstname: String::new(),
        lastname: String::new(),
        added_on: Some("2026-11-01T00:00:00.000Z".into()),
        processing_until: None,
    }
}

pub fn member(iam_id: &str) -> Member {
    Member {
        iam_id: iam_id.into(),
        kind: MemberKind::of(iam_id).unwrap_or(MemberKind::User),
        created_at: None,
        created_by_id: None,
    }
}

/// Starts the emulator on 127.0.0.1:0 in this test's runtime.
pub async fn start(state: State, options: emulator::Options) -> Emulator {
    match emulator::start(state, options).await {
        Ok(e) => e,
        Err(e) => panic!("cannot start the emulator: {e}"),
    }
}

/// The text of an `org.yaml`. `policy` is YAML to put under `policy:` (indented by the
/// caller), or empty; groups are `(name, description)`; users are `(email, groups)`.
pub fn config_yaml(
    account: &str,
    policy: &str,
    groups: &[(String, Option<String>)],
    users: &[(String, Vec<String>)],
) -> String {
    let mut out = format!("version: 1\naccount_id: {account}\n");
    if !policy.trim().is_empty() {
        out.push_str("policy:\n");
        out.push_str(policy);
        if !policy.ends_with('\n') {
            out.push('\n');
        }
    }
    if groups.is_empty() {
        out.push_str("groups: {}\n");
    } else {
        out.push_str("groups:\n");
        for (name, description) in groups {
            match description {
                Some(d) => out.push_str(&format!("  {name}:\n    description: {d:?}\n")),
                None => out.push_str(&format!("  {name}: {{}}\n")),
            }
        }
    }
    if users.is_empty() {
        out.push_str("users: {}\n");
    } else {
        out.push_str("users:\n");
        for (email, groups) in users {
            out.push_str(&format!(
                "  {email}:\n    groups: [{}]\n",
                groups.join(", ")
            ));
        }
    }
    out
}

/// A temporary directory holding the config (and plan files, audit logs).
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new(config: &str) -> Workdir {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temporary directory: {e}"),
        };
        let w = Workdir { dir };
        w.write("org.yaml", config);
        w
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self) -> PathBuf {
        self.path("org.yaml")
    }

    pub fn write(&self, name: &str, text: &str) {
        if let Err(e) = std::fs::write(self.path(name), text) {
            panic!("cannot write {name}: {e}");
        }
    }

    pub fn read(&self, name: &str) -> String {
        match std::fs::read_to_string(self.path(name)) {
            Ok(t) => t,
            Err(e) => panic!("cannot read {name}: {e}"),
        }
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not JSON ({e}):\n{}", self.stdout),
        }
    }
}

/// A command line for the binary.
pub struct Orgsync {
    args: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

/// `orgsync -c CONFIG ARGS... [--endpoint URL]` with the test API key and `NO_COLOR=1`.
/// `endpoint` is appended after the subcommand's arguments (plan, apply, export take it).
pub fn orgsync(config: &Path, endpoint: Option<&str>, args: &[&str]) -> Orgsync {
    let mut all: Vec<String> = vec!["-c".into(), config.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    if let Some(url) = endpoint {
        all.push("--endpoint".into());
        all.push(url.into());
    }
    Orgsync {
        args: all,
        env: vec![
            ("IBMCLOUD_API_KEY".into(), KEY.into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        timeout: Duration::from_secs(90),
    }
}

/// `orgsync ARGS...` with the test API key and `NO_COLOR=1`, and no `-c`: for the
/// commands that read no config (show, export, completions, man, help).
pub fn orgsync_args(args: &[&str]) -> Orgsync {
    Orgsync {
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec![
            ("IBMCLOUD_API_KEY".into(), KEY.into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        timeout: Duration::from_secs(90),
    }
}

impl Orgsync {
    pub fn env(mut self, key: &str, value: &str) -> Orgsync {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn without_env(mut self, key: &str) -> Orgsync {
        self.env.retain(|(k, _)| k != key);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Orgsync {
        self.timeout = timeout;
        self
    }

    /// Runs the binary to the end (see [`Orgsync::spawn`]).
    pub async fn run(self) -> Run {
        self.spawn().finish().await
    }

    /// Starts the binary with stdin closed (never a terminal); the emulator keeps serving
    /// on the runtime's threads meanwhile.
    pub fn spawn(self) -> Spawned {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orgsync"));
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The developer's or CI's own settings must not leak into the run.
        for var in [
            "ORGSYNC_CONFIG",
            "ORGSYNC_ENDPOINT",
            "ORGSYNC_AUDIT_NOTE",
            "IBMCLOUD_API_KEY",
            "IC_API_KEY",
            "IBMCLOUD_IAM_API_ENDPOINT",
            "IBMCLOUD_USER_MANAGEMENT_ENDPOINT",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        // Apply locks of the tests' emulators stay out of the developer's own directories.
        cmd.env(
            "XDG_RUNTIME_DIR",
            std::env::temp_dir().join(format!("orgsync-e2e-{}", std::process::id())),
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start orgsync: {e}"),
        };
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Spawned {
            child,
            stdout,
            stderr,
            started,
            timeout: self.timeout,
            args: self.args,
        }
    }
}

/// A running binary.
pub struct Spawned {
    child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
    started: Instant,
    timeout: Duration,
    args: Vec<String>,
}

impl Spawned {
    /// Sends SIGINT, as Ctrl-C in a terminal would.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "cannot send SIGINT: {sent:?}"
        );
    }

    /// Sends SIGTERM, as a service manager or a CI runner cancelling a job would.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "cannot send SIGTERM: {sent:?}"
        );
    }

    /// The process id, e.g. to find it in a lock file.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit on a blocking thread; kills the process at the timeout.
    pub async fn finish(self) -> Run {
        match tokio::task::spawn_blocking(move || self.wait()).await {
            Ok(run) => run,
            Err(e) => panic!("the runner thread failed: {e}"),
        }
    }

    fn wait(mut self) -> Run {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if self.started.elapsed() > self.timeout => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "orgsync {:?} did not finish within {:?}",
                        self.args, self.timeout
                    );
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("waiting for orgsync failed: {e}"),
            }
        };
        let collect = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: collect(self.stdout.take()),
            stderr: collect(self.stderr.take()),
        }
    }
}

/// A test that panics between `spawn` and `finish` must not leave the binary running.
impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `fut`, failing the test if it takes longer than `secs`.
pub async fn bounded<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("the test did not finish within {secs} s"),
    }
}

/// Each group's user members by lower-cased email (unknown iam_ids as themselves), and
/// its non-user members separately: what a reader of the account sees.
pub fn rosters(state: &State) -> BTreeMap<String, BTreeSet<String>> {
    let emails: BTreeMap<&str, String> = state
        .users
        .iter()
        .map(|u| (u.iam_id.as_str(), u.email.to_lowercase()))
        .collect();
    state
        .groups
        .iter()
        .map(|g| {
            let members = g
                .members
                .iter()
                .map(|m| match emails.get(m.iam_id.as_str()) {
                    Some(email) if m.kind == MemberKind::User => email.clone(),
                    _ => format!("{} ({})", m.iam_id, m.kind),
                })
                .collect();
            (g.name.clone(), members)
        })
        .collect()
}

/// The number of requests the emulator counted for a route template.
pub fn calls(stats: &serde_json::Value, route: &str) -> u64 {
    stats["by_route"][route].as_u64().unwrap_or(0)
}

/// The write routes orgsync may call, as the emulator's stats name them.
pub const WRITE_ROUTES: [&str; 6] = [
    "POST /v2/groups",
    "PATCH /v2/groups/{access_group_id}",
    "PUT /v2/groups/{access_group_id}/members",
    "POST /v2/groups/{access_group_id}/members/delete",
    "POST /v2/accounts/{account_id}/users",
    "DELETE /v2/accounts/{account_id}/users/{iam_id}",
];

/// Write calls by route (zero counts left out).
pub fn writes(stats: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    WRITE_ROUTES
        .iter()
        .map(|r| (*r, calls(stats, r)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Group ids of the scenario of [`every_kind`].
pub const ALGO_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000001";
pub const CHEM_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000002";
pub const FINANCE_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000004";
pub const SERVICE_ID: &str = "iam-ServiceId-0a1b2c3d-0000-4000-8000-00000000c1c1";

/// An account and a config between which a plan has one change of every kind:
/// - `education` is declared but missing → `create_group`, and erin is added to it
///   (`add_member` with no group id yet);
/// - `algorithms` has an outdated description → `update_group`;
/// - carol is listed but not in the account → `invite_user` into two groups;
/// - dave's invitation failed (`ERROR_WHILE_PROCESSING`) → `invite_user` replacing it;
/// - erin is a `PENDING` invitee: never invited again, only added;
/// - alice lacks chemistry → `add_member`; bob is in chemistry, the file says not →
///   `remove_member`; frank is unlisted (`unlisted_users: remove`) → `remove_user`;
/// - a service ID in algorithms and the undeclared `finance` group are left alone.
pub fn every_kind() -> (State, String) {
    let state = Account::new()
        .user("alice@example.com", "IBMid-ALICE00001", "ACTIVE")
        .user("Bob@Example.com", "IBMid-BOB0000001", "ACTIVE")
        .user(
            "dave@example.com",
            "IBMid-DAVE000001",
            "ERROR_WHILE_PROCESSING",
        )
        .user("erin@example.com", "IBMid-ERIN000001", "PENDING")
        .user("frank@example.com", "IBMid-FRANK00001", "ACTIVE")
        .group(
            ALGO_ID,
            "algorithms",
            "Algorithms",
            &["IBMid-ALICE00001", "IBMid-ERIN000001", SERVICE_ID],
        )
        .group(
            CHEM_ID,
            "chemistry",
            "Chemistry",
            &["IBMid-BOB0000001", "IBMid-FRANK00001"],
        )
        .group(
            FINANCE_ID,
            "finance",
            "Billing (not managed)",
            &["IBMid-ALICE00001", "IBMid-BOB0000001"],
        )
        .build();
    let s = |v: &str| v.to_string();
    let config = config_yaml(
        ACCOUNT,
        "  unlisted_users: remove\n  max_removals: 5\n",
        &[
            (s("algorithms"), Some(s("Quantum algorithms research"))),
            (s("chemistry"), Some(s("Chemistry"))),
            (s("education"), Some(s("Teaching"))),
        ],
        &[
            (s(ADMIN_EMAIL), vec![]),
            (
                s("alice@example.com"),
                vec![s("algorithms"), s("chemistry")],
            ),
            (s("bob@example.com"), vec![]),
            (
                s("carol@example.com"),
                vec![s("algorithms"), s("chemistry")],
            ),
            (s("dave@example.com"), vec![s("algorithms")]),
            (s("erin@example.com"), vec![s("algorithms"), s("education")]),
        ],
    );
    (state, config)
}
