use std::path::PathBuf;

/// A scenario that cannot be loaded, located like a compiler error: `file:line:column: field:
/// message`, so an editor can jump to it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}:{column}: {field}: {message}", file.display())]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

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
    }
}
