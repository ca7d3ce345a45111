//! Golden bytes of every layout, pinned by snapshots: a hexdump plus the fields decoded by hand.

use sparse_index::{Format, SparseIndex};

fn sample() -> SparseIndex {
    let mut index = SparseIndex::new();
    index.add(b"apple", 0).unwrap();
    index.add(b"apricot", 4096).unwrap();
    index.add(b"banana", 8200).unwrap();
    index.set_data_end(12_000).unwrap();
    index
}

fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:04x}  {:<47}  {text}\n",
            row * 16,
            hex.join(" ")
        ));
    }
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Decodes the frame independently of the crate.
fn fields(bytes: &[u8]) -> String {
    let t = bytes.len() - 28;
    let (n, body_len) = (u32_at(bytes, t) as usize, u32_at(bytes, t + 4) as usize);
    let interval = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
    let slots = if bytes[4] != 2 {
        n
    } else {
        n.div_ceil(interval)
    };
    let offsets: Vec<u64> = (0..slots)
        .map(|i| u64_at(bytes, 8 + body_len + 8 * i))
        .collect();
    let ends: Vec<u32> = (0..slots)
        .map(|i| u32_at(bytes, 8 + body_len + 8 * slots + 4 * i))
        .collect();
    // v1: a head per key; v3: a head per 16 keys, after as many u32 group starts.
    let head_count = match bytes[4] {
        1 => n,
        3 => n.div_ceil(16),
        _ => 0,
    };
    let starts_at = 8 + body_len + 12 * slots;
    let group_starts: Vec<u32> = if bytes[4] == 3 {
        (0..head_count)
            .map(|g| u32_at(bytes, starts_at + 4 * g))
            .collect()
    } else {
        Vec::new()
    };
    let heads_at = starts_at + 4 * group_starts.len();
    let heads: Vec<String> = if head_count > 0 {
        (0..head_count)
            .map(|i| {
                String::from_utf8_lossy(&bytes[heads_at + 8 * i..heads_at + 8 * i + 8]).into_owned()
            })
            .collect()
    } else {
        Vec::new()
    };
    format!(
        "magic: {:?}\nversion: {}\nflags: {}\nreserved/restart interval: {}\nbody ({} bytes): {:?}\n\
         offsets: {offsets:?}\nends: {ends:?}\ngroup starts: {group_starts:?}\nheads: {heads:?}\nn: {n}\n\
         data_end: {}\nprefix_len: {}\n\
         crc32: {:#010x}\ntail magic: {:?}\n",
        String::from_utf8_lossy(&bytes[..4]),
        bytes[4],
        bytes[5],
        interval,
        body_len,
        String::from_utf8_lossy(&bytes[8..8 + body_len]),
        u64_at(bytes, t + 8),
        u32_at(bytes, t + 16),
        u32_at(bytes, t + 20),
        String::from_utf8_lossy(&bytes[t + 24..]),
    )
}

#[test]
fn v1_plain() {
    let bytes = sample().to_bytes_with(Format::Plain).unwrap();
    insta::assert_snapshot!(format!("{}\n{}", hexdump(&bytes), fields(&bytes)));
}

#[test]
fn v3_sampled() {
    let bytes = sample().to_bytes();
    insta::assert_snapshot!(format!("{}\n{}", hexdump(&bytes), fields(&bytes)));
}

#[test]
fn v3_two_groups() {
    // 17 keys: two groups, so two heads (keys 0 and 16), and no level above them.
    let mut index = SparseIndex::new();
    for i in 0..17u8 {
        index.add([b'a' + i], 16 * u64::from(i)).unwrap();
    }
    index.set_data_end(300).unwrap();
    let bytes = index.to_bytes_with(Format::Sampled).unwrap();
    insta::assert_snapshot!(format!("{}\n{}", hexdump(&bytes), fields(&bytes)));
}

#[test]
fn v1_empty() {
    let bytes = SparseIndex::new().to_bytes_with(Format::Plain).unwrap();
    insta::assert_snapshot!(format!("{}\n{}", hexdump(&bytes), fields(&bytes)));
}

#[test]
fn v2_prefix_compressed() {
    let bytes = sample()
        .to_bytes_with(Format::PrefixCompressed {
            restart_interval: 2.try_into().unwrap(),
        })
        .unwrap();
    insta::assert_snapshot!(format!("{}\n{}", hexdump(&bytes), fields(&bytes)));
}

#[test]
fn legacy() {
    insta::assert_snapshot!(hexdump(&sample().to_legacy_bytes()));
}
