//! Source builds are kept as binaries, not images: `docker commit` of a layer that holds one
//! file cost 2 s of a 6 s neighbouring build on fuse-overlayfs, more than the compiler did.
//! An entry is a folder `<cache>/<tag>/` with `haproxy`, `haproxy-vv.txt` and `entry.json`
//! (the cache key and the labels an image used to carry); a case puts the binary into its
//! container over the runtime image's `/usr/sbin/haproxy` before the container starts.
//!
//! The folder is plain files, so it moves between machines (CI keeps it with its cache
//! action): `HAPREPRO_BINARY_CACHE` names it, `$XDG_CACHE_HOME/haprepro/binaries` otherwise.
//! An entry is written into a temporary folder and renamed into place, so a reader sees a
//! whole entry or none; an entry whose key differs (another build script or builder) is
//! replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::ImageError;

/// Names the binary cache's folder.
pub const CACHE_ENV: &str = "HAPREPRO_BINARY_CACHE";

/// The binary cache's folder.
pub fn dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => super::super::cache_dir().join("binaries"),
    }
}

/// What `entry.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    /// As `haproxy -v` printed it in the runtime image.
    pub version: String,
    /// The labels a source image carried (`haprepro.src.commit`, ...).
    pub labels: HashMap<String, String>,
}

/// An entry's files.
const BINARY: &str = "haproxy";
const VV: &str = "haproxy-vv.txt";
const ENTRY: &str = "entry.json";

/// A cached binary: its folder and what it is.
#[derive(Debug, Clone)]
pub struct Cached {
    pub dir: PathBuf,
    pub entry: Entry,
}

impl Cached {
    pub fn binary(&self) -> PathBuf {
        self.dir.join(BINARY)
    }

    /// `haproxy -vv` of the binary, as the build printed it.
    pub fn vv(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join(VV)).ok()
    }
}

/// The entry in `dir`, if it is there whole (its `entry.json` and its binary).
pub fn read(dir: &Path) -> Option<Cached> {
    let text = std::fs::read_to_string(dir.join(ENTRY)).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    dir.join(BINARY).is_file().then(|| Cached {
        dir: dir.to_path_buf(),
        entry,
    })
}

/// The entry of `tag`, if it is there whole and made with `key`.
pub fn find(tag: &str, key: &str) -> Option<Cached> {
    read(&dir().join(tag)).filter(|c| c.entry.key == key)
}

/// Writes the entry of `tag` (replacing an older one) and returns it.
pub fn store(tag: &str, binary: &[u8], vv: &str, entry: Entry) -> Result<Cached, ImageError> {
    use std::os::unix::fs::PermissionsExt;
    let root = dir();
    let io = |what: String| move |e| ImageError::Io(what, e);
    std::fs::create_dir_all(&root).map_err(io(format!("create {}", root.display())))?;
    let tmp = root.join(format!(".{tag}.{:08x}", rand::random::<u32>()));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        std::fs::write(tmp.join(BINARY), binary)?;
        std::fs::set_permissions(tmp.join(BINARY), std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(tmp.join(VV), vv)?;
        let json = serde_json::to_vec_pretty(&entry).expect("an entry serializes");
        std::fs::write(tmp.join(ENTRY), json)?;
        std::fs::File::open(&tmp)?.sync_all()
    };
    let final_dir = root.join(tag);
    let placed = write().and_then(|()| {
        // rename() does not replace a non-empty folder: the old entry goes first.
        if final_dir.exists() {
            std::fs::remove_dir_all(&final_dir)?;
        }
        std::fs::rename(&tmp, &final_dir)
    });
    if let Err(e) = placed {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(ImageError::Io(
            format!("write the binary cache entry {}", final_dir.display()),
            e,
        ));
    }
    Ok(Cached {
        dir: final_dir,
        entry,
    })
}

/// Every whole entry, for `images list`.
pub fn list() -> Vec<Cached> {
    let Ok(folders) = std::fs::read_dir(dir()) else {
        return Vec::new();
    };
    let mut entries: Vec<Cached> = folders
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| read(&e.path()))
        .collect();
    entries.sort_by(|a, b| a.dir.cmp(&b.dir));
    entries
}

/// Removes the cache folder; returns whether there was one.
pub fn remove_all() -> Result<bool, ImageError> {
    let root = dir();
    match std::fs::remove_dir_all(&root) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ImageError::Io(format!("remove {}", root.display()), e)),
    }
}

/// The bytes of a cached binary, for a container about to start.
pub fn read_binary(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the built HAProxy binary {}: {e} (the binary cache {} was changed \
             during the run; build again)",
            path.display(),
            dir().display()
        )
    })
}
