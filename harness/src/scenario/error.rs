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
