//! Where a byte offset of a text file is, as people and editors count: `file:line:column`
//! errors for scenario files, templates and the nightly list all come from here.

/// Turns a byte offset into 1-based line and column (in characters).
pub(crate) fn locate(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    #[test]
    fn locates_offsets() {
        assert_eq!(super::locate("ab\ncd", 0), (1, 1));
        assert_eq!(super::locate("ab\ncd", 4), (2, 2));
        assert_eq!(super::locate("ab\ncd", 99), (2, 3));
    }
}
