//! haprepro: reproduces HAProxy regressions against real HAProxy containers.
//!
//! Data flows one way: a scenario file becomes a case plan (scenario x version), the case runs
//! on a [`runtime`] sandbox beside a [`dns`] server and a [`capture`], its steps produce
//! observations, the observations a verdict, and [`report`] writes it all down with the evidence.

pub mod backend;
pub mod bisect;
pub mod capture;
pub mod case_id;
pub mod causes;
pub mod dns;
pub mod failpoint;
pub mod haproxy;
pub mod images;
pub mod load;
mod position;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod schedule;
pub mod verdict;
pub mod wait;
