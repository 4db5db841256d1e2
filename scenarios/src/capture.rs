//! Counterexample capture: model code emits `tracing` events (target `rcu`,
//! fields `capture`, `tid`, `thread`, message) only when a run asks for it
//! (`RunConfig::capture != 0`); this layer keeps the events of the active
//! capture, one execution at a time.
//!
//! One global subscriber is installed once per process ([`install`]) and stays
//! interested in the `rcu` target, so that a callsite first hit by a thread
//! with no capture running is not cached as uninteresting (tokio-rs/tracing#3611).
//! `RCU_LOG=<filter>` additionally prints events live (fmt layer).
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// One captured step.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceLine {
    /// Thread index (0 = the run's main thread).
    pub tid: usize,
    /// Thread name.
    pub thread: String,
    /// What happened, in QEMU's terms.
    pub text: String,
}

static ACTIVE: AtomicU64 = AtomicU64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static BUF: Mutex<Vec<TraceLine>> = Mutex::new(Vec::new());
static EXCLUSIVE: Mutex<()> = Mutex::new(());

struct CaptureLayer;

#[derive(Default)]
struct Fields {
    capture: u64,
    tid: u64,
    thread: String,
    message: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "capture" => self.capture = value,
            "tid" => self.tid = value,
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "thread" => self.thread = value.to_string(),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "thread" => {
                self.thread.clear();
                let _ = write!(self.thread, "{value:?}");
            }
            "message" => {
                self.message.clear();
                let _ = write!(self.message, "{value:?}");
            }
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Only our events and loom's end-of-exploration notice: loom's own
        // per-operation `trace!` calls stay on tracing's cheap disabled path.
        if meta.target() == "rcu" || meta.target() == "loom::model" {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        meta.target() == "rcu" || meta.target() == "loom::model"
    }
    fn on_event(&self, ev: &Event<'_>, _: Context<'_, S>) {
        if ev.metadata().target() == "loom::model" {
            // loom reports the end of a complete exploration this way.
            let mut f = Fields::default();
            ev.record(&mut f);
            if f.message.starts_with("Completed in") {
                crate::harness::note_loom_completed();
            }
            return;
        }
        if ev.metadata().target() != "rcu" {
            return;
        }
        let active = ACTIVE.load(Ordering::Relaxed);
        if active == 0 {
            return;
        }
        let mut f = Fields::default();
        ev.record(&mut f);
        if f.capture != active {
            return;
        }
        BUF.lock().unwrap().push(TraceLine { tid: f.tid as usize, thread: f.thread, text: f.message });
    }
}

/// Install the process-wide subscriber (idempotent).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fmt = std::env::var("RCU_LOG").ok().map(|filter| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_filter(tracing_subscriber::EnvFilter::new(filter))
        });
        let _ = tracing_subscriber::registry().with(CaptureLayer).with(fmt).try_init();
    });
}

/// An active capture.  Only one exists at a time in a process; creating a
/// second one waits for the first to end.
pub struct Capture {
    id: u64,
    _excl: MutexGuard<'static, ()>,
}

impl Capture {
    /// Start capturing; returns the ID to put in `RunConfig::capture`.
    pub fn begin() -> Capture {
        install();
        let excl = EXCLUSIVE.lock().unwrap_or_else(|e| e.into_inner());
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        BUF.lock().unwrap().clear();
        ACTIVE.store(id, Ordering::Relaxed);
        Capture { id, _excl: excl }
    }

    /// The capture ID.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Forget what was captured so far (called at the start of each execution).
    pub fn clear(id: u64) {
        if ACTIVE.load(Ordering::Relaxed) == id {
            BUF.lock().unwrap().clear();
        }
    }

    /// The lines captured since the last [`Capture::clear`].
    pub fn lines(&self) -> Vec<TraceLine> {
        BUF.lock().unwrap().clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        ACTIVE.store(0, Ordering::Relaxed);
        BUF.lock().unwrap().clear();
    }
}
