//! Build profiles: which optional parts of HAProxy a source build compiles in, and the
//! feature names scenarios use to say what they need (`requires = ["ssl"]`).

use std::str::FromStr;

/// The features a scenario can require. Each is one `USE_*` switch of HAProxy's Makefile.
pub const FEATURES: &[(&str, &str)] = &[
    ("ssl", "OpenSSL (USE_OPENSSL)"),
    ("lua", "Lua (USE_LUA)"),
    ("pcre", "PCRE2 (USE_PCRE2)"),
    ("zlib", "zlib (USE_ZLIB)"),
    ("prometheus", "the Prometheus exporter (USE_PROMEX)"),
];

/// A named set of `make` switches on top of `TARGET=linux-glibc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// No SSL, Lua, PCRE or zlib: builds every HAProxy since 2.0 with nothing but libc, and
    /// fastest, which is what a bisect wants.
    #[default]
    Minimal,
    /// OpenSSL, PCRE2 (with JIT), zlib, Lua and the Prometheus exporter.
    Full,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Minimal => "minimal",
            Profile::Full => "full",
        }
    }

    /// The `make` variables beside `TARGET=linux-glibc`.
    pub fn make_vars(self) -> &'static [&'static str] {
        match self {
            Profile::Minimal => &[],
            // USE_ZLIB replaces the built-in SLZ (2.4+); USE_PROMEX exists since 2.4 and is
            // ignored by older Makefiles.
            Profile::Full => &[
                "USE_OPENSSL=1",
                "USE_PCRE2=1",
                "USE_PCRE2_JIT=1",
                "USE_ZLIB=1",
                "USE_LUA=1",
                "USE_PROMEX=1",
            ],
        }
    }

    /// The features of [`FEATURES`] a build of this profile has.
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Profile::Minimal => &[],
            Profile::Full => &["ssl", "lua", "pcre", "zlib", "prometheus"],
        }
    }

    /// The required features this profile lacks, in the order required.
    pub fn lacks(self, required: &[String]) -> Vec<&str> {
        required
            .iter()
            .map(String::as_str)
            .filter(|f| !self.features().contains(f))
            .collect()
    }

    /// The profile that has every required feature, if any.
    pub fn providing(required: &[String]) -> Option<Profile> {
        [Profile::Minimal, Profile::Full]
            .into_iter()
            .find(|p| p.lacks(required).is_empty())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "minimal" => Ok(Profile::Minimal),
            "full" => Ok(Profile::Full),
            other => Err(format!(
                "unknown build profile {other:?}: minimal (the default) or full"
            )),
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `name` is a feature a scenario may require.
pub fn is_feature(name: &str) -> bool {
    FEATURES.iter().any(|(f, _)| *f == name)
}

/// The known feature names, for error messages.
pub fn feature_names() -> String {
    FEATURES
        .iter()
        .map(|(f, _)| *f)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_lacks_every_feature_and_full_has_them_all() {
        let all: Vec<String> = FEATURES.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(Profile::Minimal.lacks(&all).len(), FEATURES.len());
        assert!(Profile::Full.lacks(&all).is_empty());
        assert_eq!(Profile::providing(&[]), Some(Profile::Minimal));
        assert_eq!(Profile::providing(&["ssl".into()]), Some(Profile::Full));
        assert_eq!(Profile::providing(&["quic".into()]), None);
        assert!("fast".parse::<Profile>().unwrap_err().contains("minimal"));
    }
}
