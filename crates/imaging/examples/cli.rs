//! The `process` and `bench-engine` commands of the `soraipixel` binary, built
//! alone (no web stack): `cargo run --release -p imaging --example cli -- process photo.jpg -o out.jpg`.

#[path = "../../soraipixel/src/bench.rs"]
mod bench;
#[path = "../../soraipixel/src/process.rs"]
mod process;
#[path = "../../soraipixel/src/rendered_bench.rs"]
mod rendered_bench;

use clap::Parser;

#[derive(Parser, Debug)]
enum Cli {
    /// Finished catalogue images or cutouts from photos.
    Process(process::ProcessArgs),
    /// Matte quality and speed benchmark on synthetic scenes.
    BenchEngine(bench::BenchArgs),
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    match Cli::parse() {
        Cli::Process(a) => process::run(a),
        Cli::BenchEngine(a) => bench::run(a).map(|()| std::process::ExitCode::SUCCESS),
    }
}
