//! `show stat`: the CSV of counters per frontend, backend and server.
//!
//! Scenarios read a server's status (`UP`, `DOWN`, `MAINT (resolution)`), its current sessions
//! (`scur`, to see sessions drain after `shutdown sessions`) and its check result and address
//! (`check_status`, `addr`: where checks actually went). The header line names the columns, and
//! their number grows with every version (100 on 2.2.9, 129 on 2.6.12, 206 on 3.0.11, 214 on
//! 3.4.7), so rows are read by header name and every column stays in [`StatRow::fields`].

use std::collections::BTreeMap;

use super::parse::ParseError;

const COMMAND: &str = "show stat";

/// One line of `show stat`: a frontend (`svname` = `FRONTEND`), a backend (`BACKEND`) or a
/// server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatRow {
    /// Proxy name.
    pub pxname: String,
    /// Server name, or `FRONTEND` / `BACKEND` for the proxy's own rows.
    pub svname: String,
    /// `UP`, `DOWN`, `MAINT`, `MAINT (resolution)`, `no check`, `OPEN`, ...
    pub status: String,
    /// Current sessions.
    pub scur: Option<u64>,
    /// Last health check result (`L4OK`, `L4CON`, `L7OK`...); `None` without checks.
    pub check_status: Option<String>,
    /// Layer 5-7 code of the last check (the HTTP status), when there is one.
    pub check_code: Option<u32>,
    /// The server's `address:port` (absent while it has no address, e.g. waiting for DNS).
    pub addr: Option<String>,
    /// Every non-empty column by header name, the typed ones included.
    pub fields: BTreeMap<String, String>,
}

impl StatRow {
    /// Parses the whole CSV answer. Rows are read by the `# pxname,svname,...` header, so a
    /// column added or moved by another HAProxy version is still found.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header = match lines.next() {
            Some((_, l)) if l.starts_with("# ") => split_csv(&l[2..]),
            Some((i, l)) => {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected the `# pxname,svname,...` header, found {l:?}"),
                ))
            }
            None => return Err(ParseError::new(COMMAND, 1, "empty answer")),
        };
        for required in ["pxname", "svname", "status"] {
            if !header.iter().any(|h| h == required) {
                return Err(ParseError::new(
                    COMMAND,
                    1,
                    format!("header has no `{required}` column"),
                ));
            }
        }
        let mut rows = Vec::new();
        for (i, line) in lines {
            let values = split_csv(line);
            let fields: BTreeMap<String, String> = header
                .iter()
                .zip(values)
                .filter(|(name, value)| !name.is_empty() && !value.is_empty())
                .map(|(name, value)| (name.clone(), value))
                .collect();
            let text = |name: &str| fields.get(name).cloned();
            let (Some(pxname), Some(svname)) = (text("pxname"), text("svname")) else {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("row without pxname/svname: {line:?}"),
                ));
            };
            rows.push(Self {
                pxname,
                svname,
                status: text("status").unwrap_or_default(),
                scur: text("scur").and_then(|v| v.parse().ok()),
                check_status: text("check_status"),
                check_code: text("check_code").and_then(|v| v.parse().ok()),
                addr: text("addr"),
                fields,
            });
        }
        Ok(rows)
    }

    /// Whether this is a server row (not the proxy's `FRONTEND`/`BACKEND` summary).
    pub fn is_server(&self) -> bool {
        self.svname != "FRONTEND" && self.svname != "BACKEND"
    }

    /// Any column by its header name (`last_chk`, `lastchg`, `check_desc`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The row of `proxy/server` in a parsed answer (`be/app1`, `be/BACKEND`).
    pub fn find<'a>(rows: &'a [Self], proxy: &str, server: &str) -> Option<&'a Self> {
        rows.iter()
            .find(|r| r.pxname == proxy && r.svname == server)
    }
}

/// Splits one CSV line. HAProxy quotes a field (`"a,b"`, `""` for a quote) only when it holds a
/// comma or a quote, as a free-text check description can.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_every_version() {
        for dir in fixtures::dirs() {
            let rows = StatRow::parse_all(&fixtures::read(dir, "show-stat")).unwrap();
            let row = |sv: &str| StatRow::find(&rows, "be", sv).unwrap();
            assert_eq!(row("s1").status, "UP", "{dir}");
            assert_eq!(row("s1").check_status.as_deref(), Some("L4OK"));
            assert_eq!(row("s1").addr.as_deref(), Some("127.0.0.1:8001"));
            assert_eq!(row("s2").status, "DOWN");
            assert_eq!(row("s2").check_status.as_deref(), Some("L4CON"));
            assert!(row("s2")
                .get("last_chk")
                .unwrap()
                .contains("Connection refused"));
            assert_eq!(row("s3").status, "MAINT");
            for app in ["app1", "app2"] {
                assert_eq!(row(app).status, "MAINT (resolution)", "{dir} {app}");
                assert_eq!(
                    row(app).addr,
                    None,
                    "{dir} {app}: no address before DNS answers"
                );
            }
            assert!(!row("BACKEND").is_server());
            let t1 = StatRow::find(&rows, "tcpfe", "t1").unwrap();
            assert_eq!(t1.status, "no check");
            assert_eq!(t1.scur, Some(1), "{dir}: the held TCP session");
            assert_eq!(t1.check_status, None);
            assert_eq!(rows.len(), 13, "{dir}");
        }
    }

    #[test]
    fn column_count_grows_with_the_version() {
        let count = |dir| {
            let rows = StatRow::parse_all(&fixtures::read(dir, "show-stat")).unwrap();
            let s1 = StatRow::find(&rows, "be", "s1").unwrap().clone();
            s1.fields.len()
        };
        assert!(count("2.2.9") < count("3.4.7"));
    }

    #[test]
    fn quoted_fields_keep_their_commas() {
        let text =
            "# pxname,svname,status,check_desc,\nbe,s1,DOWN,\"Layer4 problem, \"\"refused\"\"\",\n";
        let rows = StatRow::parse_all(text).unwrap();
        assert_eq!(
            rows[0].get("check_desc"),
            Some("Layer4 problem, \"refused\"")
        );
    }

    #[test]
    fn rejects_an_error_answer() {
        let err = StatRow::parse_all("Permission denied\n\n").unwrap_err();
        assert!(err.to_string().contains("header"), "{err}");
    }
}
