//! The trust boundary, for what a scenario folder says: the harness runs as root beside the
//! Docker socket, so a name that becomes a file name is a plain word, a file the scenario names
//! stays inside its folder, and files are read without following links. Checked at load (with
//! the file's line and column, in `loader/` and the words' checks) and again where a name
//! becomes a path ([`evidence_file_name`]). The unix sockets of the folder a container writes
//! (`{{ sock.dir }}`) are checked where they are connected, in `load/unix.rs`.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The longest name a scenario may give a role, a variant, a record or a file.
pub(crate) const NAME_MAX: usize = 64;

/// A plain word: ASCII letters, digits, `-`, `_` and `.`, not starting with `.`, no `..`, at
/// most [`NAME_MAX`] characters. Role, instance, variant, record and generated file names
/// become names of evidence files and folders; a socket is named this way in its folder.
pub(crate) fn plain_word(name: &str) -> Result<(), String> {
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
    let why = if name.is_empty() {
        "empty".to_string()
    } else if let Some(c) = bad {
        format!("{c:?} is not allowed")
    } else if name.starts_with('.') {
        "it starts with `.`".to_string()
    } else if name.contains("..") {
        "it holds `..`".to_string()
    } else if name.len() > NAME_MAX {
        format!("{} characters", name.len())
    } else {
        return Ok(());
    };
    Err(format!(
        "{name:?} is not a plain name ({why}): ASCII letters, digits, `-`, `_`, `.` (not \
         first, no `..`), at most {NAME_MAX} characters"
    ))
}

/// A file the scenario names (a config template), relative to its folder: not absolute, no
/// `..`, not a link, and inside the folder once every link of its parents is resolved.
/// Returns the path to read (with [`read_no_follow`]).
pub(crate) fn scenario_file(dir: &Path, relative: &str) -> Result<PathBuf, String> {
    let rel = Path::new(relative);
    if relative.is_empty() {
        return Err("empty: name a file of the scenario folder".into());
    }
    if rel.is_absolute() {
        return Err(format!(
            "{relative:?} is an absolute path: a scenario names its own files, relative to its \
             folder"
        ));
    }
    if rel.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "{relative:?} goes up with `..`: a scenario names files inside its folder"
        ));
    }
    let path = dir.join(rel);
    // Links in the parents: where the file really is must still be the folder.
    if let (Ok(root), Ok(real)) = (dir.canonicalize(), path.canonicalize()) {
        if !real.starts_with(&root) {
            return Err(format!(
                "{relative:?} leads out of the scenario folder through a link (to {})",
                real.display()
            ));
        }
    }
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{relative:?} is a symbolic link: scenario files are read without following links; \
             put the file itself in the folder"
        ));
    }
    Ok(path)
}

/// Reads a file of a scenario folder without following a link at its last component
/// (`O_NOFOLLOW`); anything but a regular file (a FIFO, a device) is refused unread.
pub(crate) fn read_no_follow(path: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a symbolic link, which is not followed",
            ),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// The last guard before an evidence file is written: its name is one file name of the case's
/// folder (no `/`, no `..`), whatever built it. Names from the scenario were checked at load;
/// a name that fails here is a harness bug, and the case ends as `error` instead of writing.
pub(crate) fn evidence_file_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name == "."
        || name.contains('/')
        || name.contains("..")
        || name.contains('\0')
    {
        return Err(format!(
            "refused to write the evidence file {name:?}: not a plain file name of the case's \
             folder"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words() {
        for ok in [
            "web1",
            "hapA",
            "5a-idle-clients",
            "at_2s",
            "answer.map",
            "master.sock",
        ] {
            assert_eq!(plain_word(ok), Ok(()), "{ok}");
        }
        let long = "a".repeat(NAME_MAX + 1);
        for bad in [
            "",
            "/tmp/x",
            "../x",
            "..",
            ".hidden",
            "a/b",
            "a..b",
            "a b",
            "é",
            "a\0b",
            long.as_str(),
        ] {
            assert!(plain_word(bad).is_err(), "{bad:?}");
        }
        assert!(plain_word(&"a".repeat(NAME_MAX)).is_ok());
    }

    #[test]
    fn evidence_names() {
        for ok in [
            "haproxy.cfg",
            "api-stat.txt",
            "core-hapA",
            "web1-connections.json",
        ] {
            assert_eq!(evidence_file_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "/tmp/x.log",
            "../x.log",
            "a/b",
            "x..y",
            "a\0",
        ] {
            assert!(evidence_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scenario_files_stay_in_their_folder() {
        let root = std::env::temp_dir().join(format!("hr-contain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("scenario");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("haproxy.cfg"), "x").unwrap();
        std::fs::write(dir.join("sub/a.cfg"), "a").unwrap();
        std::fs::write(root.join("outside.cfg"), "secret").unwrap();
        std::os::unix::fs::symlink(root.join("outside.cfg"), dir.join("out.cfg")).unwrap();
        std::os::unix::fs::symlink(dir.join("haproxy.cfg"), dir.join("in.cfg")).unwrap();
        std::os::unix::fs::symlink(&root, dir.join("up")).unwrap();

        assert_eq!(
            scenario_file(&dir, "haproxy.cfg").unwrap(),
            dir.join("haproxy.cfg")
        );
        assert!(scenario_file(&dir, "./sub/a.cfg").is_ok());
        // Missing: left for the read to report.
        assert!(scenario_file(&dir, "missing.cfg").is_ok());
        for (bad, words) in [
            ("", "empty"),
            ("/etc/passwd", "absolute"),
            ("../outside.cfg", "`..`"),
            ("sub/../../outside.cfg", "`..`"),
            ("out.cfg", "out of the scenario folder"),
            ("up/outside.cfg", "out of the scenario folder"),
            ("in.cfg", "symbolic link"),
        ] {
            let e = scenario_file(&dir, bad).unwrap_err();
            assert!(e.contains(words), "{bad:?}: {e}");
        }

        assert_eq!(read_no_follow(&dir.join("haproxy.cfg")).unwrap(), "x");
        let e = read_no_follow(&dir.join("out.cfg")).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = read_no_follow(&dir.join("sub")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
