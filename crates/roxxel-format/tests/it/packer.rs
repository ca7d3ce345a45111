//! BlockPacker + Writer against files written by Python roxxel 0.9.14's `write()` (the hex below was produced by
//! roxxel 0.9.14 itself; `cargo xtask conformance roxxel-format` re-checks larger cases against the live package).

use roxxel_format::{BlockPacker, Dtype, WriterOptions};

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn packed(items: &[&[u8]], block: usize, separator: &[u8], dtype: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.rox");
    let mut writer = WriterOptions::new()
        .dtype(Dtype::new(dtype).unwrap())
        .open(&path)
        .unwrap();
    let mut packer = BlockPacker::new(block).unwrap().separator(separator);
    for item in items {
        packer.push_to(item, &mut writer).unwrap();
    }
    packer.finish_to(&mut writer).unwrap();
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

#[test]
fn nul_padding_without_separator() {
    // Roxxel("g1.rox").write(iter([b"hello", b"", b"wo", b"rld!"]), block_size=4)
    let want = unhex(
        "68656c6c6f776f726c642100040000000000000008000000000000000c0000000000000003000000000000000c00000000\
         00000075696e7438000000524f5858454c3032",
    );
    assert_eq!(
        packed(&[b"hello", b"", b"wo", b"rld!"], 4, b"", "uint8"),
        want
    );
}

#[test]
fn separator_after_every_item_and_as_padding() {
    // Roxxel("g2.rox").write(iter(["h\u00e9llo", b"ab", bytearray(b"xyz")]), separator=b"\xff\xfe", block_size=5)
    let want = unhex(
        "68c3a96c6c6ffffe6162fffe78797afffefffeff05000000000000000a000000000000000f0000000000000014000000\
         000000000400000000000000140000000000000075696e7438000000524f5858454c3032",
    );
    let items: [&[u8]; 3] = ["h\u{e9}llo".as_bytes(), b"ab", b"xyz"];
    assert_eq!(packed(&items, 5, b"\xff\xfe", "uint8"), want);
}

#[test]
fn int32_arrays_record_their_dtype() {
    // Roxxel("g3.rox").write(iter([np.arange(i, i + 5, dtype=np.int32) for i in range(3)]), block_size=16)
    let want = unhex(
        "0000000001000000020000000300000004000000010000000200000003000000040000000500000002000000030000000400\
         0000050000000600000000000000100000000000000020000000000000003000000000000000400000000000000004000000\
         00000000400000000000000069\
         6e743332000000524f5858454c3032",
    );
    let items: Vec<Vec<u8>> = (0..3i32)
        .map(|i| (i..i + 5).flat_map(i32::to_le_bytes).collect())
        .collect();
    let items: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    assert_eq!(packed(&items, 16, b"", "int32"), want);
}

#[test]
fn empty_separator_is_no_separator() {
    // Roxxel("g4.rox").write(iter([b"abc", b"de"]), separator=b"", block_size=4)
    let want = unhex(
        "6162636465000000040000000000000008000000000000000200000000000000080000000000000075696e7438000000524f\
         5858454c3032",
    );
    assert_eq!(packed(&[b"abc", b"de"], 4, b"", "uint8"), want);
}
