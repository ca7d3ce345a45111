//! Writes the seed corpora under `fuzz/seeds/<target>/`: small valid files of every kind each decoder reads, and a
//! few operation scripts for the sequence targets. Run by `cargo xtask fuzz --seeds` (or `cargo run --example
//! make_seeds` in `fuzz/`); the output is deterministic and committed.

use std::fs;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};

use mapbuffer::{Codec, FormatVersion, IntMap, MapBufferBuilder};
use roxxel_format::{Dtype, FooterKind, WriterOptions};
use sparse_index::{Format, SparseIndex};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

/// A seed shard: file name, footer, dtype, records.
type ShardCase = (&'static str, FooterKind, Option<&'static str>, Vec<Vec<u8>>);

fn roxxel(out: &Path) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cases: [ShardCase; 4] = [
        ("empty01", FooterKind::Roxxel01, None, vec![]),
        (
            "three01",
            FooterKind::Roxxel01,
            None,
            vec![b"a".to_vec(), b"".to_vec(), b"hello".to_vec()],
        ),
        (
            "three02",
            FooterKind::Roxxel02,
            None,
            vec![b"x".to_vec(), b"yz".to_vec(), b"".to_vec()],
        ),
        (
            "u16_02",
            FooterKind::Roxxel02,
            Some("uint16"),
            (0u16..6).map(|t| t.to_le_bytes().to_vec()).collect(),
        ),
    ];
    for (name, footer, dtype, records) in cases {
        let path = tmp.path().join(format!("{name}.rox"));
        let mut options = WriterOptions::new().footer(footer);
        if let Some(dtype) = dtype {
            options = options.dtype(Dtype::new(dtype)?);
        }
        let mut writer = options.open(&path)?;
        for record in &records {
            writer.push(record)?;
        }
        writer.finish()?;
        save(
            &out.join("roxxel_shard"),
            &format!("{name}.rox"),
            &fs::read(&path)?,
        )?;
    }
    Ok(())
}

fn mapbuffer(out: &Path) -> Result<()> {
    let entries: [(u64, &[u8]); 4] = [
        (1, b"one"),
        (7, b""),
        (300, b"three hundred"),
        (u64::MAX, b"max"),
    ];
    for codec in Codec::ALL {
        for version in [FormatVersion::V0, FormatVersion::V1] {
            let bytes = MapBufferBuilder::new()
                .codec(codec)
                .format_version(version)
                .to_vec(entries)?;
            save(
                &out.join("mapbuffer"),
                &format!("{codec:?}_{version:?}.mb").to_lowercase(),
                &bytes,
            )?;
        }
    }
    let empty = MapBufferBuilder::new().to_vec(std::iter::empty::<(u64, &[u8])>())?;
    save(&out.join("mapbuffer"), "empty.mb", &empty)?;
    let intmap = IntMap::<Vec<u8>>::build([(3, 30), (1, 10), (2, 20), (u64::MAX, 0)])?;
    save(&out.join("intmap"), "four.im", &intmap)?;
    save(
        &out.join("intmap"),
        "empty.im",
        &IntMap::<Vec<u8>>::build([])?,
    )?;
    Ok(())
}

fn sparse_index(out: &Path) -> Result<()> {
    let mut index = SparseIndex::new();
    for (i, key) in [
        "apple",
        "apricot",
        "banana",
        "cherry",
        "cherry pie",
        "melon",
        "zz",
    ]
    .iter()
    .enumerate()
    {
        index.add(key, i as u64 * 4096)?;
    }
    let dir = out.join("sparse_index");
    save(&dir, "v1_no_end.spx", &index.to_bytes_with(Format::Plain)?)?;
    save(&dir, "v3_no_end.spx", &index.to_bytes())?;
    save(&dir, "legacy.spx", &index.to_legacy_bytes())?;
    index.set_data_end(40_000)?;
    save(&dir, "v1.spx", &index.to_bytes_with(Format::Plain)?)?;
    save(&dir, "v3.spx", &index.to_bytes())?;
    for restart in [1u16, 3, 16] {
        let format = Format::PrefixCompressed {
            restart_interval: NonZeroU16::new(restart).ok_or("zero")?,
        };
        save(
            &dir,
            &format!("v2_r{restart}.spx"),
            &index.to_bytes_with(format)?,
        )?;
    }
    save(
        &dir,
        "empty_v1.spx",
        &SparseIndex::new().to_bytes_with(Format::Plain)?,
    )?;
    save(&dir, "empty_v3.spx", &SparseIndex::new().to_bytes())?;
    save(
        &dir,
        "empty_legacy.spx",
        &SparseIndex::new().to_legacy_bytes(),
    )?;
    Ok(())
}

/// Operation scripts: a header then operations; any bytes are valid, these just start somewhere useful.
fn scripts(out: &Path) -> Result<()> {
    let pattern = |len: usize, seed: u8| -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(i as u8 >> 3))
            .collect()
    };
    for target in ["sparse_buffer", "range_reader", "stream_buffer"] {
        let dir = out.join(target);
        for (i, seed) in [3u8, 17, 101].into_iter().enumerate() {
            save(&dir, &format!("script{i}"), &pattern(64 + 96 * i, seed))?;
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let out: PathBuf = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"),
        PathBuf::from,
    );
    roxxel(&out)?;
    mapbuffer(&out)?;
    sparse_index(&out)?;
    scripts(&out)?;
    println!("seeds written to {}", out.display());
    Ok(())
}
