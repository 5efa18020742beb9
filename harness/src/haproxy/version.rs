//! HAProxy version numbers and version ranges.
//!
//! Scenarios declare their expected outcome per version range (`[expect]` in scenario files), and
//! the version a case ran is read from `haproxy -v` inside the image, never from an image tag. Both
//! sides meet here.
//!
//! HAProxy's scheme: a branch `MAJOR.MINOR` starts with development snapshots `MAJOR.MINOR-devN`
//! (historically also `-preN` and `-rcN`, e.g. 1.8-rc1), then releases `MAJOR.MINOR.0`,
//! `MAJOR.MINOR.1`, ... So `3.0-dev1 < 3.0-dev12 < 3.0.0 < 3.0.1 < 3.1-dev1`. Anything after the
//! version proper (Debian's `-1+deb12u3`, a git build's `-abc1234-42`) is kept in the raw string
//! but ignored for ordering and equality: `3.0.11-1+deb13u3 == 3.0.11`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// A version string or range that does not follow HAProxy's scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid HAProxy {what} {input:?}: expected {expected}")]
pub struct VersionError {
    /// What was being parsed: "version", "version range", "`haproxy -v` output".
    pub what: &'static str,
    /// The text that was rejected.
    pub input: String,
    /// What would have been accepted, with examples.
    pub expected: &'static str,
}

const EXPECTED_VERSION: &str =
    "MAJOR.MINOR.PATCH or MAJOR.MINOR-devN (also -preN, -rcN), optionally followed by a \
     distro suffix; e.g. 3.0.11, 3.0.11-1+deb13u3, 3.0-dev12";

const EXPECTED_RANGE: &str =
    "a comma-separated list of `*`, a version (3.0.11, 3.0-dev12), a branch (3.0), or a range \
     `A..B`, `A..`, `..B` whose ends are versions or branches; e.g. \"3.0-dev1..3.0-dev12\", \
     \"3.0.0..\", \"..2.9, 3.2\"";

/// Where a version sits before its branch's first release.
///
/// Ordered as HAProxy publishes them: dev snapshots, then pre-releases, then release candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreRelease {
    /// `X.Y-devN`: development snapshot N.
    Dev(u32),
    /// `X.Y-preN`: pre-release N (old branches).
    Pre(u32),
    /// `X.Y-rcN`: release candidate N (e.g. 1.8-rc1).
    Rc(u32),
}

/// One HAProxy version, as printed by `haproxy -v` or written in a scenario.
///
/// Ordering and equality use the version proper only; [`HaproxyVersion::raw`] keeps the full text
/// (with its distro suffix) for reports.
#[derive(Debug, Clone)]
pub struct HaproxyVersion {
    major: u32,
    minor: u32,
    stage: Stage,
    raw: String,
    /// Byte offset in `raw` where the ignored suffix starts (`raw.len()` when none).
    suffix_at: usize,
}

/// Pre-release or released patch level; ordered so every pre-release of a branch sorts before
/// its `.0` release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Stage {
    Pre(PreRelease),
    Patch(u32),
}

impl HaproxyVersion {
    /// Parses `3.0.11`, `2.6.12-1+deb12u3`, `3.0-dev12`, `1.8-rc1`, `3.1-dev5-abc1234-42`.
    ///
    /// A bare branch (`3.0`) is not a version: it names many versions, see [`VersionRange`].
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = || VersionError {
            what: "version",
            input: input.to_owned(),
            expected: EXPECTED_VERSION,
        };
        let raw = input.trim();
        let (major, rest) = split_number(raw).ok_or_else(err)?;
        let rest = rest.strip_prefix('.').ok_or_else(err)?;
        let (minor, rest) = split_number(rest).ok_or_else(err)?;
        let (stage, rest) = if let Some(after_dot) = rest.strip_prefix('.') {
            let (patch, rest) = split_number(after_dot).ok_or_else(err)?;
            (Stage::Patch(patch), rest)
        } else if let Some(after_dash) = rest.strip_prefix('-') {
            let (pre, rest) = parse_pre_release(after_dash).ok_or_else(err)?;
            (Stage::Pre(pre), rest)
        } else {
            return Err(err());
        };
        // What follows must be a separate suffix, not more of the number ("3.0.11x", "3.0.1.2").
        if !(rest.is_empty() || rest.starts_with(['-', '+', '~', ' '])) {
            return Err(err());
        }
        Ok(Self {
            major,
            minor,
            stage,
            raw: raw.to_owned(),
            suffix_at: raw.len() - rest.len(),
        })
    }

    /// Reads the version from the output of `haproxy -v` (first line), whose spelling changed
    /// over time: `HA-Proxy version 2.2.9-2+deb11u6 2023/12/23 - https://haproxy.org/` on 2.2,
    /// `HAProxy version 3.0.11-1+deb13u3 2026/05/20 - https://haproxy.org/` later.
    pub fn from_haproxy_v(output: &str) -> Result<Self, VersionError> {
        let err = || VersionError {
            what: "`haproxy -v` output",
            input: output.lines().next().unwrap_or("").to_owned(),
            expected: "a first line like \"HAProxy version 3.0.11-1+deb13u3 2026/05/20 - \
                       https://haproxy.org/\"",
        };
        let first = output
            .lines()
            .find(|l| !l.trim().is_empty())
            .ok_or_else(err)?;
        let mut words = first.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("HA-Proxy" | "HAProxy"), Some("version"), Some(v)) => {
                Self::parse(v).map_err(|_| err())
            }
            _ => Err(err()),
        }
    }

    /// The major number (3 in 3.0.11).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The minor number (0 in 3.0.11).
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The patch level of a release; `None` for dev/pre/rc snapshots.
    pub fn patch(&self) -> Option<u32> {
        match self.stage {
            Stage::Patch(p) => Some(p),
            Stage::Pre(_) => None,
        }
    }

    /// The pre-release tag (`-dev12`, `-rc1`), `None` for releases.
    pub fn pre_release(&self) -> Option<PreRelease> {
        match self.stage {
            Stage::Pre(p) => Some(p),
            Stage::Patch(_) => None,
        }
    }

    /// The text as given, suffix included (`2.6.12-1+deb12u3`): what a report should show.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The part ignored for ordering (`-1+deb12u3`), empty when none.
    pub fn suffix(&self) -> &str {
        &self.raw[self.suffix_at..]
    }

    /// The version proper without suffix (`2.6.12`, `3.0-dev12`).
    pub fn base(&self) -> &str {
        &self.raw[..self.suffix_at]
    }

    /// Whether this version belongs to branch `major.minor` (dev snapshots included).
    pub fn in_branch(&self, major: u32, minor: u32) -> bool {
        self.major == major && self.minor == minor
    }

    fn key(&self) -> (u32, u32, Stage) {
        (self.major, self.minor, self.stage)
    }
}

/// Splits leading ASCII digits off `s` as a number.
fn split_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = s[..end].parse().ok()?;
    Some((n, &s[end..]))
}

fn parse_pre_release(s: &str) -> Option<(PreRelease, &str)> {
    let (make, rest): (fn(u32) -> PreRelease, &str) = if let Some(r) = s.strip_prefix("dev") {
        (PreRelease::Dev, r)
    } else if let Some(r) = s.strip_prefix("pre") {
        (PreRelease::Pre, r)
    } else if let Some(r) = s.strip_prefix("rc") {
        (PreRelease::Rc, r)
    } else {
        return None;
    };
    let (n, rest) = split_number(rest)?;
    Some((make(n), rest))
}

impl PartialEq for HaproxyVersion {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for HaproxyVersion {}

impl Hash for HaproxyVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for HaproxyVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HaproxyVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for HaproxyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for HaproxyVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for HaproxyVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for HaproxyVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A set of HAProxy versions, as written on the left of a scenario's `[expect]` table.
///
/// Syntax (items separated by commas; a version matches the range if it matches any item):
/// - `*`: every version.
/// - a version, `3.0.11` or `3.0-dev12`: that version with any distro suffix. Written with a
///   suffix (`3.0.11-1+deb13u3`), the suffix must match too.
/// - a branch, `3.0`: every version of the branch, dev snapshots and release candidates
///   included, because a branch's bugs usually begin in its dev cycle. Write `3.0.0..3.0.99` for
///   releases only.
/// - `A..B`, inclusive; `A..` and `..B` open-ended. A branch as an end covers the whole
///   branch: `..2.9` includes 2.9.14, `3.0..` includes 3.0-dev1.
#[derive(Debug, Clone)]
pub struct VersionRange {
    text: String,
    items: Vec<RangeItem>,
}

#[derive(Debug, Clone)]
enum RangeItem {
    Any,
    Exact(HaproxyVersion),
    Branch(u32, u32),
    Between(Option<Bound>, Option<Bound>),
}

#[derive(Debug, Clone)]
enum Bound {
    Version(HaproxyVersion),
    Branch(u32, u32),
}

impl VersionRange {
    /// Parses the syntax described on [`VersionRange`].
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let err = || VersionError {
            what: "version range",
            input: input.to_owned(),
            expected: EXPECTED_RANGE,
        };
        let mut items = Vec::new();
        for part in input.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(err());
            }
            let item = if part == "*" {
                RangeItem::Any
            } else if let Some((lo, hi)) = part.split_once("..") {
                let lo = parse_bound(lo.trim()).map_err(|_| err())?;
                let hi = parse_bound(hi.trim()).map_err(|_| err())?;
                if lo.is_none() && hi.is_none() {
                    return Err(err());
                }
                RangeItem::Between(lo, hi)
            } else {
                match parse_bound(part).map_err(|_| err())? {
                    Some(Bound::Version(v)) => RangeItem::Exact(v),
                    Some(Bound::Branch(ma, mi)) => RangeItem::Branch(ma, mi),
                    None => return Err(err()),
                }
            };
            items.push(item);
        }
        Ok(Self {
            text: input.trim().to_owned(),
            items,
        })
    }

    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `version` is in the range.
    pub fn contains(&self, version: &HaproxyVersion) -> bool {
        self.items.iter().any(|item| match item {
            RangeItem::Any => true,
            RangeItem::Exact(want) => {
                want == version && (want.suffix().is_empty() || want.suffix() == version.suffix())
            }
            RangeItem::Branch(ma, mi) => version.in_branch(*ma, *mi),
            RangeItem::Between(lo, hi) => {
                let above = match lo {
                    None => true,
                    Some(Bound::Version(v)) => version >= v,
                    Some(Bound::Branch(ma, mi)) => (version.major, version.minor) >= (*ma, *mi),
                };
                let below = match hi {
                    None => true,
                    Some(Bound::Version(v)) => version <= v,
                    Some(Bound::Branch(ma, mi)) => (version.major, version.minor) <= (*ma, *mi),
                };
                above && below
            }
        })
    }
}

/// An empty end is open (`None`); `3.0` is a branch; anything else must be a version.
fn parse_bound(s: &str) -> Result<Option<Bound>, VersionError> {
    if s.is_empty() {
        return Ok(None);
    }
    if let Some((ma, mi)) = s.split_once('.') {
        if let (Ok(ma), Ok(mi)) = (ma.parse::<u32>(), mi.parse::<u32>()) {
            return Ok(Some(Bound::Branch(ma, mi)));
        }
    }
    HaproxyVersion::parse(s).map(|v| Some(Bound::Version(v)))
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for VersionRange {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for VersionRange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for VersionRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    fn v(s: &str) -> HaproxyVersion {
        HaproxyVersion::parse(s).unwrap()
    }

    fn r(s: &str) -> VersionRange {
        VersionRange::parse(s).unwrap()
    }

    #[test]
    fn parses_releases_dev_snapshots_and_distro_suffixes() {
        let deb = v("2.6.12-1+deb12u3");
        assert_eq!((deb.major(), deb.minor(), deb.patch()), (2, 6, Some(12)));
        assert_eq!(deb.raw(), "2.6.12-1+deb12u3");
        assert_eq!(deb.base(), "2.6.12");
        assert_eq!(deb.suffix(), "-1+deb12u3");
        assert_eq!(deb, v("2.6.12"));

        let dev = v("3.0-dev12");
        assert_eq!(dev.patch(), None);
        assert_eq!(dev.pre_release(), Some(PreRelease::Dev(12)));
        assert_eq!(v("1.8-rc1").pre_release(), Some(PreRelease::Rc(1)));
        let git = v("3.1-dev5-abc1234-42");
        assert_eq!(git, v("3.1-dev5"));
        assert_eq!(git.suffix(), "-abc1234-42");
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in [
            "",
            "3",
            "3.0",
            "3.x",
            "3.0.x",
            "3.0-beta1",
            "3.0.11x",
            "v3.0.11",
            "3.0-dev",
        ] {
            let err = HaproxyVersion::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("expected MAJOR.MINOR.PATCH"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn orders_as_haproxy_publishes() {
        let ordered = [
            "2.2.9-2+deb11u6",
            "2.6.12-1+deb12u3",
            "2.9.0",
            "3.0-dev1",
            "3.0-dev2",
            "3.0-dev12",
            "3.0-pre1",
            "3.0-rc1",
            "3.0-rc2",
            "3.0.0",
            "3.0.1",
            "3.0.11-1+deb13u3",
            "3.1-dev1",
            "3.1.7",
            "3.2-dev10",
            "3.2.26-1",
            "3.4.7-1",
        ];
        let parsed: Vec<_> = ordered.iter().map(|s| v(s)).collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
        let mut shuffled = parsed.clone();
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(
            shuffled.iter().map(|x| x.raw()).collect::<Vec<_>>(),
            ordered.to_vec()
        );
    }

    #[test]
    fn reads_every_fixture_haproxy_v() {
        for (version, dir) in fixtures::VERSIONS {
            let out = fixtures::read(dir, "haproxy-v");
            let got = HaproxyVersion::from_haproxy_v(&out).unwrap();
            assert_eq!(got, v(version), "{dir}");
        }
        let old = HaproxyVersion::from_haproxy_v(&fixtures::read("2.2.9", "haproxy-v")).unwrap();
        assert_eq!(old.raw(), "2.2.9-2+deb11u6");
        let new = HaproxyVersion::from_haproxy_v(&fixtures::read("3.0.11", "haproxy-v")).unwrap();
        assert_eq!(new.raw(), "3.0.11-1+deb13u3");
        assert!(HaproxyVersion::from_haproxy_v("haproxy: command not found").is_err());
    }

    #[test]
    fn exact_version_matches_any_distro_suffix() {
        let range = r("3.0.11");
        assert!(range.contains(&v("3.0.11-1+deb13u3")));
        assert!(range.contains(&v("3.0.11")));
        assert!(!range.contains(&v("3.0.12")));
        let pinned = r("3.0.11-1+deb13u3");
        assert!(pinned.contains(&v("3.0.11-1+deb13u3")));
        assert!(!pinned.contains(&v("3.0.11-1+deb13u2")));
    }

    #[test]
    fn branch_includes_its_dev_cycle() {
        let range = r("3.0");
        for inside in ["3.0-dev1", "3.0-rc1", "3.0.0", "3.0.11-1+deb13u3"] {
            assert!(range.contains(&v(inside)), "{inside}");
        }
        for outside in ["2.9.0", "3.1-dev1", "3.1.7"] {
            assert!(!range.contains(&v(outside)), "{outside}");
        }
    }

    #[test]
    fn inclusive_and_open_ranges() {
        let dev = r("3.0-dev1..3.0-dev12");
        assert!(dev.contains(&v("3.0-dev1")));
        assert!(dev.contains(&v("3.0-dev12")));
        assert!(!dev.contains(&v("3.0-dev13")));
        assert!(!dev.contains(&v("3.0.0")));
        assert!(!dev.contains(&v("2.9.0")));

        let from = r("3.0.0..");
        assert!(from.contains(&v("3.0.0")));
        assert!(from.contains(&v("3.4.7-1")));
        assert!(!from.contains(&v("3.0-dev12")));

        let upto = r("..2.9");
        assert!(upto.contains(&v("2.9.14")));
        assert!(upto.contains(&v("2.2.9-2+deb11u6")));
        assert!(!upto.contains(&v("3.0-dev1")));

        let branch_start = r("3.0..3.1");
        assert!(branch_start.contains(&v("3.0-dev1")));
        assert!(branch_start.contains(&v("3.1.7")));
        assert!(!branch_start.contains(&v("3.2-dev10")));
    }

    #[test]
    fn comma_lists_and_star() {
        let list = r("2.2.9, 3.0-dev1..3.0-dev12 ,3.2");
        assert!(list.contains(&v("2.2.9-2+deb11u6")));
        assert!(list.contains(&v("3.0-dev5")));
        assert!(list.contains(&v("3.2.26-1")));
        assert!(!list.contains(&v("2.6.12")));
        assert!(r("*").contains(&v("1.8-rc1")));
        assert_eq!(list.to_string(), "2.2.9, 3.0-dev1..3.0-dev12 ,3.2");
    }

    #[test]
    fn range_errors_say_what_was_expected() {
        for bad in ["", "..", "3.0,", "3.x..", "latest", "3.0-dev1...3.0-dev2"] {
            let err = VersionRange::parse(bad).unwrap_err();
            assert!(err.to_string().contains("comma-separated"), "{bad}: {err}");
        }
    }

    #[test]
    fn deserializes_from_strings() {
        let got: Vec<VersionRange> =
            serde_json::from_str(r#"["*", "3.0-dev1..3.0-dev12"]"#).unwrap();
        assert!(got[1].contains(&v("3.0-dev3")));
        let version: HaproxyVersion = serde_json::from_str(r#""2.6.12-1+deb12u3""#).unwrap();
        assert_eq!(version, v("2.6.12"));
        assert!(serde_json::from_str::<HaproxyVersion>(r#""3.0""#).is_err());
        assert_eq!(
            serde_json::to_string(&version).unwrap(),
            r#""2.6.12-1+deb12u3""#
        );
    }
}
