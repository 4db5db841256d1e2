//! # scenarios: the interleavings and guarantees, the checkers, and rcu-check
//!
//! * [`bench`]: what each version costs on real threads (`rcu-check bench`);
//! * [`harness`]: run one program under loom, shuttle or std; classify, time
//!   and replay failures;
//! * [`capture`] and [`render`]: counterexamples as thread-column tables;
//! * [`catalog`]: the scenario library (one family per module);
//! * [`cell`]: one scenario × version × checker, with its expectation;
//! * [`program`]: generated thread programs (proptest) and their interpreter;
//! * [`proofs`]: proofs.md ↔ code consistency;
//! * the `rcu-check` binary (src/bin/rcu-check.rs).
#![allow(clippy::disallowed_types)]

pub mod bench;
pub mod capture;
pub mod catalog;
pub mod cell;
pub mod harness;
pub mod litmus;
pub mod matrix;
pub mod mutants;
pub mod program;
pub mod proofs;
pub mod quiet;
pub mod rcutorture;
pub mod render;
pub mod review;
