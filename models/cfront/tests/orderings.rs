//! Every memory ordering is read correctly, fences included.
//!
//! LLVM 14's C API (`LLVMGetOrdering`, through llvm-ir) does not answer for
//! fences; the loader reads orderings from the `.ll` text instead
//! (src/text.rs).  These tests compile C whose orderings are known and compare.
//! SPDX-License-Identifier: LGPL-2.1-or-later

mod common;

use cfront::TextOrdering::{self, *};

fn ops(f: &str) -> Vec<(String, TextOrdering, Option<TextOrdering>, bool)> {
    let p = common::program("fences", &[]);
    p.atomic_ops(f)
        .iter()
        .filter(|o| !(f == "fences" && o.opcode == "store")) // the separators
        .map(|o| (o.opcode.clone(), o.ordering, o.failure, o.single_thread))
        .collect()
}

fn op(opcode: &str, o: TextOrdering) -> (String, TextOrdering, Option<TextOrdering>, bool) {
    (opcode.to_string(), o, None, false)
}

#[test]
fn every_fence_ordering_is_read_correctly() {
    assert_eq!(
        ops("fences"),
        vec![
            op("fence", Acquire),
            op("fence", Release),
            op("fence", AcqRel),
            op("fence", SeqCst),
            ("fence".to_string(), SeqCst, None, true), // atomic_signal_fence
            op("fence", SeqCst),                       // __atomic_thread_fence(__ATOMIC_SEQ_CST)
            op("fence", Acquire),                      // memory_order_consume is promoted to acquire
        ]
    );
}

#[test]
fn every_access_ordering_is_read_correctly() {
    let mut want = vec![
        op("store", Monotonic),
        op("store", Release),
        op("store", SeqCst),
        op("load", Monotonic),
        op("load", Acquire),
        op("load", SeqCst),
        op("atomicrmw", Monotonic),
        op("atomicrmw", AcqRel),
        op("atomicrmw", SeqCst),
    ];
    want.push(("cmpxchg".to_string(), AcqRel, Some(Acquire), false));
    assert_eq!(ops("accesses"), want);
}

/// The pitfall itself (c-frontend-notes.md): the C API gets *every* fence
/// ordering wrong, so trusting it would have turned `smp_mb()` into no fence.  If
/// this fails, LLVM's C API was fixed: the text reader is still right, but
/// update the notes.
#[test]
fn the_llvm14_c_api_misreads_fences() {
    let p = common::program("fences", &[]);
    let fences: Vec<_> = p.atomic_ops("fences").iter().filter(|o| o.opcode == "fence").collect();
    let api: Vec<Option<TextOrdering>> = fences.iter().map(|o| o.api_ordering).collect();
    let text: Vec<Option<TextOrdering>> = fences.iter().map(|o| Some(o.ordering)).collect();
    assert_ne!(api, text, "the C API now reads fences right");
    // Measured: acquire and release come back as monotonic, acq_rel and
    // seq_cst as not atomic at all.
    assert_eq!(api, vec![Some(Monotonic), Some(Monotonic), None, None, None, None, Some(Monotonic)]);
    // Accesses: the C API and the text agree (the loader refuses to load otherwise).
    for o in p.atomic_ops("accesses") {
        assert_eq!(o.api_ordering, Some(o.ordering), "{o:?}");
    }
}
