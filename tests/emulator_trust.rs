//! The emulator is a test server, but it must not be a hazard (docs/emulator.md, Safety): each
//! test here is one class of defect found by attacking it on purpose, and fails without
//! its fix.
//!
//! - a non-loopback `--listen` needs `--allow-remote` and warns (its admin endpoints are
//!   unauthenticated and return the API keys);
//! - tokens are signed with a key of the process: one minted from the account id alone is
//!   refused, a restart invalidates old tokens, and orgsync's client fetches a new one;
//! - slow clients are cut off and connections capped (a slowloris held 3,000);
//! - admin bodies are bounded (413);
//! - nonsensical flags are usage errors (exit 64);
//! - `--persist` keeps YAML as YAML and JSON as JSON, and says so on the first write;
//! - the announcement is one block naming the API keys (issue 16).

use std::io::{BufRead, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use orgsync::emulator::{self, Options, State};
use orgsync::iam::{Client, ClientOptions, Endpoints};
use orgsync::model::AccountId;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::emulator_http::{ACCOUNT, ADMIN_KEY, Api, QISKIT, bounded, http, qiskit, start};

fn orgsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orgsync"))
}

/// `orgsync emulator ARGS` that is expected to refuse: its exit code and stderr. One that
/// starts serving instead is stopped after 10 s and reported as a failure.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let mut child = orgsync()
        .arg("emulator")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run orgsync emulator");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait().expect("wait") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("orgsync emulator {args:?} kept running instead of refusing");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    assert!(out.is_empty(), "{args:?}: nothing on stdout: {out}");
    (status.code(), err)
}

/// The real binary serving until dropped; its stderr is collected once it is stopped.
struct Running {
    child: std::process::Child,
    base: String,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = orgsync()
            .arg("emulator")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orgsync emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        let mut running = Running {
            child,
            base: String::new(),
        };
        read.expect("first line");
        running.base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        running
    }

    /// Stops it and answers what it said on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ binding, flags

#[test]
fn a_non_loopback_address_needs_allow_remote_and_is_warned_about() {
    let (code, stderr) = refused(&["--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains("--listen 0.0.0.0:0 is not a loopback address")
            && stderr.contains("--allow-remote")
            && stderr.contains("unauthenticated"),
        "{stderr}"
    );
    let running = Running::start(&["--listen", "0.0.0.0:0", "--allow-remote"]);
    assert!(
        running.base.starts_with("http://0.0.0.0:"),
        "{}",
        running.base
    );
    let stderr = running.stop();
    assert!(
        stderr.contains("warning: listening on 0.0.0.0:")
            && stderr.contains("/__admin without authentication"),
        "{stderr}"
    );
    // Loopback needs nothing, by name too.
    let running = Running::start(&["--listen", "localhost:0"]);
    assert!(!running.stop().contains("warning"));
}

#[test]
fn nonsensical_flags_are_usage_errors_that_say_what_is_accepted() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--fail-rate", "2"],
            "--fail-rate 2 is not a probability; give a number from 0 to 1",
        ),
        (
            &["--fail-rate", "NaN"],
            "--fail-rate NaN is not a probability",
        ),
        (
            &["--fail-rate=-0.5"],
            "--fail-rate -0.5 is not a probability",
        ),
        (
            &["--fail-rate", "inf"],
            "--fail-rate inf is not a probability",
        ),
        (
            &["--drop-rate", "1.01"],
            "--drop-rate 1.01 is not a probability",
        ),
        (&["--rate-limit", "NaN"], "--rate-limit NaN is not a rate"),
        (&["--rate-limit=-1"], "--rate-limit -1 is not a rate"),
        (
            &["--token-ttl", "0"],
            "--token-ttl 0 is not a token lifetime; give seconds from 1 to 31536000",
        ),
        (
            &["--token-ttl", "18446744073709551615"],
            "--token-ttl 18446744073709551615 is not a token lifetime",
        ),
        (&["--token-ttl", "99999999999999999999999"], "--token-ttl"),
        (
            &["--latency-ms", "86400000"],
            "--latency-ms 86400000 is too long; give milliseconds from 0 to 60000",
        ),
        (&["--jitter-ms", "60001"], "--jitter-ms 60001 is too long"),
        (
            &["--processing-ms", "86400001"],
            "--processing-ms 86400001 is too long",
        ),
        (
            &["--listen", "nowhere"],
            "--listen \"nowhere\" is not an address",
        ),
    ];
    for (args, says) in cases {
        let mut all = if args.contains(&"--listen") {
            vec![]
        } else {
            vec!["--listen", "127.0.0.1:0"]
        };
        all.extend_from_slice(args);
        let (code, stderr) = refused(&all);
        assert_eq!(code, Some(64), "{args:?}: {stderr}");
        assert!(
            stderr.contains(says),
            "{args:?} should say {says:?}: {stderr}"
        );
    }
}

// -------------------------------------------------------------------------- tokens

/// HS256 as the emulator signed before: the key was SHA-256 of a fixed text and the
/// account id, so anyone who knew the id could mint a token.
fn forged_token(account: &str, iam_id: &str) -> String {
    let key: [u8; 32] =
        Sha256::digest(format!("orgsync-emulator-token-key:{account}").as_bytes()).into();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = b64(br#"{"kid":"emulator","alg":"HS256"}"#);
    let claims = json!({"iam_id": iam_id, "id": iam_id, "realmid": "IBMid", "jti": "x",
        "identifier": "ADMIN00001", "sub": "admin@example.com", "sub_type": "",
        "account": {"valid": true, "bss": account, "frozen": true},
        "iat": 1, "exp": 4_000_000_000u64, "iss": "https://iam.cloud.ibm.com/identity",
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "scope": "ibm openid",
        "client_id": "default", "acr": 1, "amr": ["pwd"]});
    let input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&key);
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(input.as_bytes())
        .finalize();
    let mac = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize();
    format!("{input}.{}", b64(&mac))
}

async fn groups_status(base: &str, token: &str) -> StatusCode {
    http()
        .get(format!("{base}/v2/groups?account_id={ACCOUNT}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_good_only_for_the_process_that_minted_it() {
    bounded(async {
        let first = start(qiskit()).await;
        let api = Api::new(&first, ADMIN_KEY).await;
        assert_eq!(
            groups_status(&first.base_url(), &api.token).await,
            StatusCode::OK
        );
        // Knowing the account id is not enough to mint a token.
        let forged = forged_token(ACCOUNT, "IBMid-ADMIN00001");
        assert_eq!(
            groups_status(&first.base_url(), &forged).await,
            StatusCode::UNAUTHORIZED
        );
        // Another emulator of the same account (a restart) refuses the first one's token.
        let second = start(qiskit()).await;
        assert_eq!(
            groups_status(&second.base_url(), &api.token).await,
            StatusCode::UNAUTHORIZED
        );
        // A token of the account the state held before a replace is refused too.
        let mut other = qiskit();
        other.account_id = "ffffffffffffffffffffffffffffffff".into();
        first.set_state(other);
        let status = http()
            .get(format!(
                "{}/v2/groups?account_id=ffffffffffffffffffffffffffffffff",
                first.base_url()
            ))
            .bearer_auth(&api.token)
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        first.shutdown().await;
        second.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orgsync_fetches_a_new_token_when_a_restarted_emulator_refuses_the_old_one() {
    bounded(async {
        let _ = http();
        let first = start(qiskit()).await;
        let addr = first.addr();
        let client = Client::new(ClientOptions {
            endpoints: Endpoints::resolve(Some(&first.base_url()), "", "").expect("endpoints"),
            api_key: SecretString::from(ADMIN_KEY.to_string()),
            parallelism: 2,
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            progress: false,
        })
        .expect("client");
        let account = AccountId::new(ACCOUNT);
        assert_eq!(client.list_groups(&account).await.expect("groups").len(), 2);
        first.shutdown().await;
        // The same address, a new process key: the cached token is refused with 401. (A
        // parallel test may hold the freed port for a moment: try again for a while.)
        let deadline = Instant::now() + Duration::from_secs(10);
        let second = loop {
            match emulator::bind(addr, qiskit(), Options::default()).await {
                Ok(emu) => break emu,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding {addr}: {e}; trying again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind {addr}: {e}"),
            }
        };
        assert_eq!(
            client
                .list_groups(&account)
                .await
                .expect("after restart")
                .len(),
            2
        );
        let stats = second.stats();
        assert_eq!(stats["by_route"]["POST /identity/token"], 1, "{stats}");
        assert_eq!(
            stats["by_status"]["401"], 1,
            "one refusal, then a new token: {stats}"
        );
        second.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------- connections

async fn answered_within(addr: std::net::SocketAddr, limit: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /__admin/stats HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await {
        Ok(Ok(_)) => Some(String::from_utf8_lossy(&answer).into_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    bounded(async {
        let options = Options {
            max_connections: 3,
            header_read_timeout: Duration::from_millis(600),
            ..Options::default()
        };
        let emu = emulator::start(qiskit(), options).await.expect("start");
        let addr = emu.addr();
        // Three slowloris clients: headers begun, never finished.
        let mut slow = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET /__admin/stats HTTP/1.1\r\nHost: emul")
                .await
                .expect("write");
            slow.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The cap is reached: a fourth client waits (unaccepted) ...
        let started = Instant::now();
        let waiting = tokio::spawn(answered_within(addr, Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "the fourth connection is served beyond the cap"
        );
        // ... until the slow ones are cut off at the header timeout; then it is served.
        let answer = waiting
            .await
            .expect("join")
            .expect("served once the slow ones are gone");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(350) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        for mut s in slow {
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
            assert!(
                matches!(read, Ok(Ok(_)) | Ok(Err(_))),
                "a slow client is disconnected"
            );
        }
        // An idle keep-alive connection is closed after the same time.
        let mut idle = TcpStream::connect(addr).await.expect("connect");
        idle.write_all(b"GET /__admin/stats HTTP/1.1\r\nHost: emulator\r\n\r\n")
            .await
            .expect("write");
        let mut buf = vec![0u8; 4096];
        let n = idle.read(&mut buf).await.expect("answer");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let closed = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match idle.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "an idle connection is closed");
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bodies_are_bounded() {
    bounded(async {
        let emu = start(qiskit()).await;
        let url = format!("{}/__admin/state", emu.base_url());
        let http = http();
        let huge = vec![b' '; emulator::MAX_STATE_BYTES + 1];
        let resp = http.post(&url).body(huge).send().await.expect("post");
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = resp.json().await.expect("an error envelope");
        assert_eq!(body["status_code"], 413, "{body}");
        // The account is untouched, and a state of normal size still goes in.
        assert_eq!(emu.state().groups.len(), 2);
        let resp = http.post(&url).body(QISKIT).send().await.expect("post");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        emu.shutdown().await;
    })
    .await;
}

#[test]
fn a_state_file_that_is_not_a_regular_file_is_refused() {
    let (code, stderr) = refused(&["--listen", "127.0.0.1:0", "--state", "/dev/null/nope"]);
    assert_eq!(code, Some(1), "{stderr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr) = refused(&[
        "--listen",
        "127.0.0.1:0",
        "--state",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("it is not a regular file"), "{stderr}");
}

// ------------------------------------------------------------------------ --persist

/// Creates one group through the binary at `base`, with a fresh token.
async fn create_group(base: &str, name: &str) {
    let http = http();
    let token: Value = http
        .post(format!("{base}/identity/token"))
        .form(&[
            ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
            ("apikey", ADMIN_KEY),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let resp = http
        .post(format!("{base}/v2/groups?account_id={ACCOUNT}"))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .json(&json!({"name": name}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persist_keeps_the_files_format_and_says_what_it_does_once() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let json_text = serde_json::to_string_pretty(&qiskit()).expect("json");
        for (name, original, format, says) in [
            (
                "account.yaml",
                QISKIT.to_string(),
                "YAML",
                "(YAML; comments in it are not kept)",
            ),
            ("account.json", json_text, "JSON", "(JSON)"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &original).expect("write");
            let file = path.to_str().expect("utf-8").to_string();
            let running = tokio::task::spawn_blocking(move || {
                Running::start(&["--listen", "127.0.0.1:0", "--state", &file, "--persist"])
            })
            .await
            .expect("start");
            assert_eq!(
                std::fs::read_to_string(&path).expect("read"),
                original,
                "untouched at start"
            );
            create_group(&running.base, "first").await;
            create_group(&running.base, "second").await;
            let stderr = running.stop();
            let notice = format!(
                "writing the emulator's state back to {} {says}",
                path.display()
            );
            assert_eq!(
                stderr.matches(&notice).count(),
                1,
                "{format}: once: {stderr}"
            );
            let text = std::fs::read_to_string(&path).expect("read");
            assert_eq!(
                text.trim_start().starts_with('{'),
                format == "JSON",
                "{format} stays {format}: {text}"
            );
            let back = State::parse(&text).expect("loads back");
            let names: Vec<_> = back.groups.iter().map(|g| g.name.as_str()).collect();
            assert_eq!(names, ["ml", "finance", "first", "second"], "{format}");
            assert_eq!(back.policies.len(), 3, "{format}: nothing lost");
        }
    })
    .await;
}

// --------------------------------------------------------------------- announcement

#[test]
fn the_announcement_is_one_block_naming_the_api_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("account.yaml");
    let mut state = qiskit();
    state.api_keys.push(emulator::ApiKey {
        apikey: "robot-key".into(),
        iam_id: "iam-ServiceId-00000000-0000-4000-8000-000000000001".into(),
        kind: emulator::KeyType::Service,
    });
    std::fs::write(&path, serde_json::to_string(&state).expect("json")).expect("write");
    let running = Running::start(&[
        "--listen",
        "127.0.0.1:0",
        "--state",
        path.to_str().expect("utf-8"),
    ]);
    let base = running.base.clone();
    let stderr = running.stop();
    let want = format!(
        "orgsync emulator: IBM Cloud account {ACCOUNT} (from {}) at {base}\n  serves the token service, User Management v2, Access Groups v2, Policy Management v1/v2, Resource Controller v2 and Resource Manager v2; admin endpoints under {base}/__admin; Ctrl-C stops it\n  API keys (pass one as IBMCLOUD_API_KEY, with --endpoint {base}):\n    admin-key  user        IBMid-ADMIN00001 (admin@example.com)\n    robot-key  service ID  iam-ServiceId-00000000-0000-4000-8000-000000000001\n",
        path.display()
    );
    assert_eq!(stderr, want);
    assert_eq!(
        stderr.matches(&base).count(),
        3,
        "the URL is said in one block: {stderr}"
    );
}
