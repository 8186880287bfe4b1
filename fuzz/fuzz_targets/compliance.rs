//! The compliance checker reads untrusted bytes too (re-checks of stored outputs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < (16 << 20) {
        let report = imaging::compliance::check(imaging::Preset::Whatsapp, data);
        assert!(!report.rules.is_empty());
    }
});
