//! Writes one synthetic phone photo (a gold ring on white paper) as a JPEG, for tests that
//! need a real file: `cargo run -p synth --example photo -- OUT.jpg [WIDTH HEIGHT]`.

use synth::{SceneSpec, generate};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: photo OUT.jpg [WIDTH HEIGHT]");
        return std::process::ExitCode::from(2);
    };
    let size = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let spec = SceneSpec::gold_ring(size(1, 1200), size(2, 900), 11);
    match std::fs::write(out, generate(&spec).jpeg) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {out}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
