//! # cfront: QEMU's own C, checked under loom, shuttle and real threads
//!
//! The foundation of issue 11: C source is compiled to LLVM IR with Debian's
//! `clang-14 -O2 -g` ([`compile`]), read with the `llvm-ir` crate over LLVM 14
//! ([`Program::load`]), and interpreted by an interpreter that is generic over
//! rcu-core's [`Platform`](rcu_core::Platform) ([`run`]): the same IR runs as a
//! loom model (exhaustive C11 exploration), a shuttle test (sampled schedules,
//! sequentially consistent) or on real threads.
//!
//! * **Why `-O2`**: it is how QEMU builds.  The IR is what the compiler may
//!   legally make of the C, so reorderings, merges and eliminations of *plain*
//!   accesses that the optimiser performs are checked as performed.  Atomic
//!   accesses and fences keep their C11 orderings in the IR.
//! * **Orderings** come from the textual `.ll` ([`text`]), cross-checked with the
//!   C API, because LLVM 14's C API reports `fence seq_cst` as not atomic.
//! * **Memory, races, frees**: see [`exec`].  Under loom a plain write that is
//!   unordered with another access to the same location is a data race
//!   ("Causality violation"); a use after free, a double free and a failed
//!   `assert()` fail the execution with a `cfront: [kind] … at file:line` message.
//! * **Environment**: `include/cfront.h` (`cfront_observe`, `cfront_yield`),
//!   plus `malloc`/`calloc`/`free`, `pthread_create`/`pthread_join`,
//!   `pthread_mutex_{init,lock,unlock,destroy}`, `pthread_exit`,
//!   `syscall(SYS_futex)` (wait, wait-bitset with a deadline, wake), `errno`,
//!   `clock_gettime`/`gettimeofday` (standing still under loom and shuttle),
//!   `sched_yield`, `g_usleep`/`usleep`, `abort`, `assert`, and for a Rust
//!   harness `cfront_thread_create`, `cfront_callback`, `cfront_notify`
//!   ([`Instance`]).  Any other external function fails when
//!   called; every IR construct the interpreter does not support is listed by
//!   [`Program::unsupported`] and fails, naming itself and its C `file:line`,
//!   when executed.
//!
//! * **A QEMU tree as a version**: [`qemu`] ([`CTree::load`], [`CRcu`]).
//! * **The same tree compiled natively** (real threads, real futexes, no
//!   interpreter): [`native`] ([`CTree::native`], [`NativeRcu`]).
//!
//! Modelling choices that are not errors (each is exact for C compiled by
//! clang, or a documented over-approximation):
//! * `llvm.dbg.*`, `llvm.lifetime.*`, `llvm.assume`, noalias scope
//!   declarations, `fence syncscope("singlethread")` (`atomic_signal_fence`)
//!   and an inline `asm` with an empty template and no operands (QEMU's
//!   `barrier()`) do nothing: they constrain only the compiler, and the IR
//!   is already compiled;
//! * `unordered` atomics run as `monotonic` (Relaxed); `volatile` non-atomic
//!   accesses are plain accesses (race-checked);
//! * `cmpxchg weak` never fails spuriously (a subset of its behaviours);
//! * `undef` and `poison` constants are 0; an over-wide shift gives 0;
//! * `malloc`ed memory starts as zeros.
//!
//! What loom can and cannot see applies unchanged (rcu-core's platform docs):
//! a SeqCst *access* is treated as AcqRel, `fence(SeqCst)` is modelled, load
//! buffering is never produced, at most 5 threads including main.  `cmpxchg
//! weak` is run as a strong compare-exchange (no spurious failure).
//!
//! Licence: LGPL-2.1-or-later.  The C under `tests/c/` is the project's own.

pub mod compile;
pub mod exec;
pub mod native;
pub mod program;
pub mod qemu;
pub mod text;

pub use compile::{compile, compile_and_link, find_clang, find_clang_in, CLANG_MISSING};
pub use exec::{run, run_with, Event, FuncId, Instance, Options, Outcome, View, Watch};
pub use native::{NativeLib, NativeRcu};
pub use program::{AtomicOp, CSite, Program};
pub use qemu::{CRcu, CTree};
pub use text::TextOrdering;

/// A one-line error about the input (C file, IR, toolchain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub(crate) fn new(s: String) -> Self {
        // One line, always.
        Error(s.lines().next().unwrap_or("").to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
