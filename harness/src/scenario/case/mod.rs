//! The running case's context: what a step sees and changes. A leaf of `scenario/`: it holds
//! no scenario or variant (the runner's stages take those), only the case's addresses and
//! values, what runs ([`Live`]) and what is kept for the evidence ([`Kept`]), and the helpers
//! steps share (start an instance, start or stop the capture, set an SRV record, keep an
//! evidence file). Steps and the runner's stages both build on it; it builds on neither.

mod capture;
mod dns;
mod evidence_files;
mod instance;
mod state;

pub(crate) use capture::start_capture;
pub(crate) use dns::set_srv;
pub(crate) use instance::{start_instance, wait_haproxy_ready};
pub(crate) use state::{CaseState, Instance, Kept, Live, FILES_DIR, SOCK_DIR};
