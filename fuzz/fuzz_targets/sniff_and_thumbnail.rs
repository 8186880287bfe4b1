//! Sniffing and the upload path (decode → thumbnail) on hostile input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imaging::sniff(data);
    let limits = imaging::Limits { max_bytes: 8 << 20, max_pixels: 1_000_000 };
    if let Ok(d) = imaging::decode(data, &limits) {
        let _ = imaging::thumbnail(&d, 64, imaging::Format::Jpeg);
    }
});
