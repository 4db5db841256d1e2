//! # rcu-core: QEMU's concurrency primitives on std, loom and shuttle
//!
//! The platform layer under the qrcu-check models.  Each primitive keeps
//! QEMU's name and semantics so that a model reads like the C it ports:
//!
//! * [`atomic`]: `qatomic_*` and `smp_mb*`, every ordered operation a [`site`];
//! * [`event`]: `QemuEvent` (futex state machine) and `qemu_event_timedwait`;
//! * [`sem`]: `QemuCond`, `QemuSemaphore` (`qemu_sem_timedwait` 0 / -1);
//! * [`mutex`]: `QemuMutex` (C-style lock/unlock), the BQL, and [`mutex::Guarded`]
//!   data that reports access without its lock;
//! * [`notifier`]: the `NotifierList` type;
//! * [`runtime`]: threads (`qemu_thread_create`), thread-locals, `g_usleep`,
//!   the run configuration and its diagnostics;
//! * [`futex`], [`timer`]: the emulated kernel futex and the model timer that
//!   makes timeouts a nondeterministic, replayable event;
//! * [`platform`]: the backends, chosen by *type* (`StdPlatform`,
//!   `LoomPlatform` with feature `loom`, `ShuttlePlatform` with feature
//!   `shuttle`); read its docs for what each checker can and cannot see.
//!
//! **Architecture invariant**: no model state in statics or in
//! `std::thread_local!`; everything lives in a [`runtime::Runtime`] that each
//! run (each loom execution) creates.  The only statics are immutable site
//! descriptors.
//!
//! Licence: LGPL-2.1-or-later, like the QEMU code the models port.

pub mod atomic;
pub mod event;
pub mod futex;
pub mod logic;
pub mod mutex;
pub mod notifier;
pub mod platform;
pub mod runtime;
pub mod sem;
pub mod site;
pub mod timer;

#[cfg(feature = "loom")]
pub use platform::LoomPlatform;
#[cfg(feature = "shuttle")]
pub use platform::ShuttlePlatform;
pub use platform::{Platform, StdPlatform};
