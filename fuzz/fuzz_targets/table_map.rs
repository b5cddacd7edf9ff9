//! Fuzzes the whole table-map validator on one map source: TOML parsing with positions, the
//! schema walk, deserialization, the semantic checks of one map and of the set (filters and
//! skip rules included), then the rendering of every diagnostic as `dualsync validate` shows it.
//!
//! Property: no panic, and every diagnostic points inside the file (1-based line within the
//! file, column and caret width at least 1); a file with no diagnostic produced a map.

#![no_main]

use dualsync::tablemap::{self, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Map files are read as UTF-8; invalid bytes become U+FFFD so no input is wasted.
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.split('\n').count();
    let loaded = tablemap::load_sources(vec![SourceFile::new("fuzz.toml", text)]);
    for d in &loaded.diagnostics {
        assert!(
            (1..=lines).contains(&d.line) && d.column >= 1 && d.width >= 1,
            "diagnostic outside the file ({lines} lines): {d:?}"
        );
        let _ = d.location();
        let _ = d.to_string();
    }
    if loaded.is_valid() {
        assert_eq!(loaded.maps().count(), 1, "a file without diagnostics must give a map");
    }
    let _ = loaded.summary();
    for m in loaded.maps() {
        let _ = tablemap::directions(m);
    }
});
