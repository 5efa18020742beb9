//! `show info`: the process-wide facts (version, pid, uptime) a case records as evidence and
//! checks its version against.
//!
//! Every version prints `Name: value` lines; 2.2 prints 65 of them, 3.4 about 80. The few the
//! harness needs are typed, the rest stay in [`Info::fields`].

use std::collections::BTreeMap;

use super::parse::ParseError;
use super::version::{HaproxyVersion, VersionError};

const COMMAND: &str = "show info";

/// The answer of `show info`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Info {
    /// `Version:` as printed (`2.6.12-1+deb12u3`).
    pub version: String,
    /// `Release_date:` (`2023/12/23`).
    pub release_date: Option<String>,
    /// `Pid:` of the worker that answered.
    pub pid: Option<u32>,
    /// `Uptime_sec:`; a restart between two observations shows as a smaller value.
    pub uptime_sec: Option<u64>,
    /// Every `Name: value` line, the typed ones included.
    pub fields: BTreeMap<String, String>,
}

impl Info {
    /// Parses `show info` output; the only required line is `Version:`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut fields = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected `Name: value`, found {line:?}"),
                ));
            };
            fields.insert(name.trim().to_owned(), value.trim().to_owned());
        }
        let version = fields
            .get("Version")
            .cloned()
            .ok_or_else(|| ParseError::new(COMMAND, 1, "no `Version:` line"))?;
        Ok(Self {
            version,
            release_date: fields.get("Release_date").cloned(),
            pid: fields.get("Pid").and_then(|v| v.parse().ok()),
            uptime_sec: fields.get("Uptime_sec").and_then(|v| v.parse().ok()),
            fields,
        })
    }

    /// The version as an orderable [`HaproxyVersion`].
    pub fn haproxy_version(&self) -> Result<HaproxyVersion, VersionError> {
        HaproxyVersion::parse(&self.version)
    }

    /// Any field by its `show info` name (`Nbthread`, `CurrConns`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_every_version() {
        for (version, dir) in fixtures::VERSIONS {
            let info = Info::parse(&fixtures::read(dir, "show-info")).unwrap();
            assert_eq!(info.version, version, "{dir}");
            assert_eq!(info.haproxy_version().unwrap().raw(), version);
            assert_eq!(info.pid, Some(1), "{dir}: haproxy -db runs as pid 1");
            assert!(info.uptime_sec.is_some(), "{dir}");
            assert_eq!(info.get("Name"), Some("HAProxy"));
            assert_eq!(info.get("Nbthread"), Some("2"));
            assert!(info.release_date.as_deref().unwrap().contains('/'));
        }
    }

    #[test]
    fn newer_versions_print_more_fields() {
        let old = Info::parse(&fixtures::read("2.2.9", "show-info")).unwrap();
        let new = Info::parse(&fixtures::read("3.4.7", "show-info")).unwrap();
        assert_eq!(old.release_date.as_deref(), Some("2023/12/23"));
        assert!(old.fields.len() < new.fields.len());
    }

    #[test]
    fn rejects_an_error_answer() {
        let err = Info::parse("Unknown command.\n").unwrap_err();
        assert!(err.to_string().contains("expected `Name: value`"), "{err}");
        let err = Info::parse("Name: HAProxy\n").unwrap_err();
        assert!(err.to_string().contains("no `Version:` line"), "{err}");
    }
}
