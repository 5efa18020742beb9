//! A case's name, made of its parts once: `scenario[/variant]@version[~column][#k]`.
//!
//! The name is the case's key everywhere: `case` in `case.json`, the case folder, the
//! containers' and network's names, progress lines. It is kept as its parts and rendered, so no
//! code splices a variant or a column into a name already written, or cuts one back out of it.
//! A leaf: the runner imports it, and so does the scheduler that runs the runner.

use std::fmt;

/// One case: a scenario (or one of its variants) on a HAProxy version, in one column of a run,
/// perhaps one round of a racy variant (`repeat = N`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseId {
    pub scenario: String,
    /// The variant, for a scenario that has several; `None` for the scenario itself.
    pub variant: Option<String>,
    /// The short version (`3.0.11`, see [`crate::images::short_version`]).
    pub version: String,
    /// What tells this column from another of the same version in one run
    /// (`src-1a2b3c4d5e6f-minimal`); see `RunOptions::column`.
    pub column: Option<String>,
    /// The k-th run of a racy variant, whose runs each have a folder (`#k`).
    pub round: Option<u32>,
}

impl CaseId {
    /// The case of `scenario` (`variant`, if any) on a HAProxy that reports `version` (its
    /// full version; the name takes the short one).
    pub fn new(
        scenario: &str,
        variant: Option<&str>,
        version: &str,
        column: Option<&str>,
    ) -> CaseId {
        CaseId {
            scenario: scenario.to_string(),
            variant: variant.map(str::to_string),
            version: crate::images::short_version(version),
            column: column.map(str::to_string),
            round: None,
        }
    }

    /// The k-th run of this case.
    pub fn round(&self, k: u32) -> CaseId {
        CaseId {
            round: Some(k),
            ..self.clone()
        }
    }

    /// The case folder's name under the run's folder (and the containers' name part).
    pub fn folder(&self) -> String {
        crate::runtime::sanitize(&self.to_string())
    }

    /// Reads back a name a record holds (`CaseRecord::case`, from a `case.json`); `None` for
    /// a text that is no case name. The one place a name is cut into its parts: scenario and
    /// variant names are plain words and a column is a sanitized name, so `/`, `@`, `~` and
    /// `#` only stand between parts.
    pub fn parse(name: &str) -> Option<CaseId> {
        let (row, rest) = name.split_once('@')?;
        let (rest, round) = match rest.rsplit_once('#') {
            Some((rest, k)) => (rest, Some(k.parse().ok()?)),
            None => (rest, None),
        };
        let (version, column) = match rest.split_once('~') {
            Some((version, column)) => (version, Some(column.to_string())),
            None => (rest, None),
        };
        let (scenario, variant) = split_row(row);
        if scenario.is_empty() || version.is_empty() {
            return None;
        }
        Some(CaseId {
            scenario: scenario.to_string(),
            variant: variant.map(str::to_string),
            version: version.to_string(),
            column,
            round,
        })
    }
}

/// A matrix's row: `scenario`, or `scenario/variant` for one of its variants.
pub fn row(scenario: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{scenario}/{v}"),
        None => scenario.to_string(),
    }
}

/// A row's scenario and variant, as [`row`] joined them: scenario names are plain words, so a
/// `/` only stands between the two.
pub fn split_row(row: &str) -> (&str, Option<&str>) {
    match row.split_once('/') {
        Some((scenario, variant)) => (scenario, Some(variant)),
        None => (row, None),
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}",
            row(&self.scenario, self.variant.as_deref()),
            self.version
        )?;
        if let Some(column) = &self.column {
            write!(f, "~{column}")?;
        }
        if let Some(k) = self.round {
            write!(f, "#{k}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_written_as_before() {
        let smoke = CaseId::new("smoke", None, "3.0.11-1", None);
        assert_eq!(smoke.to_string(), "smoke@3.0.11");
        assert_eq!(smoke.folder(), "smoke-3.0.11");
        let racy = CaseId::new(
            "backup-sticks",
            Some("sticky"),
            "3.0.11",
            Some("src-1a2b3c4d5e6f-minimal"),
        );
        assert_eq!(
            racy.to_string(),
            "backup-sticks/sticky@3.0.11~src-1a2b3c4d5e6f-minimal"
        );
        assert_eq!(
            racy.round(3).to_string(),
            "backup-sticks/sticky@3.0.11~src-1a2b3c4d5e6f-minimal#3"
        );
        assert_eq!(
            racy.round(3).folder(),
            "backup-sticks-sticky-3.0.11-src-1a2b3c4d5e6f-minimal-3"
        );
        assert_eq!(
            CaseId::new("s", Some("v"), "2.8.1", None)
                .round(12)
                .to_string(),
            "s/v@2.8.1#12"
        );
    }

    #[test]
    fn a_written_name_reads_back_into_its_parts() {
        for id in [
            CaseId::new("smoke", None, "3.0.11", None),
            CaseId::new("smoke", Some("a.b_c-d"), "3.2-dev4", None).round(1),
            CaseId::new("x", Some("y"), "2.6.12", Some("suite-trixie")).round(20),
            CaseId::new("x", None, "3.0.11", Some("docker.io-haproxy-3.0")),
        ] {
            assert_eq!(CaseId::parse(&id.to_string()), Some(id.clone()), "{id}");
        }
        assert_eq!(split_row("s/v"), ("s", Some("v")));
        assert_eq!(split_row(&row("s", None)), ("s", None));
        for bad in ["", "smoke", "@3.0.11", "smoke@", "smoke@3.0.11#x"] {
            assert_eq!(CaseId::parse(bad), None, "{bad}");
        }
    }
}
