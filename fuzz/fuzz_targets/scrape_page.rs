//! Feeds arbitrary text to the `/metrics` parser and on through conversion
//! and golden-signal detection: none may panic, every error reason must be
//! safe to print, and nothing bound for the store may carry a control
//! character.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::core::model::Labels;
use vigil::sources::scrape::{detect, parse, to_observations};

fuzz_target!(|data: &[u8]| {
    // Pages arrive as text; invalid UTF-8 is the scraper's to reject.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse(text);
    assert!(parsed.errors.len() <= parsed.error_count);
    for e in &parsed.errors {
        assert!(!e.reason.chars().any(char::is_control), "unsafe reason: {:?}", e.reason);
    }
    let (metas, observations) = to_observations(&parsed.families, 0, &Labels::new());
    for m in &metas {
        for t in [&m.name, &m.unit, &m.help] {
            assert!(!t.chars().any(char::is_control), "control character survived: {t:?}");
        }
    }
    for o in &observations {
        let texts = o.key.labels.iter().flat_map(|(k, v)| [k, v]);
        for t in texts.chain([&o.key.metric]) {
            assert!(!t.chars().any(char::is_control), "control character survived: {t:?}");
        }
    }
    let _ = detect(&metas, &observations);
});
