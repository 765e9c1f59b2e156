//! The runner of the real `orgsync` binary: a command line built step by step
//! ([`Orgsync`]), run to the end ([`Run`]) or left running ([`Spawned`]).
//!
//! Every run is bounded in time (a hang fails the test instead of the CI job), and a child
//! still running when its [`Spawned`] is dropped, because the test panicked or gave up, is
//! killed. The child never inherits a setting orgsync reads from the environment (see
//! [`SCRUBBED`]), so a developer's own configuration cannot change a test's outcome.

use std::ffi::OsStr;
use std::io::{BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::KEY;

/// How long a run may take unless the test says otherwise.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Environment variables the child never inherits: every name orgsync reads (`src/cli.rs`,
/// `src/iam/mod.rs`, `src/ui.rs`, `src/commands/apply.rs`) by prefix, colour switches, log
/// filters and the proxies reqwest honours. The rest of the environment is inherited, not
/// cleared: the CI's process tracking (`scripts/no-leaks`) finds a run's children by a
/// variable they inherit.
const SCRUBBED: [&str; 14] = [
    "ORGSYNC_",
    "IBMCLOUD_",
    "IC_",
    "NO_COLOR",
    "CLICOLOR",
    "RUST_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

fn scrubbed(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    SCRUBBED.iter().any(|s| name.starts_with(s))
}

/// A command line for the binary, built like casey/just's `Test`: arguments in order,
/// environment, working directory, stdin, time limit.
#[derive(Clone, Debug)]
pub struct Orgsync {
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    stdin: Option<String>,
    merged: bool,
    timeout: Duration,
}

impl Default for Orgsync {
    fn default() -> Orgsync {
        Orgsync::new()
    }
}

/// `orgsync -c CONFIG ARGS... [--endpoint URL]` with the test API key and `NO_COLOR=1`.
/// `endpoint` is appended after the subcommand's arguments (plan, apply, export take it).
/// `orgsync ARGS...` with the test API key and no `-c`: for the commands that read no
/// config (show, export, completions, man, help).
pub fn orgsync_args(args: &[&str]) -> Orgsync {
    Orgsync::new().api_key(super::KEY).args(args)
}

pub fn orgsync(config: &Path, endpoint: Option<&str>, args: &[&str]) -> Orgsync {
    let run = Orgsync::new().api_key(KEY).config(config).args(args);
    match endpoint {
        Some(url) => run.endpoint(url),
        None => run,
    }
}

impl Orgsync {
    /// No arguments, `NO_COLOR=1`, no API key, stdin closed, [`RUN_LIMIT`].
    pub fn new() -> Orgsync {
        Orgsync {
            args: Vec::new(),
            env: vec![("NO_COLOR".into(), "1".into())],
            dir: None,
            stdin: None,
            merged: false,
            timeout: RUN_LIMIT,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Orgsync {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Orgsync {
        args.into_iter().fold(self, Orgsync::arg)
    }

    /// `-c PATH`.
    pub fn config(self, path: &Path) -> Orgsync {
        self.arg("-c").arg(path)
    }

    /// `--endpoint URL`, after the arguments so far.
    pub fn endpoint(self, url: &str) -> Orgsync {
        self.arg("--endpoint").arg(url)
    }

    /// `IBMCLOUD_API_KEY=KEY`.
    pub fn api_key(self, key: &str) -> Orgsync {
        self.env("IBMCLOUD_API_KEY", key)
    }

    pub fn env(mut self, key: &str, value: &str) -> Orgsync {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    /// Leaves `key` unset (it is never inherited either).
    pub fn without_env(mut self, key: &str) -> Orgsync {
        self.env.retain(|(k, _)| k != key);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Orgsync {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Feeds `text` to stdin, then closes it (a pipe, never a terminal).
    pub fn stdin(mut self, text: &str) -> Orgsync {
        self.stdin = Some(text.into());
        self
    }

    /// stderr goes into stdout, interleaved in the order written, as a terminal shows both
    /// (`2>&1`); [`Run::stderr`] is then empty.
    pub fn stderr_to_stdout(mut self) -> Orgsync {
        self.merged = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Orgsync {
        self.timeout = timeout;
        self
    }

    /// Runs the binary to the end without blocking the runtime, so an emulator in the same
    /// process keeps serving (see [`Orgsync::spawn`]).
    pub async fn run(self) -> Run {
        self.spawn().finish().await
    }

    /// Runs the binary to the end, blocking this thread: for tests without a runtime.
    pub fn run_blocking(self) -> Run {
        self.spawn().wait()
    }

    /// The command line, the environment and the working directory.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orgsync"));
        cmd.args(&self.args);
        for (name, _) in std::env::vars_os().filter(|(n, _)| scrubbed(n)) {
            cmd.env_remove(name);
        }
        // Apply locks of the tests' emulators stay out of the developer's own directories.
        cmd.env(
            "XDG_RUNTIME_DIR",
            std::env::temp_dir().join(format!("orgsync-e2e-{}", std::process::id())),
        );
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Starts the binary. Its output is read on threads, so a full pipe never stalls it.
    pub fn spawn(self) -> Spawned {
        let mut cmd = self.command();
        let merged = self.merged.then(|| match tempfile::tempfile() {
            Ok(file) => file,
            Err(e) => panic!("cannot create a file for orgsync's output: {e}"),
        });
        match &merged {
            Some(file) => cmd.stdout(clone(file)).stderr(clone(file)),
            None => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        };
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start orgsync {:?}: {e}", self.args),
        };
        if let (Some(text), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            std::thread::spawn(move || pipe.write_all(text.as_bytes()));
        }
        let (lines, stdout_lines) = mpsc::channel();
        Spawned {
            stdout: child.stdout.take().map(|p| drain(p, Some(lines))),
            stderr: child.stderr.take().map(|p| drain(p, None)),
            child,
            merged,
            stdout_lines,
            started: Instant::now(),
            timeout: self.timeout,
            args: self.args,
        }
    }
}

fn clone(file: &std::fs::File) -> std::fs::File {
    match file.try_clone() {
        Ok(f) => f,
        Err(e) => panic!("cannot share orgsync's output file: {e}"),
    }
}

/// What one run of the binary did. Output that is not UTF-8 fails the test.
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
            Err(e) => panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// A running binary; killed if dropped while it runs.
pub struct Spawned {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    merged: Option<std::fs::File>,
    stdout_lines: mpsc::Receiver<String>,
    started: Instant,
    timeout: Duration,
    args: Vec<String>,
}

impl Spawned {
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

    /// The next line the binary prints on stdout (without its newline), waiting at most
    /// until the run's time limit; a server's "listening on ..." line, say. Not available
    /// with [`Orgsync::stderr_to_stdout`], whose output is read only at the end.
    pub async fn stdout_line(&mut self) -> String {
        loop {
            match self.stdout_lines.try_recv() {
                Ok(line) => return line,
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("orgsync {:?} closed stdout before a line came", self.args)
                }
                Err(mpsc::TryRecvError::Empty) => self.check_time(),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for the exit without blocking the runtime; kills the process at the timeout.
    pub async fn finish(mut self) -> Run {
        loop {
            if let Some(status) = self.exited() {
                return self.collect(status);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn wait(mut self) -> Run {
        loop {
            if let Some(status) = self.exited() {
                return self.collect(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            Ok(None) => {
                self.check_time();
                None
            }
            Err(e) => panic!("waiting for orgsync failed: {e}"),
        }
    }

    fn check_time(&mut self) {
        if self.started.elapsed() > self.timeout {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "orgsync {:?} did not finish within {:?}; killed",
                self.args, self.timeout
            );
        }
    }

    fn collect(&mut self, status: ExitStatus) -> Run {
        let join = |h: Option<JoinHandle<Vec<u8>>>| h.and_then(|h| h.join().ok());
        let mut stdout = join(self.stdout.take()).unwrap_or_default();
        let stderr = join(self.stderr.take()).unwrap_or_default();
        if let Some(mut file) = self.merged.take() {
            let read = file.rewind().and_then(|()| file.read_to_end(&mut stdout));
            if let Err(e) = read {
                panic!("cannot read orgsync's output back: {e}");
            }
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout: utf8("stdout", stdout),
            stderr: utf8("stderr", stderr),
        }
    }
}

fn utf8(stream: &str, bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => panic!("orgsync wrote non-UTF-8 to {stream}: {e}"),
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

/// Reads `pipe` to the end on a thread; each line also goes to `lines` when given.
fn drain(
    pipe: impl Read + Send + 'static,
    lines: Option<mpsc::Sender<String>>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(pipe);
        let mut all = Vec::new();
        loop {
            let start = all.len();
            match reader.read_until(b'\n', &mut all) {
                Ok(0) | Err(_) => return all,
                Ok(_) => {
                    if let Some(lines) = &lines {
                        let line = String::from_utf8_lossy(&all[start..]);
                        let _ = lines.send(line.trim_end_matches(['\n', '\r']).to_string());
                    }
                }
            }
        }
    })
}
