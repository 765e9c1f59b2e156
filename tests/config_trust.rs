//! The config file and what it names, treated as untrusted (docs/security.md, docs/config.md
//! Limits): each test is one class of defect that would fail without its fix. Through the
//! real binary, each run bounded in time, so that a read that blocks fails the test
//! instead of hanging it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use orgsync::config::{self, ConfigError};

const HEAD: &str = "version: 1\naccount_id: 0123456789abcdef0123456789abcdef\n";

/// `orgsync validate -c CONFIG` in `dir`, killed after 20 s (then `None`).
fn validate_in(dir: &Path, config: &str) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(["validate", "-c", config])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ORGSYNC_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run orgsync");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Validates, expecting exit 78 within the deadline; returns stderr.
fn refused(dir: &Path, config: &str) -> String {
    let out = validate_in(dir, config).unwrap_or_else(|| panic!("`validate -c {config}` hung"));
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    stderr
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn main_including(dir: &Path, patterns: &str) {
    write(
        &dir.join("org.yaml"),
        format!("{HEAD}include: [{patterns}]\ngroups: {{}}\nusers: {{}}\n"),
    );
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn a_fifo_as_the_config_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    mkfifo(&dir.path().join("org.yaml"));
    let stderr = refused(dir.path(), "org.yaml");
    assert!(
        stderr.contains("`org.yaml` is a named pipe (FIFO), not a regular file"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_by_include_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    mkfifo(&dir.path().join("team.yaml"));
    main_including(dir.path(), "team.yaml");
    let stderr = refused(dir.path(), "org.yaml");
    assert!(stderr.contains("is a named pipe (FIFO)"), "{stderr}");
    assert!(stderr.contains("included here"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_device_as_the_config_is_refused_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // /dev/zero would be read until the size limit; /dev/null would read as empty.
    for device in ["/dev/null", "/dev/zero"] {
        let stderr = refused(dir.path(), device);
        assert!(
            stderr.contains(&format!(
                "`{device}` is a character device, not a regular file"
            )),
            "{stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_config_directory_is_refused_and_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cfg");
    write(
        &dir.path().join("outside/secret.yaml"),
        "groups:\n  SECRET-GROUP-NAME: {}\n",
    );
    write(&cfg.join("teams/a.yaml"), "groups:\n  a: {}\n");
    std::os::unix::fs::symlink("../../outside/secret.yaml", cfg.join("teams/b.yaml"))
        .expect("symlink");
    // A symlinked directory leads out as well.
    std::os::unix::fs::symlink("../outside", cfg.join("linked")).expect("symlink");
    main_including(&cfg, "teams/*.yaml, linked/*.yaml, linked/secret.yaml");
    let stderr = refused(&cfg, "org.yaml");
    assert!(!stderr.contains("SECRET-GROUP-NAME"), "{stderr}");
    assert!(
        stderr.contains("teams/b.yaml` resolves to a file outside it"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .matches("reaches outside the config file's directory")
            .count(),
        3,
        "{stderr}"
    );
}

#[test]
fn include_paths_that_leave_the_directory_are_refused_before_anything_is_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cfg");
    write(&dir.path().join("sibling.yaml"), "groups:\n  SIBLING: {}\n");
    let outside = dir.path().join("sibling.yaml");
    main_including(
        &cfg,
        &format!(
            "../sibling.yaml, teams/../../*.yaml, '{}'",
            outside.display()
        ),
    );
    let stderr = refused(&cfg, "org.yaml");
    assert!(!stderr.contains("SIBLING"), "{stderr}");
    assert_eq!(
        stderr
            .matches("reaches outside the config file's directory")
            .count(),
        3,
        "{stderr}"
    );
}

#[test]
fn an_absolute_include_inside_the_directory_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("teams/a.yaml"), "groups:\n  a: {}\n");
    let inside = dir.path().join("teams/a.yaml");
    main_including(dir.path(), &format!("'{}'", inside.display()));
    let loaded = config::load(&dir.path().join("org.yaml")).expect("valid");
    assert_eq!(loaded.desired.groups.len(), 1);
}

/// A key file, an environment dump, a binary, a file that is not UTF-8: whatever the
/// problem, the text is not printed.
#[test]
fn a_file_that_is_not_a_config_is_never_echoed() {
    let secret = "s3cr3t-API-key-0123456789abcdef";
    let dir = tempfile::tempdir().expect("tempdir");
    let files: [(&str, Vec<u8>); 5] = [
        ("key.txt", format!("{secret}\n").into_bytes()),
        (
            "environ",
            format!("HOME=/root\0IBMCLOUD_API_KEY={secret}\0").into_bytes(),
        ),
        (
            "env.sh",
            format!("export IBMCLOUD_API_KEY={secret}\n").into_bytes(),
        ),
        (
            "latin1.yaml",
            [format!("{secret}: caf").as_bytes(), b"\xe9\n"].concat(),
        ),
        (
            "shadow",
            format!("root:{secret}:19000:0:99999:7:::\n").into_bytes(),
        ),
    ];
    for (name, bytes) in &files {
        write(&dir.path().join(name), bytes);
        let stderr = refused(dir.path(), name);
        assert!(!stderr.contains(secret), "{name} echoed:\n{stderr}");
        assert!(stderr.contains(name), "{name} not named:\n{stderr}");
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    main_including(dir.path(), &names.join(", "));
    let stderr = refused(dir.path(), "org.yaml");
    assert!(!stderr.contains(secret), "{stderr}");
    for name in names {
        assert!(
            stderr.contains(&format!("{name}`")),
            "{name} not named:\n{stderr}"
        );
    }
}

#[test]
fn included_files_are_bounded_in_total_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Six files of 4 MB each: every one under the 5 MB limit, 24 MB together.
    let mut filler = String::from("groups:\n");
    let mut i = 0;
    while filler.len() < 4 * 1024 * 1024 {
        filler.push_str(&format!(
            "  # padding line {i:08} of a large but plausible team file\n"
        ));
        i += 1;
    }
    for n in 0..6 {
        write(&dir.path().join(format!("teams/t{n}.yaml")), &filler);
    }
    main_including(dir.path(), "teams/*.yaml");
    let stderr = refused(dir.path(), "org.yaml");
    assert_eq!(
        stderr
            .matches("would take the config and its included files past 20 MB")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn included_files_are_bounded_in_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in 0..600 {
        write(&dir.path().join(format!("a/t{n:04}.yaml")), "groups: {}\n");
        write(&dir.path().join(format!("b/t{n:04}.yaml")), "groups: {}\n");
    }
    main_including(dir.path(), "a/*.yaml, b/*.yaml");
    let stderr = refused(dir.path(), "org.yaml");
    assert!(
        stderr.contains("`include:` names more than 1000 files"),
        "{stderr}"
    );
}

fn problems(text: &str) -> Vec<String> {
    match config::parse_str("org.yaml", text) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(|d| d.message().to_string()).collect(),
    }
}

#[test]
fn look_alike_emails_are_errors_not_second_users() {
    for email in [
        "alice\u{200B}@example.com",
        "\u{0430}lice@example.com",
        "alice@example.c\u{043E}m",
        "alice@example.com\u{00A0}",
        "\u{FEFF}alice@example.com",
    ] {
        let text = format!(
            "{HEAD}groups: {{}}\nusers:\n  alice@example.com: {{groups: []}}\n  \"{email}\": {{groups: []}}\n"
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{email:?}: {found:?}");
        assert!(found[0].contains("is not an email address"), "{found:?}");
    }
    let long = format!("{}@example.com", "a".repeat(65));
    let found = problems(&format!(
        "{HEAD}groups: {{}}\nusers:\n  {long}: {{groups: []}}\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn group_names_that_differ_only_in_spaces_are_errors() {
    for name in [
        " ml",
        "ml ",
        "m  l",
        "m\u{00A0}l",
        "m\u{2009}l",
        "m\u{200B}l",
        "Public\u{00A0}Access",
        " Public Access",
        "Public  Access",
    ] {
        let text =
            format!("{HEAD}groups:\n  \"{name}\": {{}}\n  m l: {{}}\n  ml: {{}}\nusers: {{}}\n");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{name:?}: {found:?}");
        assert!(found[0].starts_with("group name `"), "{found:?}");
    }
}

#[test]
fn yaml_tags_are_errors_whatever_they_decode_to() {
    for value in [
        "!!binary bWw=",
        "!!str ml",
        "!!timestamp 2027-06-30",
        "!secret x",
        "! x",
        "!!int 5",
    ] {
        let text = format!("{HEAD}groups:\n  ml: {{description: {value}}}\nusers: {{}}\n");
        let found = problems(&text);
        assert!(
            found.iter().any(|m| m.contains("YAML tag")),
            "{value}: {found:?}"
        );
    }
}

#[test]
fn numbers_that_are_not_plain_say_what_is_wrong() {
    for (value, says) in [
        ("010", "has a leading zero"),
        ("1.0", "is a decimal number"),
        (
            "1234567890123456789012345678901234567890",
            "is a 40-digit number",
        ),
        ("0x0A", "hexadecimal"),
        ("1_0", "underscore"),
    ] {
        let text = format!("{HEAD}policy: {{max_removals: {value}}}\ngroups: {{}}\nusers: {{}}\n");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert!(found[0].contains(says), "{value}: {found:?}");
    }
    let found = problems(
        "version: 99999999999999999999\naccount_id: 0123456789abcdef0123456789abcdef\ngroups: {}\nusers: {}\n",
    );
    assert_eq!(
        found,
        [
            "`version` must be a whole number: `99999999999999999999` is a 20-digit number, far larger than any setting allows"
        ]
    );
}

#[test]
fn a_config_error_renders_for_github_and_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("org.yaml");
    write(
        &path,
        format!(
            "{HEAD}groups: {{}}\nusers:\n  a@x.com: {{groups: [ml]}}\n  A@x.com: {{groups: []}}\n"
        ),
    );
    let err = config::load(&path).expect_err("invalid");
    let name = path.display().to_string();
    let github = err.render_github();
    let lines: Vec<&str> = github.lines().collect();
    assert_eq!(lines.len(), 2, "{github}");
    assert!(
        lines[0].starts_with(&format!(
            "::error file={},line=5,col=22,title=unknown group `ml` for `a@x.com`::",
            name.replace(':', "%3A").replace(',', "%2C")
        )),
        "{github}"
    );
    assert!(
        lines[1].contains(",line=6,col=3,title=user `a@x.com` is listed twice::"),
        "{github}"
    );
    assert!(lines[1].contains("%0Afirst listed here: "), "{github}");
    let json: serde_json::Value = serde_json::from_str(&err.render_json()).expect("JSON");
    assert_eq!(json["valid"], false);
    assert_eq!(json["count"], 2);
    assert_eq!(json["problems"][1]["line"], 6);
    assert_eq!(json["problems"][1]["also"][0]["line"], 5);
    assert_eq!(json["problems"][1]["also"][0]["label"], "first listed here");
    // A main file that cannot be read is one problem without a place.
    let missing = ConfigError::Io {
        path: dir.path().join("nope.yaml"),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    };
    let json: serde_json::Value = serde_json::from_str(&missing.render_json()).expect("JSON");
    assert_eq!(json["problems"][0]["line"], serde_json::Value::Null);
    assert!(missing.render_github().starts_with("::error file="));
    assert_eq!(
        config::render_valid(config::ReportFormat::Json),
        "{\n  \"valid\": true,\n  \"count\": 0,\n  \"problems\": []\n}\n"
    );
    assert_eq!(config::render_valid(config::ReportFormat::Github), "");
}
