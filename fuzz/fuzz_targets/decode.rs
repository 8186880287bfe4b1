//! Any byte string must decode or fail with a stable code: never panic, never
//! allocate past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = imaging::Limits { max_bytes: 8 << 20, max_pixels: 4_000_000 };
    match imaging::decode(data, &limits) {
        Ok(d) => {
            assert_eq!((d.width, d.height), d.rgb.dimensions());
            assert!(u64::from(d.width) * u64::from(d.height) <= limits.max_pixels);
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
});
