//! One integration binary, one file per area (hickory-dns's layout): scenario files without
//! Docker, then every scenario on every catalog version in real containers.
//!
//! The container tests need a Docker daemon and the catalog images (`haprepro images build`);
//! without them they fail, saying which is missing. They never skip.

mod backends;
mod capture;
mod cleanup;
mod cli;
mod scenario_files;
mod scenarios;
mod support;
