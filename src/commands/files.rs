//! Writing the files orgsync is told to write (`plan --out`, `export --out`) without ever
//! clobbering anything else (docs/security.md).
//!
//! A file is written to a temporary file beside the target and then moved into place, so
//! a reader never sees half a plan or export. The temporary name is unpredictable and
//! created exclusively (`O_CREAT | O_EXCL`, mode 0600): a file or symlink planted at the
//! name makes the creation fail instead of being followed, and another name is tried.
//! The target must be a regular file or absent: a symlink, FIFO, device, socket or
//! directory at the path is refused and named, never replaced or written through. When
//! the target may not be replaced (`export --out` without `--force`), the move is a hard
//! link, which fails if a file appeared at the path meanwhile.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What sits at a path that is not a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Symlink,
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
    Other,
}

impl FileKind {
    /// The kind of a non-regular file, from its metadata (`None` for a regular file).
    /// The metadata must come from `symlink_metadata` to see a symlink as one.
    pub fn of(meta: &Metadata) -> Option<FileKind> {
        let t = meta.file_type();
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some(FileKind::Directory);
        }
        if t.is_symlink() {
            return Some(FileKind::Symlink);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Some(FileKind::Fifo);
            }
            if t.is_socket() {
                return Some(FileKind::Socket);
            }
            if t.is_block_device() {
                return Some(FileKind::BlockDevice);
            }
            if t.is_char_device() {
                return Some(FileKind::CharDevice);
            }
        }
        Some(FileKind::Other)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Symlink => "a symbolic link",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::BlockDevice => "a block device",
            FileKind::CharDevice => "a character device",
            FileKind::Other => "not a regular file",
        })
    }
}

/// Whether an existing regular file at the target may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (`plan --out`, `export --out --force`).
    Replace,
    /// Refuse (`export --out` without `--force`).
    Keep,
}

/// A file orgsync was told to write, and whether it may replace one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    pub path: PathBuf,
    pub existing: Existing,
    /// The flag that named it, for messages.
    pub flag: &'static str,
}

/// Why an [`OutFile`] was not written.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub flag: &'static str,
    pub problem: WriteProblem,
}

#[derive(Debug)]
pub enum WriteProblem {
    /// Something that is not a regular file sits at the path.
    NotRegular(FileKind),
    /// A file exists and may not be replaced.
    Exists,
    /// The path ends in no file name (`/`, `..`).
    NoFileName,
    /// The operating system refused.
    Io(std::io::Error),
}

impl WriteError {
    /// The target was refused by orgsync (a usage error), not by the operating system.
    pub fn is_refusal(&self) -> bool {
        !matches!(self.problem, WriteProblem::Io(_))
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        let flag = self.flag;
        match &self.problem {
            // Removing is advice for a symlink only: never for /dev/null or a directory.
            WriteProblem::NotRegular(FileKind::Symlink) => write!(
                f,
                "{flag} {path} is {}; orgsync writes only regular files and never replaces or writes through anything else. Remove it, or give another path",
                FileKind::Symlink
            ),
            WriteProblem::NotRegular(kind) => write!(
                f,
                "{flag} {path} is {kind}; orgsync writes only regular files and never replaces or writes through anything else. Give the path of a regular file"
            ),
            WriteProblem::Exists => write!(
                f,
                "{flag} {path} exists; nothing was written. Pass --force to replace it, or give another path"
            ),
            WriteProblem::NoFileName => {
                write!(f, "{flag} {path} names no file; give the path of a file")
            }
            WriteProblem::Io(e) => write!(
                f,
                "cannot write {path}: {e}; check that the directory exists and is writable"
            ),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            WriteProblem::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl OutFile {
    fn fail(&self, problem: WriteProblem) -> WriteError {
        WriteError {
            path: self.path.clone(),
            flag: self.flag,
            problem,
        }
    }

    /// Checks the target as it is now: absent, or a regular file that may be replaced.
    /// Returns the existing file's permissions, which the new file keeps. Done once
    /// before any network work (so a bad `--out` costs nothing) and again when writing.
    pub fn check(&self) -> Result<Option<Permissions>, WriteError> {
        // `dir/` has a file name to Rust (`dir`) but names a directory to the system.
        let separators: &[char] = if cfg!(windows) { &['/', '\\'] } else { &['/'] };
        let trailing_slash = (self.path.as_os_str().to_string_lossy()).ends_with(separators);
        if self.path.file_name().is_none() || trailing_slash {
            return Err(self.fail(WriteProblem::NoFileName));
        }
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) => match FileKind::of(&meta) {
                Some(kind) => Err(self.fail(WriteProblem::NotRegular(kind))),
                None if self.existing == Existing::Keep => Err(self.fail(WriteProblem::Exists)),
                None => Ok(Some(meta.permissions())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(WriteProblem::Io(e))),
        }
    }

    /// Writes `text` to the target through an exclusive temporary file beside it.
    pub fn write(&self, text: &str) -> Result<(), WriteError> {
        let permissions = self.check()?;
        let (tmp, mut file) = self.create_temporary()?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| match &permissions {
                Some(p) => file.set_permissions(p.clone()),
                None => Ok(()),
            })
            .and_then(|()| file.sync_all());
        drop(file);
        let moved = written
            .map_err(|e| self.fail(WriteProblem::Io(e)))
            .and_then(|()| self.move_into_place(&tmp));
        // After a rename the temporary name is gone; after a link (or a failure) it is
        // removed here. Either way no temporary file is left behind.
        let _ = std::fs::remove_file(&tmp);
        moved
    }

    fn create_temporary(&self) -> Result<(PathBuf, File), WriteError> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut last = None;
        // A collision is a planted file or a concurrent writer: a few fresh names suffice.
        for _ in 0..16 {
            let tmp = self
                .path
                .with_file_name(format!(".{name}.{:016x}.orgsync-tmp", fastrand::u64(..)));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&tmp) {
                Ok(file) => return Ok((tmp, file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(self.fail(WriteProblem::Io(e))),
            }
        }
        Err(self.fail(WriteProblem::Io(last.unwrap_or_else(|| {
            std::io::Error::other("no temporary file could be created")
        }))))
    }

    fn move_into_place(&self, tmp: &Path) -> Result<(), WriteError> {
        // Re-checked at the last moment: something may have appeared at the path since.
        self.check()?;
        match self.existing {
            // rename replaces the directory entry itself: a symlink put there since the
            // check would be replaced, not followed.
            Existing::Replace => {
                std::fs::rename(tmp, &self.path).map_err(|e| self.fail(WriteProblem::Io(e)))
            }
            Existing::Keep => match std::fs::hard_link(tmp, &self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(self.fail(WriteProblem::Exists))
                }
                Err(e) => Err(self.fail(WriteProblem::Io(e))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(dir: &Path, name: &str, existing: Existing) -> OutFile {
        OutFile {
            path: dir.join(name),
            existing,
            flag: "--out",
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains("orgsync-tmp"))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_new_file_is_written_with_mode_0600_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let target = out(dir.path(), "plan.json", Existing::Keep);
        target.write("{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target.path).unwrap(), "{}\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target.path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = out(dir.path(), "plan.json", Existing::Replace);
        std::fs::write(&target.path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target.path, Permissions::from_mode(0o640)).unwrap();
        }
        target.write("new").unwrap();
        assert_eq!(std::fs::read_to_string(&target.path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target.path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o640);
        }
    }

    #[test]
    fn an_existing_file_is_kept_unless_it_may_be_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = out(dir.path(), "org.yaml", Existing::Keep);
        std::fs::write(&target.path, "mine").unwrap();
        let err = target.write("theirs").unwrap_err();
        assert!(matches!(err.problem, WriteProblem::Exists), "{err}");
        assert_eq!(std::fs::read_to_string(&target.path).unwrap(), "mine");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_target_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let target = out(dir.path(), "plan.json", Existing::Replace);
        std::os::unix::fs::symlink(&victim, &target.path).unwrap();
        let err = target.write("plan").unwrap_err();
        assert!(
            matches!(err.problem, WriteProblem::NotRegular(FileKind::Symlink)),
            "{err}"
        );
        assert!(err.to_string().contains("a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            std::fs::symlink_metadata(&target.path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_directory_at_the_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = out(dir.path(), "sub", Existing::Replace);
        std::fs::create_dir(&target.path).unwrap();
        let err = target.write("plan").unwrap_err();
        assert!(matches!(
            err.problem,
            WriteProblem::NotRegular(FileKind::Directory)
        ));
        assert!(err.is_refusal());
    }

    #[test]
    fn a_missing_directory_is_an_io_error_not_a_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let target = out(&dir.path().join("nowhere"), "plan.json", Existing::Replace);
        let err = target.write("plan").unwrap_err();
        assert!(matches!(err.problem, WriteProblem::Io(_)), "{err}");
        assert!(!err.is_refusal());
    }
}
