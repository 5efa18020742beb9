//! The scenario loader on any input: a `scenario.toml` text, then (after a line `---`) the text
//! every template file reads as. Every input must give a scenario or located errors, never a
//! panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (scenario, template) = text.split_once("\n---\n").unwrap_or((&text, ""));
    let template = template.to_string();
    let read = move |_: &Path| Ok(template.clone());
    if let Err(errors) = haprepro::scenario::load_with(Path::new("/fuzz"), scenario, &read) {
        for e in errors {
            // Locations must point into the file: 1-based.
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
    }
});
