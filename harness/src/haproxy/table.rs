//! `show table`: stick tables and their entries.
//!
//! Scenarios read which server a client sticks to (`server_id`) and whether a key reached a
//! peer (`gpc0`). Each table starts with `# table: NAME, type: TYPE, size:N, used:N`, then one
//! line per entry: `0x...: key=K use=N exp=MS [shard=N] DATA...`. 3.0 and later add `shard=`;
//! the stored server's name is `server_name=` on 2.2 and `server_key=` from 2.6 on. All
//! `key=value` words stay in [`TableEntry::data`].

use std::collections::BTreeMap;

use super::parse::{key_values, split_pointer, ParseError};

const COMMAND: &str = "show table";

/// One stick table, with its entries when the dump was `show table NAME`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// Table name (the proxy that declares it).
    pub name: String,
    /// Key type: `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub key_type: String,
    /// Configured size.
    pub size: Option<u64>,
    /// Entries in use.
    pub used: Option<u64>,
    /// The entries, in HAProxy's order (empty in the `show table` summary).
    pub entries: Vec<TableEntry>,
}

/// One stick-table entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableEntry {
    /// HAProxy's address of the entry (identifies it across dumps).
    pub ptr: String,
    /// The key, as printed.
    pub key: String,
    /// Every other `name=value` word: `use`, `exp`, `shard`, `gpc0`, `server_id`...
    pub data: BTreeMap<String, String>,
}

impl TableEntry {
    /// A data value as a number (`gpc0`, `conn_cnt`, `exp`).
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.data.get(name)?.parse().ok()
    }

    /// The stored server id (`stick on` tables).
    pub fn server_id(&self) -> Option<u32> {
        self.data.get("server_id")?.parse().ok()
    }

    /// The stored server's name: `server_name` on 2.2, `server_key` from 2.6.
    pub fn server_name(&self) -> Option<&str> {
        self.data
            .get("server_key")
            .or_else(|| self.data.get("server_name"))
            .map(String::as_str)
    }
}

impl Table {
    /// Parses any `show table` answer: the summary (several headers, no entries) or one table.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut tables: Vec<Self> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# table:") {
                tables.push(Self::parse_header(rest, i + 1)?);
            } else if let (Some((ptr, rest)), Some(table)) =
                (split_pointer(line), tables.last_mut())
            {
                table.entries.push(parse_entry(ptr, rest));
            } else {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected `# table: ...` or an entry `0x...: key=...`, found {line:?}"),
                ));
            }
        }
        Ok(tables)
    }

    /// Parses the answer of `show table NAME`, which must hold exactly that table.
    pub fn parse_one(text: &str, name: &str) -> Result<Self, ParseError> {
        let mut tables = Self::parse_all(text)?;
        match tables.iter().position(|t| t.name == name) {
            Some(i) if tables.len() == 1 => Ok(tables.swap_remove(i)),
            _ => Err(ParseError::new(
                COMMAND,
                1,
                format!(
                    "expected table {name:?} alone, found {:?}",
                    tables.iter().map(|t| &t.name).collect::<Vec<_>>()
                ),
            )),
        }
    }

    /// The entry with this key.
    pub fn entry(&self, key: &str) -> Option<&TableEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// ` st, type: string, size:100, used:2`
    fn parse_header(rest: &str, line_no: usize) -> Result<Self, ParseError> {
        let mut parts = rest.split(',').map(str::trim);
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(|| {
            ParseError::new(
                COMMAND,
                line_no,
                format!("table header without a name: {rest:?}"),
            )
        })?;
        let mut attrs = BTreeMap::new();
        for part in parts {
            if let Some((k, v)) = part.split_once(':') {
                attrs.insert(k.trim(), v.trim());
            }
        }
        Ok(Self {
            name: name.to_owned(),
            key_type: attrs.get("type").copied().unwrap_or_default().to_owned(),
            size: attrs.get("size").and_then(|v| v.parse().ok()),
            used: attrs.get("used").and_then(|v| v.parse().ok()),
            entries: Vec::new(),
        })
    }
}

/// `key=172.17.0.1 use=0 exp=598495 server_id=1 server_name=s1`. A string key may hold spaces,
/// so the key runs up to ` use=` when that follows.
fn parse_entry(ptr: &str, rest: &str) -> TableEntry {
    let after_key = rest.strip_prefix("key=").unwrap_or(rest);
    let (key, others) = match after_key.find(" use=") {
        Some(at) => (&after_key[..at], &after_key[at + 1..]),
        None => after_key.split_once(' ').unwrap_or((after_key, "")),
    };
    TableEntry {
        ptr: ptr.to_owned(),
        key: key.to_owned(),
        data: key_values(others.split_whitespace()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_the_summary_of_every_version() {
        for dir in fixtures::dirs() {
            let tables = Table::parse_all(&fixtures::read(dir, "show-table")).unwrap();
            let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["st", "be"], "{dir}");
            assert_eq!(tables[0].key_type, "string");
            assert_eq!(tables[0].size, Some(100));
            assert_eq!(tables[0].used, Some(2));
            assert_eq!(tables[1].key_type, "ip");
            assert!(tables.iter().all(|t| t.entries.is_empty()));
        }
    }

    #[test]
    fn parses_entries_of_every_version() {
        for dir in fixtures::dirs() {
            let st = Table::parse_one(&fixtures::read(dir, "show-table-st"), "st").unwrap();
            assert_eq!(st.entries.len(), 2, "{dir}");
            assert_eq!(st.entry("foo").unwrap().get_u64("gpc0"), Some(1), "{dir}");
            assert_eq!(st.entry("bar").unwrap().get_u64("gpc0"), Some(7), "{dir}");
            assert_eq!(st.entry("foo").unwrap().get_u64("conn_cnt"), Some(0));
            assert!(st.entry("foo").unwrap().ptr.starts_with("0x"));

            let be = Table::parse_one(&fixtures::read(dir, "show-table-be"), "be").unwrap();
            let client = be.entry("172.17.0.1").unwrap();
            assert_eq!(client.server_id(), Some(1), "{dir}");
            assert_eq!(client.server_name(), Some("s1"), "{dir}");
            assert!(client.get_u64("exp").unwrap() > 590_000);
        }
    }

    #[test]
    fn shard_and_server_key_appear_in_later_versions() {
        let entry = |dir| {
            let be = Table::parse_one(&fixtures::read(dir, "show-table-be"), "be").unwrap();
            be.entries[0].data.clone()
        };
        assert!(entry("2.2.9").contains_key("server_name"));
        assert!(!entry("2.6.12").contains_key("shard"));
        assert!(entry("2.6.12").contains_key("server_key"));
        assert_eq!(entry("3.0.11").get("shard").map(String::as_str), Some("0"));
    }

    #[test]
    fn rejects_an_error_answer_and_a_wrong_table() {
        let err = Table::parse_all(&fixtures::read("2.6.12", "error-show-table-nope")).unwrap_err();
        assert!(err.to_string().contains("No such table"), "{err}");
        let err = Table::parse_one(&fixtures::read("2.6.12", "show-table"), "st").unwrap_err();
        assert!(err.to_string().contains("alone"), "{err}");
    }

    #[test]
    fn string_keys_may_hold_spaces() {
        let t = Table::parse_one(
            "# table: st, type: string, size:100, used:1\n0x1: key=a b use=0 exp=10 gpc0=3\n",
            "st",
        )
        .unwrap();
        assert_eq!(t.entry("a b").unwrap().get_u64("gpc0"), Some(3));
    }
}
