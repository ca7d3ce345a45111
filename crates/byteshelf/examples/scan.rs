//! The Rust half of the Python benchmark's sequential-pass row (`cargo xtask bench-python`): a full pass over a
//! Roxxel dataset in Rust, on the same file the Python classes read, in the same run.
//!
//! ```text
//! scan PATH [REPEAT]
//! ```
//!
//! Each pass walks every record in order (`for record in &dataset`) and copies it out of the map into a reused
//! buffer, so every byte is read, as Python's `for r in ds: bytes(r)` does. Prints one JSON line: the records,
//! their bytes, and the best pass of `REPEAT` (3) in seconds.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use byteshelf::roxxel::Dataset;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: scan PATH [REPEAT]")?;
    let repeat: u32 = args
        .next()
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(3);
    let dataset = Dataset::open(std::path::Path::new(&path))?;
    let mut best = f64::INFINITY;
    let mut bytes = 0u64;
    let mut buffer = Vec::new();
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        bytes = 0;
        for record in &dataset {
            let record = record?;
            buffer.clear();
            buffer.extend_from_slice(record);
            bytes += black_box(&buffer).len() as u64;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{{\"records\": {}, \"bytes\": {bytes}, \"seconds\": {best:.9}}}",
        dataset.len()
    );
    Ok(())
}
