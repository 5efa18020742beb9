//! The haproxy.cfg template renderer (placeholders and loops) on any input, with the values a
//! case has; the output stays within the renderer's bounds.
#![no_main]

use std::collections::BTreeMap;

use haprepro::scenario::template::{render, MAX_OUTPUT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let values = BTreeMap::from([
        ("web1.ip".to_string(), "10.213.1.10".to_string()),
        ("api.port".to_string(), "9999".to_string()),
        ("zone".to_string(), "svc.test".to_string()),
        ("vars.names".to_string(), "a b, c".to_string()),
    ]);
    match render(&text, &values) {
        Ok(out) => assert!(out.len() <= MAX_OUTPUT),
        Err(errors) => assert!(!errors.is_empty() && errors.iter().all(|e| e.line >= 1)),
    }
});
