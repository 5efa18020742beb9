//! Builds ahead of runs: a thread of its own builds the sources it is told will (or may) be
//! run next, while the caller runs cases. What it builds lands in the binary cache, where the
//! caller's own build of the same source finds it (the build lock makes a build asked for
//! twice run once). Used by a commit bisect (the candidates that may come next) and a map
//! (its versions, in order).

use haprepro::images::{self, SourceSpec};

/// The builder thread, fed with wishes: the newest wish replaces what is left of older ones.
pub struct BuildAhead {
    wishes: std::sync::mpsc::Sender<Vec<SourceSpec>>,
    thread: std::thread::JoinHandle<()>,
}

impl BuildAhead {
    /// `announce`: a prefix to print a line with (`map: built ... ahead in 61.2s`) for each
    /// build that ran; `None` builds quietly.
    pub fn start(announce: Option<&'static str>) -> BuildAhead {
        let (wishes, rx) = std::sync::mpsc::channel::<Vec<SourceSpec>>();
        let thread = haprepro::runtime::with_engine_on_own_thread(move |engine| async move {
            let mut queue: Vec<SourceSpec> = Vec::new();
            loop {
                // The newest wish wins over what is left of an older one.
                loop {
                    match rx.try_recv() {
                        Ok(newer) => queue = newer,
                        Err(std::sync::mpsc::TryRecvError::Empty) => break,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                    }
                }
                if queue.is_empty() {
                    match rx.recv() {
                        Ok(wish) => queue = wish,
                        Err(_) => return,
                    }
                    continue;
                }
                let spec = queue.remove(0);
                // A failure is left to the caller's own build of it, which reports it.
                let built = images::source::build(&engine, &spec, &|_| {}).await;
                if let (Some(prefix), Ok(b)) = (announce, &built) {
                    if !b.cached {
                        eprintln!(
                            "{prefix}: built {spec} ahead in {:.1}s ({})",
                            b.build_ms as f64 / 1000.0,
                            b.image.version
                        );
                    }
                }
            }
        });
        BuildAhead { wishes, thread }
    }

    /// What to build next, in order, instead of what is left of the last wish.
    pub fn want(&self, specs: Vec<SourceSpec>) {
        let _ = self.wishes.send(specs);
    }

    /// Ends the thread after the build it is in, if any.
    pub fn stop(self) {
        drop(self.wishes);
        let _ = self.thread.join();
    }
}
