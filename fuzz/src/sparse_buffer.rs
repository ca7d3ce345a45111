//! SparseBuffer under any sequence of adds, removes and reads, against a model: one `Option<u8>` per byte.

use sparse_buffer::{ReadAt, SparseBuffer};

use crate::input::Input;

/// The `sparse_buffer` target.
pub fn sparse_buffer(data: &[u8]) {
    let mut input = Input::new(data);
    let size = input.u16() % 2048;
    let mut buffer = SparseBuffer::new(size);
    let mut model: Vec<Option<u8>> = vec![None; size as usize];
    let mut stamp = 0u8;
    while !input.is_empty() {
        let op = input.byte() % 6;
        let offset = input.u16() % (size + 16);
        let len = input.u16() % 600;
        match op {
            0 | 1 => {
                stamp = stamp.wrapping_add(1);
                let bytes: Vec<u8> = (0..len)
                    .map(|i| stamp.wrapping_mul(31).wrapping_add(i as u8))
                    .collect();
                let result = if op == 0 {
                    buffer.add_region(offset, bytes.clone())
                } else {
                    buffer.add_region_from_slice(offset, &bytes)
                };
                if len == 0 {
                    assert!(result.is_ok());
                } else if offset + len > size {
                    assert!(result.is_err(), "add past the end of the file must fail");
                } else {
                    result.expect("add inside the file");
                    for (i, b) in bytes.iter().enumerate() {
                        model[(offset as usize) + i] = Some(*b);
                    }
                }
            }
            2 => {
                let end = offset + len;
                let expected = (offset.min(size)..end.min(size))
                    .filter(|&i| model[i as usize].is_some())
                    .count();
                assert_eq!(buffer.remove(offset..end), expected as u64);
                for i in offset.min(size)..end.min(size) {
                    model[i as usize] = None;
                }
            }
            3 => {
                let mut out = vec![0u8; len as usize];
                match buffer.read_at(offset, &mut out) {
                    ReadAt::End => assert!(offset >= size),
                    ReadAt::Gap { next_cached } => {
                        assert!(offset < size && model[offset as usize].is_none());
                        let next = (offset..size).find(|&i| model[i as usize].is_some());
                        assert_eq!(next_cached, next);
                    }
                    ReadAt::Data(n) => {
                        assert!(offset < size);
                        let run = (offset..size)
                            .take_while(|&i| model[i as usize].is_some())
                            .count();
                        assert_eq!(n, run.min(len as usize), "read at {offset}");
                        for i in 0..n {
                            assert_eq!(Some(out[i]), model[offset as usize + i]);
                        }
                    }
                }
            }
            4 => {
                let found = buffer.find_region(offset, len);
                let all = offset <= size
                    && offset + len <= size
                    && (offset..offset + len).all(|i| model[i as usize].is_some());
                if len > 0 {
                    assert_eq!(found.is_some(), all, "find_region({offset}, {len})");
                    if let Some(found) = found {
                        for (i, b) in found.iter().enumerate() {
                            assert_eq!(Some(*b), model[offset as usize + i]);
                        }
                    }
                }
            }
            _ => {
                let end = offset + len;
                let missing = buffer.missing(offset..end);
                let mut expected = Vec::new();
                let mut i = offset;
                while i < end.min(size) {
                    if model[i as usize].is_none() {
                        let start = i;
                        while i < end.min(size) && model[i as usize].is_none() {
                            i += 1;
                        }
                        expected.push(start..i);
                    } else {
                        i += 1;
                    }
                }
                assert_eq!(missing, expected);
                assert_eq!(
                    buffer.contains(offset..end),
                    offset >= end || (end <= size && expected.is_empty())
                );
            }
        }
        let cached = model.iter().filter(|b| b.is_some()).count() as u64;
        assert_eq!(buffer.cached_bytes(), cached);
        let regions: Vec<_> = buffer.regions().collect();
        assert!(
            regions.windows(2).all(|w| w[0].end < w[1].start),
            "regions are sorted and never touch"
        );
        assert_eq!(regions.iter().map(|r| r.end - r.start).sum::<u64>(), cached);
    }
}
