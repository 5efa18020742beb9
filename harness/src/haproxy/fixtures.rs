//! Test access to real runtime API answers captured from each HAProxy version
//! (`harness/tests/fixtures/haproxy/<version>/<command>.txt`; the configuration that produced them
//! is `a.cfg`/`b.cfg` beside them).

use std::path::PathBuf;

/// (version as `haproxy -v` prints it, fixture folder).
pub(crate) const VERSIONS: [(&str, &str); 5] = [
    ("2.2.9-2+deb11u6", "2.2.9"),
    ("2.6.12-1+deb12u3", "2.6.12"),
    ("3.0.11-1+deb13u3", "3.0.11"),
    ("3.2.26-1", "3.2.26"),
    ("3.4.7-1", "3.4.7"),
];

/// The folder names alone, for loops over every version.
pub(crate) fn dirs() -> impl Iterator<Item = &'static str> {
    VERSIONS.iter().map(|(_, dir)| *dir)
}

/// Reads `<dir>/<name>.txt`; panics with the path when missing, so a lost fixture fails loudly.
pub(crate) fn read(dir: &str, name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/haproxy",
        dir,
        &format!("{name}.txt"),
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
