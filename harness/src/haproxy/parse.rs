//! What every runtime API parser shares: the error type and HAProxy's `key=value` dumps.
//!
//! `show sess`, `show table` and `show peers` print lines of space-separated `key=value` words
//! whose set grows from version to version; the parsers keep every word in a map so a field added
//! by a later HAProxy is still reachable without a code change.

use std::collections::BTreeMap;

/// An answer of the runtime API that does not have the shape its command promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{command}` answer, line {line}: {message}")]
pub struct ParseError {
    /// The command whose answer this was (`show servers state`).
    pub command: &'static str,
    /// 1-based line number in the answer.
    pub line: usize,
    /// What was wrong, with the offending text.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(command: &'static str, line: usize, message: impl Into<String>) -> Self {
        Self {
            command,
            line,
            message: message.into(),
        }
    }
}

/// Splits `key=value` words into a map; words without `=` are skipped. A word like
/// `rq[f=c48202h,i=0]` (how `show sess` prints buffers) is stored under `rq` with the bracket's
/// content as its value. The first occurrence of a key wins.
pub(crate) fn key_values<'a>(words: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for word in words {
        let (key, value) = match (word.find('['), word.find('=')) {
            (Some(b), Some(e)) if b < e && word.ends_with(']') => {
                (&word[..b], &word[b + 1..word.len() - 1])
            }
            (_, Some(e)) => (&word[..e], &word[e + 1..]),
            _ => continue,
        };
        map.entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    map
}

/// Splits a leading `0x...:` object address (how HAProxy dumps identify objects) off a line.
pub(crate) fn split_pointer(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim_start();
    let (ptr, rest) = trimmed.split_once(':')?;
    ptr.starts_with("0x").then(|| (ptr, rest.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_handles_brackets_and_duplicates() {
        let m = key_values("a=1 rq[f=c4h,i=0] s0=[8,2h,fd=17] a=2 lone".split_whitespace());
        assert_eq!(m["a"], "1");
        assert_eq!(m["rq"], "f=c4h,i=0");
        assert_eq!(m["s0"], "[8,2h,fd=17]");
        assert!(!m.contains_key("lone"));
    }

    #[test]
    fn split_pointer_needs_a_hex_address() {
        assert_eq!(split_pointer("  0x55f3: id=x"), Some(("0x55f3", "id=x")));
        assert_eq!(split_pointer("flags=0x0"), None);
    }
}
