//! One apply at a time per account on this machine (docs/security.md).
//!
//! Two applies at once each plan against the same account and both send what they
//! planned: invitations go out twice. So `apply` holds an exclusive lock from before it
//! reads the account until it has reported. The lock is an advisory `flock` on a file in
//! the user's runtime directory, one per account, holding who took it (pid, host, start
//! time, command line) so that a refused apply can say who holds it.
//!
//! The operating system releases a `flock` when its process ends, however it ends, so a
//! lock is never stale in itself; what a crashed apply leaves is the file with its
//! holder written in it. A clean release unlinks the file (while still holding the lock),
//! so a file found non-empty when the lock is taken was left by an apply that did not
//! finish, and orgsync says so. Whoever opened the file just before it was unlinked
//! notices, once the lock is theirs, that the path names another file or none, and tries
//! again.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds (or held) an apply lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339 UTC.
    pub started: String,
    pub command: String,
}

impl Holder {
    /// This process, now.
    pub fn this_process() -> Holder {
        let command: Vec<String> = std::env::args().collect();
        Holder {
            pid: std::process::id(),
            host: host_name(),
            started: crate::executor::rfc3339(std::time::SystemTime::now()),
            command: command.join(" "),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {}, started {} (`{}`)",
            self.pid, self.host, self.started, self.command
        )
    }
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another apply holds it. `holder` is None while it has not written itself down yet.
    Held {
        scope: String,
        path: PathBuf,
        holder: Option<Box<Holder>>,
    },
    /// The lock file cannot be created or locked.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held {
                scope,
                path,
                holder,
            } => {
                write!(f, "another orgsync apply is running on account {scope}")?;
                match holder {
                    Some(h) => write!(f, ": {h}")?,
                    None => write!(f, " (it has not written who it is yet)")?,
                }
                write!(
                    f,
                    "; nothing was changed. Wait for it to finish, then plan again (the lock {} is released when that process ends)",
                    path.display()
                )
            }
            LockError::Io { path, source } => write!(
                f,
                "cannot take the apply lock {}: {source}; nothing was changed. Make the directory writable, or set XDG_RUNTIME_DIR to a directory that is",
                path.display()
            ),
        }
    }
}

impl std::error::Error for LockError {}

/// A held apply lock; dropping it releases it.
#[derive(Debug)]
pub struct ApplyLock {
    file: File,
    path: PathBuf,
    /// The holder of a lock file left by an apply that did not finish.
    pub stale: Option<Holder>,
}

impl ApplyLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        // Unlinked while still locked; the lock goes with the descriptor, just after.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// The directory of apply locks: `$XDG_RUNTIME_DIR/orgsync` (per user, cleared at
/// logout), else `$XDG_CACHE_HOME/orgsync` or `~/.cache/orgsync`, else the temporary
/// directory.
pub fn lock_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        return PathBuf::from(dir).join("orgsync");
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("orgsync");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".cache").join("orgsync");
    }
    // Shared by every user: one directory each, checked to be ours (`check_private`).
    #[cfg(unix)]
    let user = uid().to_string();
    #[cfg(not(unix))]
    let user = String::from("user");
    std::env::temp_dir().join(format!("orgsync-locks-{user}"))
}

/// Takes the apply lock of `scope` (an account id, or `ACCOUNT@HOST:PORT` for an emulator
/// on this machine) in `dir`, without waiting.
pub fn acquire(dir: &Path, scope: &str) -> Result<ApplyLock, LockError> {
    let path = dir.join(format!("apply-{}.lock", file_name_safe(scope)));
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    create_private_dir(dir)
        .and_then(|()| check_private(dir))
        .map_err(io)?;
    // Each retry means a holder released (unlinked) the file between our open and lock.
    for _ in 0..8 {
        let mut file = open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    scope: scope.to_string(),
                    path: path.clone(),
                    holder: read_holder(&mut file).map(Box::new),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        if !names_this_file(&path, &file) {
            continue;
        }
        let stale = read_holder(&mut file);
        write_holder(&mut file, &Holder::this_process()).map_err(io)?;
        return Ok(ApplyLock { file, path, stale });
    }
    Err(io(std::io::Error::other(
        "the lock file kept being replaced",
    )))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The lock directory must be ours and writable by no one else: in a directory others
/// can write to, a symlink planted at the lock's name would have orgsync truncate the
/// file it points to.
fn check_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(dir)?;
        if !meta.is_dir() || meta.uid() != uid() || meta.mode() & 0o022 != 0 {
            return Err(std::io::Error::other(format!(
                "{} is not a directory of this user's that only they can write to",
                dir.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// This process's user.
#[cfg(unix)]
fn uid() -> u32 {
    // SAFETY: getuid takes nothing, touches no memory of ours and cannot fail.
    unsafe { libc::getuid() }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never through a symlink at the lock's name.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Whether `path` still names the open `file` (it was not unlinked by a releasing holder).
fn names_this_file(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), file.metadata()) {
            (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        true
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    // A holder line is short; a larger file is not one of ours.
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(file: &mut File, holder: &Holder) -> std::io::Result<()> {
    let line = serde_json::to_string(holder).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(line.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// The scope as a file name: letters, digits, `-` and `.` kept, anything else `_`. A
/// long scope (a sandbox state file's path) keeps its start and gains a digest of the
/// whole, so that the name stays within file-name limits and distinct.
fn file_name_safe(scope: &str) -> String {
    const KEPT: usize = 96;
    let safe: String = scope
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.len() <= KEPT {
        return safe;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(scope.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &safe[..KEPT])
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_one_scope_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "acct").unwrap();
        assert_eq!(first.stale, None);
        match acquire(dir.path(), "acct") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.map(|h| h.pid), Some(std::process::id()));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        // Another scope is another lock.
        let other = acquire(dir.path(), "acct@127.0.0.1:8080").unwrap();
        drop(other);
        drop(first);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "released locks leave no file"
        );
        let again = acquire(dir.path(), "acct").unwrap();
        assert_eq!(again.stale, None, "a clean release leaves nothing stale");
    }

    #[test]
    fn a_file_left_by_a_dead_apply_is_taken_over_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let left = Holder {
            pid: 999_999,
            host: "ci-runner".into(),
            started: "2026-11-27T09:41:05.123Z".into(),
            command: "orgsync apply --yes".into(),
        };
        std::fs::write(
            dir.path().join("apply-acct.lock"),
            serde_json::to_string(&left).unwrap(),
        )
        .unwrap();
        let lock = acquire(dir.path(), "acct").unwrap();
        assert_eq!(lock.stale, Some(left));
        let now: Holder =
            serde_json::from_str(&std::fs::read_to_string(lock.path()).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_directory_others_can_write_to_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = acquire(dir.path(), "acct").unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err}");
        assert!(err.to_string().contains("only they can write to"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_lock_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("apply-acct.lock")).unwrap();
        assert!(matches!(
            acquire(dir.path(), "acct"),
            Err(LockError::Io { .. })
        ));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn long_scopes_become_short_distinct_file_names() {
        let long = |tail: &str| format!("acct@/{}/{tail}", "d".repeat(300));
        let (a, b) = (
            file_name_safe(&long("a.yaml")),
            file_name_safe(&long("b.yaml")),
        );
        assert!(a.len() < 120 && b.len() < 120, "{a}");
        assert_ne!(a, b);
        assert!(a.starts_with("acct_"), "{a}");
    }

    #[test]
    fn scopes_become_safe_file_names() {
        assert_eq!(file_name_safe("abc@[::1]:80"), "abc____1__80");
        assert_eq!(file_name_safe("../x"), ".._x");
    }
}
