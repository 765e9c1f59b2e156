//! Reading `--api-key-file` without being led astray: only a regular file is read (a FIFO
//! would block forever, a device or a directory is the wrong path), it is opened
//! non-blocking so that even a FIFO swapped in after the check cannot hang the run, its
//! size is bounded, and a file others may read draws a warning, as ssh gives for a
//! private key (docs/security.md).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use secrecy::SecretString;

use super::error::IamError;

/// An API key is ~44 characters; a file much larger than this is the wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The key in `path`, trimmed, and a warning when the file's permissions let others read
/// it.
pub(crate) fn read(path: &Path) -> Result<(SecretString, Option<String>), IamError> {
    let cannot = |e: std::io::Error| {
        IamError::Setup(format!(
            "cannot read the API key file {}: {}; check the path given to --api-key-file",
            path.display(),
            e.kind()
        ))
    };
    // The path's own kind first: opening a FIFO for reading would wait for a writer.
    let kind = std::fs::metadata(path).map_err(cannot)?.file_type();
    refuse_unless_regular(path, kind)?;
    let file = open_nonblocking(path).map_err(cannot)?;
    // And again on what was opened, in case the path changed in between.
    let meta = file.metadata().map_err(cannot)?;
    refuse_unless_regular(path, meta.file_type())?;
    let warning = key_file_warning(path, mode_of(&meta));
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(IamError::Setup(format!(
            "the API key file {} is larger than 64 KiB, so it is not an API key; check the path given to --api-key-file",
            path.display()
        )));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(IamError::Setup(format!(
            "the API key file {} is not UTF-8 text; put the API key in it (one line)",
            path.display()
        )));
    };
    let key = text.trim();
    if key.is_empty() {
        return Err(IamError::Setup(format!(
            "the API key file {} is empty; put the API key in it (one line)",
            path.display()
        )));
    }
    Ok((SecretString::from(key.to_string()), warning))
}

fn refuse_unless_regular(path: &Path, kind: std::fs::FileType) -> Result<(), IamError> {
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if is_fifo(&kind) {
        "a FIFO (named pipe)"
    } else {
        "not a regular file (a device or socket)"
    };
    Err(IamError::Setup(format!(
        "the API key file {} is {what}; --api-key-file takes a regular file holding the key",
        path.display()
    )))
}

/// The warning for a key file whose permission bits `mode` let the group or others in
/// (`mode & 0o077 != 0`); `None` when only its owner may read it, or on systems without
/// Unix permissions.
pub fn key_file_warning(path: &Path, mode: Option<u32>) -> Option<String> {
    let mode = mode? & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "the API key file {} is readable by others (permissions {mode:04o}); anyone who can read it can act as you on the account. Restrict it: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode())
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> Option<u32> {
    None
}

#[cfg(unix)]
fn is_fifo(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::FileType) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_file_others_can_read_draws_a_warning_and_a_private_one_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "k-123\n").unwrap();
        for (mode, warned) in [
            (0o600, false),
            (0o400, false),
            (0o644, true),
            (0o640, true),
            (0o606, true),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let (_, warning) = read(&path).unwrap();
            assert_eq!(warning.is_some(), warned, "{mode:o}");
            if let Some(w) = warning {
                assert!(
                    w.contains(&format!("{mode:04o}")) && w.contains("chmod 600"),
                    "{w}"
                );
            }
        }
    }

    #[test]
    fn a_fifo_a_directory_and_a_device_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let started = std::time::Instant::now();
        for (path, what) in [
            (fifo.as_path(), "FIFO"),
            (dir.path(), "directory"),
            (Path::new("/dev/null"), "device"),
        ] {
            let err = read(path).unwrap_err().to_string();
            assert!(err.contains(what) && err.contains("regular file"), "{err}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
