//! The command line as a person meets it (docs/cli.md), through the real binary: every
//! bad flag value a usage error, `--out` never clobbering, saved plans read with bounds,
//! one apply per account at a time, SIGTERM as clean as Ctrl-C, a JSON report also for a
//! refusal, and `show`, `completions`, `man`, `help`, `-q`, flags only where they mean
//! something, messages true in their context.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::*;
use orgsync::emulator;

const SUBCOMMANDS: [&str; 10] = [
    "validate",
    "plan",
    "apply",
    "show",
    "export",
    "emulator",
    "schema",
    "completions",
    "man",
    "help",
];

fn repo_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(name)
        .display()
        .to_string()
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {path:?} failed");
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

fn s(v: &str) -> String {
    v.to_string()
}

// ------------------------------------------------------------------------ write safety

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_targets_that_are_not_regular_files_are_refused_and_left_as_they_are() {
    bounded(60, async {
        let w = Workdir::new(&every_kind().1);
        let victim = w.path("victim");
        std::fs::write(&victim, "precious").unwrap();
        let fifo = w.path("fifo");
        mkfifo(&fifo);
        let link = w.path("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let dir = w.path("dir");
        std::fs::create_dir(&dir).unwrap();
        for (target, kind) in [
            (&fifo, "a FIFO"),
            (&link, "a symbolic link"),
            (&dir, "a directory"),
        ] {
            let target = target.display().to_string();
            let plan = orgsync(&w.config(), None, &["plan", "--out", &target]);
            let export = orgsync_args(&["export", "--out", &target, "--force"]);
            for command in [plan, export] {
                let run = command.timeout(Duration::from_secs(20)).run().await;
                run.expect(64);
                assert!(run.stderr.contains(kind), "{kind}: {}", run.stderr);
                assert!(run.stderr.contains(&target), "{}", run.stderr);
                // Only a symlink is something to remove; never a device or a directory.
                let advice = run.stderr.contains("Remove it");
                assert_eq!(advice, kind == "a symbolic link", "{}", run.stderr);
            }
        }
        // `dir/` names a directory, whatever Rust's file_name() says: refused before
        // anything is read, and `/dev/null` is a device orgsync does not write.
        for (target, said) in [
            (format!("{}/", w.arg("nodir")), "names no file"),
            ("/dev/null".to_string(), "is a character device"),
        ] {
            let run = orgsync(&w.config(), None, &["plan", "--out", &target])
                .run()
                .await;
            run.expect(64);
            assert!(run.stderr.contains(said), "{target}: {}", run.stderr);
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(is_fifo(&fifo));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(dir.is_dir());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_out_never_writes_through_a_symlink_planted_at_a_temporary_name() {
    bounded(60, async {
        let (state, config) = every_kind();
        let emu = start(state, emulator::Options::default()).await;
        let w = Workdir::new(&config);
        let victim = w.path("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The name orgsync used to write its temporary file at, planted by someone else.
        let planted = w.path(".plan.json.orgsync-tmp");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let out = w.path("plan.json");
        std::fs::write(&out, "an older plan").unwrap();
        let run = orgsync(
            &w.config(),
            Some(&emu.base_url()),
            &[
                "plan",
                "--out",
                &out.display().to_string(),
                "--today",
                TODAY,
            ],
        )
        .run()
        .await;
        run.expect(0);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            std::fs::symlink_metadata(&planted)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let saved: Value = serde_json::from_str(&w.read("plan.json")).unwrap();
        assert_eq!(saved["account_id"], ACCOUNT);
        assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
        let left: Vec<String> = std::fs::read_dir(w.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".orgsync-tmp") && n != ".plan.json.orgsync-tmp")
            .collect();
        assert_eq!(left, Vec::<String>::new(), "temporary files left behind");
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_out_refuses_an_existing_file_unless_forced() {
    bounded(60, async {
        let (state, _) = every_kind();
        let emu = start(state, emulator::Options::default()).await;
        let url = emu.base_url();
        let w = Workdir::new("my own file\n");
        let target = w.config().display().to_string();
        emu.reset_stats();
        let run = orgsync_args(&["export", "--out", &target, "--endpoint", &url])
            .run()
            .await;
        run.expect(64);
        assert!(run.stderr.contains("exists"), "{}", run.stderr);
        assert!(run.stderr.contains("--force"), "{}", run.stderr);
        assert_eq!(w.read("org.yaml"), "my own file\n");
        assert_eq!(
            emu.stats()["total"],
            0,
            "refused before reading the account"
        );

        orgsync_args(&["export", "--out", &target, "--force", "--endpoint", &url])
            .run()
            .await
            .expect(0);
        assert!(
            w.read("org.yaml")
                .contains(&format!("account_id: \"{ACCOUNT}\""))
        );

        let fresh = w.path("new.yaml").display().to_string();
        orgsync_args(&["export", "--out", &fresh, "--endpoint", &url])
            .run()
            .await
            .expect(0);
        assert!(w.read("new.yaml").contains("groups:"));
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------------------------ saved plans

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_that_is_a_fifo_or_huge_is_refused_at_once() {
    bounded(60, async {
        let w = Workdir::new(&every_kind().1);
        let fifo = w.path("plan.fifo");
        mkfifo(&fifo);
        let huge = w.path("huge.json");
        // Sparse: 8 GB on paper, nothing on disk; reading it whole took 38 s.
        std::fs::File::create(&huge)
            .and_then(|f| f.set_len(8 << 30))
            .unwrap();
        for (path, says) in [(&fifo, "a FIFO"), (&huge, "larger than any plan")] {
            let path = path.display().to_string();
            for command in [
                orgsync(&w.config(), None, &["apply", &path, "--yes"]),
                orgsync_args(&["show", &path]),
            ] {
                let started = Instant::now();
                let run = command.timeout(Duration::from_secs(20)).run().await;
                run.expect(64);
                assert!(run.stderr.contains(says), "{}", run.stderr);
                assert!(started.elapsed() < Duration::from_secs(10));
            }
        }
    })
    .await;
}

// ------------------------------------------------------------------- flags and usage

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_endpoint_value_is_a_usage_error() {
    bounded(120, async {
        let w = Workdir::new(&every_kind().1);
        for flag in ["--endpoint", "--iam-endpoint", "--user-management-endpoint"] {
            for bad in ["notaurl", "ftp://example.com", "http://host.invalid"] {
                for command in ["plan", "apply"] {
                    let run = orgsync(&w.config(), None, &[command, flag, bad])
                        .run()
                        .await;
                    run.expect(64);
                    assert!(run.stderr.contains(flag), "{flag} {bad}: {}", run.stderr);
                }
                let run = orgsync_args(&["export", flag, bad]).run().await;
                run.expect(64);
            }
        }
        // The environment's value is checked the same way.
        let run = orgsync(&w.config(), None, &["plan"])
            .env("ORGSYNC_ENDPOINT", "ftp://example.com")
            .run()
            .await;
        run.expect(64);
        // A date that does not exist, as before.
        let run = orgsync(&w.config(), None, &["plan", "--today", "2027-13-01"])
            .run()
            .await;
        run.expect(64);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_conflicts_with_endpoint_flags_and_the_api_key_file() {
    bounded(60, async {
        let example = repo_file("org.example.yaml");
        let key_file = Workdir::new("");
        key_file.write("key.txt", "some-key\n");
        let key = key_file.path("key.txt").display().to_string();
        for (sandbox, with, value) in [
            ("--sandbox", "--endpoint", "http://127.0.0.1:9"),
            ("--sandbox", "--iam-endpoint", "https://iam.cloud.ibm.com"),
            (
                "--sandbox",
                "--user-management-endpoint",
                "https://user-management.cloud.ibm.com",
            ),
            ("--sandbox", "--api-key-file", key.as_str()),
        ] {
            let run = orgsync(Path::new(&example), None, &["plan", sandbox, with, value])
                .run()
                .await;
            run.expect(64);
            assert!(
                run.stderr
                    .contains(&format!("{sandbox} cannot be combined with {with}")),
                "{}",
                run.stderr
            );
        }
        // --endpoint would silently win over a separate endpoint flag.
        let run = orgsync(
            Path::new(&example),
            None,
            &[
                "plan",
                "--endpoint",
                "http://127.0.0.1:9",
                "--iam-endpoint",
                "https://iam.cloud.ibm.com",
            ],
        )
        .run()
        .await;
        run.expect(64);
        // The environment is ambient: --sandbox runs although ORGSYNC_ENDPOINT is set.
        let run = orgsync(Path::new(&example), None, &["plan", "--sandbox"])
            .env("ORGSYNC_ENDPOINT", "http://127.0.0.1:9")
            .run()
            .await;
        run.expect(0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_api_key_says_how_to_provide_one_and_suggests_the_sandbox() {
    bounded(60, async {
        let w = Workdir::new(&every_kind().1);
        let run = orgsync(&w.config(), Some("http://127.0.0.1:9"), &["plan"])
            .without_env("IBMCLOUD_API_KEY")
            .run()
            .await;
        run.expect(1);
        for needle in ["IBMCLOUD_API_KEY", "--api-key-file", "--sandbox"] {
            assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_sandbox_state_or_key_file_names_the_flag_and_the_path() {
    bounded(60, async {
        let w = Workdir::new(&every_kind().1);
        for flag in ["--sandbox-state", "--api-key-file"] {
            let missing = "/nonexistent/orgsync-test-file";
            let run = orgsync(&w.config(), None, &["plan", flag, missing])
                .run()
                .await;
            run.expect(64);
            assert!(
                run.stderr
                    .contains(&format!("{flag} {missing}: no such file")),
                "{}",
                run.stderr
            );
            assert!(!run.stderr.contains("entity not found"), "{}", run.stderr);
        }
        // A state file far beyond what a state may be is refused unread (sparse: no disk).
        let huge = std::fs::File::create(w.path("huge.yaml")).unwrap();
        huge.set_len(3 << 30).unwrap();
        let run = orgsync(
            &w.config(),
            None,
            &["plan", "--sandbox-state", &w.arg("huge.yaml")],
        )
        .run()
        .await;
        run.expect(1);
        assert!(
            run.stderr.contains("huge.yaml: it is larger than 32 MiB"),
            "{}",
            run.stderr
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_flags_are_refused_by_commands_that_read_no_config() {
    bounded(60, async {
        let config = repo_file("org.example.yaml");
        for args in [
            vec!["-c", &config, "export", "--sandbox"],
            vec!["-c", &config, "schema"],
            vec!["-c", &config, "show", "plan.json"],
            vec!["-c", &config, "completions", "bash"],
            vec!["-c", &config, "man"],
        ] {
            let run = orgsync_args(&args).run().await;
            run.expect(64);
            assert!(
                run.stderr.contains("names a config file, and `orgsync "),
                "{args:?}: {}",
                run.stderr
            );
        }
        // After the command, clap does not offer it at all.
        for command in ["export", "schema", "emulator", "show", "completions", "man"] {
            let run = orgsync_args(&[command, "-c", &config]).run().await;
            run.expect(64);
            assert!(
                run.stderr.contains("unexpected argument '-c'"),
                "{command}: {}",
                run.stderr
            );
        }
        // Where a config is read, -c goes before or after the command.
        for args in [
            vec!["-c", &config, "validate"],
            vec!["validate", "-c", &config],
        ] {
            orgsync_args(&args).run().await.expect(0);
        }
    })
    .await;
}

// --------------------------------------------------------------- apply's JSON report

/// `apply --format json` with `extra` flags, refused; returns the report.
async fn refused_report(emu: &emulator::Emulator, config: &str, extra: &[&str]) -> (Value, Run) {
    let w = Workdir::new(config);
    let mut args = vec!["apply", "--format", "json", "--today", TODAY];
    args.extend_from_slice(extra);
    emu.reset_stats();
    let run = orgsync(&w.config(), Some(&emu.base_url()), &args)
        .run()
        .await;
    run.expect(3);
    assert_eq!(
        writes(&emu.stats()),
        Default::default(),
        "a refused apply wrote"
    );
    (run.json(), run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_json_reports_a_refusal_with_every_change_refused() {
    bounded(60, async {
        let (state, config) = every_kind();
        let emu = start(state, emulator::Options::default()).await;

        // No terminal to confirm on.
        let (report, _) = refused_report(&emu, &config, &[]).await;
        insta::assert_json_snapshot!("refused_without_a_terminal", report);
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        assert!(changes.len() > 5);
        for change in &changes {
            assert_eq!(change["status"], "refused", "{change}");
            assert_eq!(change["transaction_id"], Value::Null);
        }
        assert_eq!(report["summary"]["refused"], changes.len());
        assert_eq!(report["account_id"], ACCOUNT);

        // Too many removals.
        let strict = config.replace("max_removals: 5", "max_removals: 1");
        let (report, _) = refused_report(&emu, &strict, &["--yes"]).await;
        let reason = report["changes"][0]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.contains("more than policy.max_removals (1)"),
            "{report}"
        );
        assert!(
            report["refusal"]
                .as_str()
                .unwrap_or_default()
                .contains("--allow-removals")
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_json_report_names_the_account_and_each_transaction_id() {
    bounded(60, async {
        let (state, config) = every_kind();
        let emu = start(state, emulator::Options::default()).await;
        let w = Workdir::new(&config);
        let run = orgsync(
            &w.config(),
            Some(&emu.base_url()),
            &["apply", "--yes", "--format", "json", "--today", TODAY],
        )
        .run()
        .await;
        run.expect(0);
        let report = run.json();
        assert_eq!(report["account_id"], ACCOUNT);
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        assert!(!changes.is_empty());
        for change in &changes {
            assert_eq!(change["status"], "applied", "{change}");
            assert!(change["transaction_id"].is_string(), "{change}");
        }
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------------- lock and signals

/// An account of `n` unlisted users that apply removes one call at a time, each call
/// taking `latency`: long enough to act on while it runs.
async fn slow_removals(n: usize, latency: Duration) -> (emulator::Emulator, Workdir) {
    let mut account = Account::new();
    for i in 0..n {
        account = account.user(
            &format!("x{i:02}@example.com"),
            &format!("IBMid-X{i:07}"),
            "ACTIVE",
        );
    }
    let config = config_yaml(
        ACCOUNT,
        "  unlisted_users: remove\n  max_removals: 50\n",
        &[],
        &[(s(ADMIN_EMAIL), vec![])],
    );
    let options = emulator::Options {
        latency,
        ..emulator::Options::default()
    };
    (start(account.build(), options).await, Workdir::new(&config))
}

const REMOVE_USER: &str = "DELETE /v2/accounts/{account_id}/users/{iam_id}";

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The lock files in a runtime directory, with their contents.
fn lock_files(runtime: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(runtime.join("orgsync"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    (e.path(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_on_the_same_account_is_refused_naming_the_first() {
    bounded(120, async {
        let (emu, w) = slow_removals(12, Duration::from_millis(150)).await;
        let url = emu.base_url();
        let runtime = tempfile::tempdir().unwrap();
        let runtime_dir = runtime.path().display().to_string();
        let apply = |extra: &[&str]| {
            let mut args = vec!["apply", "--yes", "--parallelism", "1", "--today", TODAY];
            args.extend_from_slice(extra);
            orgsync(&w.config(), Some(&url), &args).env("XDG_RUNTIME_DIR", &runtime_dir)
        };
        let first = apply(&[]).spawn();
        let pid = first.pid();
        wait_for("the first apply to take the lock", || {
            lock_files(runtime.path())
                .iter()
                .any(|(_, text)| text.contains(&format!("\"pid\":{pid}")))
        })
        .await;

        let second = apply(&["--format", "json"]).run().await;
        second.expect(3);
        assert!(
            second.stderr.contains("another orgsync apply is running")
                && second.stderr.contains(&format!("pid {pid} ")),
            "{}",
            second.stderr
        );
        let report = second.json();
        assert_eq!(report["changes"], serde_json::json!([]));
        assert!(
            report["refusal"]
                .as_str()
                .unwrap_or_default()
                .contains("another orgsync apply")
        );

        first.finish().await.expect(0);
        assert_eq!(emu.state().users.len(), 1, "the first apply did all of it");
        assert_eq!(
            lock_files(runtime.path()),
            vec![],
            "a finished apply releases its lock"
        );
        // The second, run again, finds nothing to do.
        apply(&[]).run().await.expect(0);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_an_apply_that_was_killed_is_taken_over_with_a_note() {
    bounded(120, async {
        let (emu, w) = slow_removals(12, Duration::from_millis(150)).await;
        let url = emu.base_url();
        let runtime = tempfile::tempdir().unwrap();
        let runtime_dir = runtime.path().display().to_string();
        let apply = || {
            orgsync(
                &w.config(),
                Some(&url),
                &["apply", "--yes", "--parallelism", "1", "--today", TODAY],
            )
            .env("XDG_RUNTIME_DIR", &runtime_dir)
        };
        let killed = apply().spawn();
        let pid = killed.pid();
        wait_for("the apply to start removing", || {
            calls(&emu.stats(), REMOVE_USER) > 0
        })
        .await;
        // Dropping a running binary kills it (SIGKILL): no handler, no release.
        drop(killed);
        assert_eq!(
            lock_files(runtime.path()).len(),
            1,
            "the killed apply left its lock file"
        );

        let run = apply().run().await;
        run.expect(0);
        assert!(
            run.stderr.contains("took over the apply lock")
                && run.stderr.contains(&format!("pid {pid} ")),
            "{}",
            run.stderr
        );
        assert_eq!(emu.state().users.len(), 1);
        assert_eq!(lock_files(runtime.path()), vec![]);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_apply_finishes_the_calls_in_flight_and_writes_report_and_audit() {
    bounded(120, async {
        let (emu, w) = slow_removals(20, Duration::from_millis(150)).await;
        let audit = w.path("audit.jsonl").display().to_string();
        let running = orgsync(
            &w.config(),
            Some(&emu.base_url()),
            &[
                "apply",
                "--yes",
                "--parallelism",
                "1",
                "--format",
                "json",
                "--audit-log",
                &audit,
                "--today",
                TODAY,
            ],
        )
        .spawn();
        wait_for("the apply to start removing", || {
            calls(&emu.stats(), REMOVE_USER) > 0
        })
        .await;
        running.terminate();
        let run = running.finish().await;
        run.expect(1);
        assert!(run.stderr.contains("Terminated"), "{}", run.stderr);
        let report = run.json();
        let count = |status: &str| {
            report["changes"]
                .as_array()
                .map_or(0, |c| c.iter().filter(|c| c["status"] == status).count())
        };
        let (applied, skipped) = (count("applied"), count("skipped"));
        assert!(applied >= 1 && skipped >= 1, "{}", report["summary"]);
        assert_eq!(applied + skipped, 20, "{}", report["summary"]);
        // What the report calls applied is what happened, and the audit log has it.
        assert_eq!(emu.state().users.len(), 1 + 20 - applied);
        assert_eq!(w.read("audit.jsonl").lines().count(), applied);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_apply_at_once() {
    bounded(120, async {
        let (emu, w) = slow_removals(20, Duration::from_millis(400)).await;
        let running = orgsync(
            &w.config(),
            Some(&emu.base_url()),
            &["apply", "--yes", "--parallelism", "1", "--today", TODAY],
        )
        .spawn();
        wait_for("the apply to start removing", || {
            calls(&emu.stats(), REMOVE_USER) > 0
        })
        .await;
        running.terminate();
        // Apart enough that the two are not merged into one pending signal.
        tokio::time::sleep(Duration::from_millis(100)).await;
        running.terminate();
        let run = running.finish().await;
        run.expect(143);
        assert!(
            !run.stdout.contains("Apply:"),
            "no report after a second signal"
        );
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------------------------ show

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_prints_a_saved_plan_offline_in_each_format() {
    bounded(60, async {
        let (state, config) = every_kind();
        let emu = start(state, emulator::Options::default()).await;
        let w = Workdir::new(&config);
        let saved = w.path("plan.json").display().to_string();
        let planned = orgsync(
            &w.config(),
            Some(&emu.base_url()),
            &["plan", "--out", &saved, "--today", TODAY],
        )
        .run()
        .await;
        planned.expect(0);
        // Offline: the account is gone, and no config is named.
        emu.shutdown().await;

        let json = orgsync_args(&["show", &saved, "--format", "json"])
            .run()
            .await;
        json.expect(0);
        assert_eq!(json.stdout, w.read("plan.json"), "the saved plan, as saved");

        let text = orgsync_args(&["show", &saved]).run().await;
        text.expect(0);
        let summary = |out: &str| {
            out.lines()
                .find(|l| l.starts_with("Plan: "))
                .map(str::to_string)
        };
        assert!(summary(&text.stdout).is_some(), "{}", text.stdout);
        assert_eq!(summary(&text.stdout), summary(&planned.stdout));
        insta::assert_snapshot!("show_text", text.stdout);

        let markdown = orgsync_args(&["show", &saved, "--format", "markdown"])
            .run()
            .await;
        markdown.expect(0);
        assert!(
            markdown.stdout.starts_with("**Plan: "),
            "{}",
            markdown.stdout
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_and_apply_name_a_config_passed_where_a_plan_belongs() {
    bounded(60, async {
        let w = Workdir::new(&every_kind().1);
        let config = w.config().display().to_string();
        let run = orgsync_args(&["show", &config]).run().await;
        run.expect(64);
        assert!(
            run.stderr.contains("looks like an orgsync config file"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("`orgsync plan -c {config}`")),
            "{}",
            run.stderr
        );

        let run = orgsync(&w.config(), None, &["apply", &config, "--yes"])
            .run()
            .await;
        run.expect(64);
        assert!(
            run.stderr.contains(&format!("`orgsync apply -c {config}`")),
            "{}",
            run.stderr
        );

        w.write("other.json", "{\"hello\": 1}");
        let run = orgsync_args(&["show", &w.path("other.json").display().to_string()])
            .run()
            .await;
        run.expect(64);
        assert!(
            run.stderr.contains("is not a valid orgsync plan"),
            "{}",
            run.stderr
        );
    })
    .await;
}

// ------------------------------------------------------- completions, man, help, -q

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_every_shell_and_the_man_pages_mention_every_subcommand() {
    bounded(60, async {
        for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
            let run = orgsync_args(&["completions", shell]).run().await;
            run.expect(0);
            for command in SUBCOMMANDS {
                assert!(run.stdout.contains(command), "{shell} lacks {command}");
            }
        }
        let run = orgsync_args(&["completions", "tcsh"]).run().await;
        run.expect(64);

        let page = orgsync_args(&["man"]).run().await;
        page.expect(0);
        assert!(page.stdout.contains(".TH orgsync 1"), "{}", page.stdout);
        for command in SUBCOMMANDS {
            let name = format!("orgsync\\-{command}(1)");
            assert!(page.stdout.contains(&name), "the page lacks {name}");
            let sub = orgsync_args(&["man", command]).run().await;
            sub.expect(0);
            assert!(
                sub.stdout.contains(&format!(".TH orgsync-{command} 1")),
                "{}",
                sub.stdout
            );
        }
        let plan = orgsync_args(&["man", "plan"]).run().await;
        assert!(plan.stdout.contains("detailed\\-exitcode"));
        orgsync_args(&["man", "nosuch"]).run().await.expect(64);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_groups_global_and_command_flags_apart_and_help_takes_help() {
    bounded(60, async {
        let help = orgsync_args(&["plan", "--help"]).run().await;
        help.expect(0);
        let at = |needle: &str| {
            help.stdout
                .find(needle)
                .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", help.stdout))
        };
        assert!(at("--out") < at("Connection options:"));
        assert!(at("Connection options:") < at("--endpoint"));
        assert!(at("--endpoint") < at("Global options:"));
        assert!(at("Global options:") < at("--color"));

        orgsync_args(&["help", "--help"]).run().await.expect(0);
        let via_help = orgsync_args(&["help", "plan"]).run().await;
        via_help.expect(0);
        assert_eq!(via_help.stdout, help.stdout);
        orgsync_args(&["help", "nosuch"]).run().await.expect(64);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_leaves_only_errors_and_the_sandbox_notice_on_stderr() {
    bounded(60, async {
        let example = repo_file("org.example.yaml");
        let banner = |stderr: &str| {
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{stderr}");
            assert!(lines[0].starts_with("Sandbox: "), "{stderr}");
        };
        let run = orgsync(Path::new(&example), None, &["-q", "plan", "--sandbox"])
            .run()
            .await;
        run.expect(0);
        assert!(run.stdout.contains("Plan: "));
        banner(&run.stderr);

        // Without -q, apply --format json shows the plan on stderr; with it, not.
        let args = ["apply", "--sandbox", "--yes", "--format", "json"];
        let loud = orgsync(Path::new(&example), None, &args).run().await;
        assert!(loud.stderr.contains("Plan: "), "{}", loud.stderr);
        let mut quiet_args = vec!["-q"];
        quiet_args.extend_from_slice(&args);
        let quiet = orgsync(Path::new(&example), None, &quiet_args).run().await;
        quiet.expect(0);
        banner(&quiet.stderr);
        assert_eq!(quiet.json()["summary"]["failed"], 0);

        let export = orgsync_args(&["-q", "export", "--sandbox"]).run().await;
        export.expect(0);
        banner(&export.stderr);

        // Errors still show.
        let error = orgsync(
            Path::new("/nonexistent/org.yaml"),
            None,
            &["-q", "validate"],
        )
        .run()
        .await;
        error.expect(78);
        assert!(error.stderr.contains("error"), "{}", error.stderr);
    })
    .await;
}

// ------------------------------------------------------------ messages in context

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_mismatches_blame_what_is_true_in_context() {
    bounded(60, async {
        // The sandbox has no API key to blame.
        let w = Workdir::new(&every_kind().1.replace(ACCOUNT, OTHER_ACCOUNT));
        let run = orgsync(&w.config(), None, &["plan", "--sandbox"])
            .run()
            .await;
        run.expect(1);
        assert!(
            run.stderr.contains("the sandbox serves account"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("API key"), "{}", run.stderr);

        // export --account-id has no file.
        let (state, _) = every_kind();
        let emu = start(state, emulator::Options::default()).await;
        let run = orgsync_args(&[
            "export",
            "--account-id",
            OTHER_ACCOUNT,
            "--endpoint",
            &emu.base_url(),
        ])
        .run()
        .await;
        run.expect(1);
        assert!(
            run.stderr
                .contains(&format!("but --account-id is {OTHER_ACCOUNT}")),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("the file"), "{}", run.stderr);
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------- validate for CI and tools

/// `validate --format github` puts one annotation per problem on stdout, at the problem's
/// line, and `--format json` one document; the text form still goes to stderr, and the
/// exit code is the config's (78) either way (docs/config.md, Problems for CI and tools).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_problems_as_github_annotations_and_json() {
    bounded(60, async {
        let config = format!(
            "version: 1\naccount_id: {ACCOUNT}\ngroups:\n  lab-simulation: {{}}\nusers:\n  student@lab.example.org:\n    groups: [lab-simulaton]\n  Student@lab.example.org:\n    groups: [lab-simulation]\n"
        );
        let w = Workdir::new(&config);
        let validate = |format: &'static str| {
            orgsync_args(&["validate", "-c", "org.yaml", "--format", format]).current_dir(w.root())
        };
        let github = validate("github").run().await;
        github.expect(78);
        let annotations: Vec<&str> = github.stdout.lines().collect();
        assert_eq!(annotations.len(), 2, "{}", github.stdout);
        assert!(
            annotations.iter().all(|a| a.starts_with("::error file=org.yaml,line=")),
            "{}",
            github.stdout
        );
        insta::assert_snapshot!("validate_github", github.stdout);
        assert!(
            github.stderr.contains("--> org.yaml:7:14"),
            "the text form on stderr: {}",
            github.stderr
        );

        let json = validate("json").run().await;
        json.expect(78);
        let report = json.json();
        assert_eq!(report["valid"], false);
        assert_eq!(report["count"], 2);
        insta::assert_snapshot!("validate_json", json.stdout);

        // A valid file: no annotation, and a JSON document that says so.
        w.write("org.yaml", &config.replace("Student@", "teacher@").replace("lab-simulaton", "lab-simulation"));
        let github = validate("github").run().await;
        github.expect(0);
        assert_eq!(github.stdout, "");
        let json = validate("json").run().await;
        json.expect(0);
        assert_eq!(
            json.json(),
            serde_json::json!({"valid": true, "count": 0, "problems": []})
        );
    })
    .await;
}

/// Sandbox runs each serve their own emulator, but two applies with one `--sandbox-state`
/// file share its account (each writes it back): the second is refused like a second
/// apply on one real account, and another state file is another account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_with_one_sandbox_state_file_are_kept_apart() {
    bounded(60, async {
        let w = Workdir::new(&std::fs::read_to_string("org.example.yaml").unwrap());
        let sandbox = std::fs::read_to_string("examples/sandbox-state.yaml").unwrap();
        w.write("account.yaml", &sandbox);
        w.write("other.yaml", &sandbox);
        let runtime = tempfile::tempdir().unwrap();
        let runtime_dir = runtime.path().display().to_string();
        let apply = |state: &str| {
            orgsync(
                &w.config(),
                None,
                &["apply", "--yes", "--sandbox-state", state],
            )
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("ORGSYNC_TODAY", TODAY)
        };
        // Hold the lock an apply with account.yaml takes, as a running apply would.
        let state = std::fs::canonicalize(w.path("account.yaml")).unwrap();
        let scope = format!("8c3f1e9a27b64d0f9e5a1c7b3d2f6e04@{}", state.display());
        let name: String = (scope.chars())
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = runtime.path().join("orgsync");
        std::fs::create_dir_all(&dir).unwrap();
        let mut perms = std::fs::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        std::fs::set_permissions(&dir, perms).unwrap();
        let held = std::fs::File::create(dir.join(format!("apply-{name}.lock"))).unwrap();
        held.try_lock().expect("the test takes the lock");

        let refused = apply(&w.arg("account.yaml")).run().await;
        refused.expect(3);
        assert!(
            refused.stderr.contains(&format!(
                "another orgsync apply is running on account {scope}"
            )),
            "{}",
            refused.stderr
        );
        assert_eq!(
            w.read("account.yaml"),
            sandbox,
            "the refused apply wrote nothing"
        );
        // Another state file is another account.
        apply(&w.arg("other.yaml")).run().await.expect(0);
        drop(held);
        apply(&w.arg("account.yaml")).run().await.expect(0);
    })
    .await;
}
