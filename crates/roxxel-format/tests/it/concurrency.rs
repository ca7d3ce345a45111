//! Readers and a concurrent appender: open readers keep their bytes, new readers see a committed state.

use std::sync::atomic::{AtomicBool, Ordering};

use roxxel_format::{Dataset, WriterOptions};

use crate::common::{Rng, read_all, records, write};

fn check_concurrent_appends(sharded: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.rox");
    let opts = if sharded {
        WriterOptions::new().max_shard_bytes(50_000)
    } else {
        WriterOptions::new()
    };
    let spec = if sharded {
        dir.path().join("c_*.rox")
    } else {
        path.clone()
    };
    let initial = records(500, 300, 1);
    write(&path, &opts, &initial);
    let batches: Vec<Vec<Vec<u8>>> = (0..12).map(|b| records(300, 900, b as u8 + 2)).collect();
    // The committed states a reader may see: after 0, 1, 2, ... batches.
    let mut states = vec![initial.clone()];
    for b in &batches {
        let mut next = states.last().unwrap().clone();
        next.extend(b.iter().cloned());
        states.push(next);
    }

    let early = Dataset::open(&spec).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for b in &batches {
                write(&path, &opts, b);
            }
            done.store(true, Ordering::SeqCst);
        });
        let mut rng = Rng::new(7);
        let mut opens = 0;
        while !done.load(Ordering::SeqCst) || opens == 0 {
            // The dataset opened before the appends keeps returning exactly its records.
            for _ in 0..200 {
                let i = rng.below(initial.len() as u64);
                assert_eq!(early.get(i).unwrap(), initial[i as usize]);
            }
            // A dataset opened now is one of the committed states, never a mix or an error.
            let now = Dataset::open(&spec).expect("open during an append");
            let seen = read_all(&now);
            assert!(
                states.contains(&seen),
                "saw {} records, not a committed state",
                seen.len()
            );
            opens += 1;
        }
    });
    assert_eq!(read_all(&early), initial);
    assert_eq!(
        read_all(&Dataset::open(&spec).unwrap()),
        *states.last().unwrap()
    );
}

#[test]
fn single_file_appends_while_reading() {
    check_concurrent_appends(false);
}

#[test]
fn sharded_appends_while_reading() {
    check_concurrent_appends(true);
}
