//! Evidence files a step keeps: named (contained to the case's folder), kept in memory, and
//! written off the async workers; a file that cannot be written is kept as lost, never dropped.

use crate::report;

use super::state::CaseState;

impl CaseState<'_> {
    /// Keeps a file for the evidence folder; [`CaseState::flush_evidence`] writes them, off the
    /// async workers.
    pub(crate) fn write_evidence(&mut self, name: &str, contents: impl AsRef<[u8]>) {
        if let Err(e) = crate::scenario::contain::evidence_file_name(name) {
            return self.kept.refused.push(e);
        }
        self.kept
            .pending
            .push((name.to_string(), contents.as_ref().to_vec()));
    }

    /// Writes the files kept so far on a blocking thread; those written join `evidence`.
    pub(crate) async fn flush_evidence(&mut self) {
        let pending = std::mem::take(&mut self.kept.pending);
        let dir = self.evidence_dir.clone();
        let (written, lost) = tokio::task::spawn_blocking(move || {
            let mut written = Vec::new();
            let mut lost = Vec::new();
            for (name, contents) in pending {
                match report::write_atomic(&dir.join(&name), &contents) {
                    Ok(()) => {
                        written.push(name);
                        crate::failpoint::hit("evidence");
                    }
                    Err(e) => lost.push(format!("{name}: {e}")),
                }
            }
            (written, lost)
        })
        .await
        .unwrap_or_else(|e| (Vec::new(), vec![format!("the writer failed: {e}")]));
        self.kept.evidence.extend(written);
        self.kept.lost.extend(lost);
    }
}
