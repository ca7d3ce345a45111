//! A roxxel shard image of any bytes: opening, reading records and verifying never panic, and a shard that
//! verifies hands out exactly its payload, record by record.

use roxxel_format::Shard;

/// The `roxxel_shard` target.
pub fn roxxel_shard(data: &[u8]) {
    let Ok(shard) = Shard::from_bytes(data, "fuzz.rox") else {
        return;
    };
    let len = shard.len();
    let _ = shard.dtype();
    let _ = shard.get(len);
    let _ = shard.get(u64::MAX);
    for i in [0, 1, len / 2, len.saturating_sub(1)] {
        let _ = shard.get(i);
    }
    let records: Vec<_> = shard.iter().take(100_000).collect();
    let verified = shard.verify();
    if verified.is_ok() {
        // A verified shard: every record reads, and together they are the payload.
        let mut joined = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let record = record
                .as_ref()
                .expect("a verified shard reads every record");
            assert_eq!(shard.get(i as u64).expect("verified"), *record);
            joined.extend_from_slice(record);
        }
        if records.len() as u64 == len {
            assert_eq!(joined, shard.raw_data());
        }
    }
    let _ = shard.raw_data_as::<u32>();
}
