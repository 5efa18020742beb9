//! One integration binary, one file per area (hickory-dns's layout): scenario files without
//! Docker, then every scenario on every catalog version in real containers.
//!
//! The container tests need a Docker daemon; they build the catalog images that are missing
//! first (once, for all of them). Without Docker, or when an image cannot be built, they fail
//! saying why. They never skip.

mod authoring;
mod backends;
mod capture;
mod cleanup;
mod cli;
mod crashes;
mod docs;
mod faults;
mod lanes;
mod nightly;
mod scenario_files;
mod scenarios;
mod source_builds;
mod source_repo;
mod step_words;
mod support;
