//! What the layer logs: a `tracing` subscriber for the current thread that keeps every
//! `socialauth` event as text, for tests that check the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing::Dispatch;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The log text so far; capturing stops when this is dropped.
pub struct CapturedLogs {
    buffer: Buffer,
    _default: DefaultGuard,
    _second: Dispatch,
}

/// Captures every `socialauth` event (all levels) logged on this thread from now on.
pub fn capture() -> CapturedLogs {
    capture_with(FmtSpan::NONE)
}

/// [`capture`], and every `socialauth` span too: a line when it opens and one when it
/// closes, with all its fields (those recorded after it opened included).
#[allow(
    dead_code,
    reason = "only tests/observability.rs, a binary of its own, reads spans"
)]
pub fn capture_with_spans() -> CapturedLogs {
    capture_with(FmtSpan::NEW | FmtSpan::CLOSE)
}

fn capture_with(spans: FmtSpan) -> CapturedLogs {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_target("socialauth", tracing::Level::TRACE),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(buffer.clone())
                .with_span_events(spans)
                .with_ansi(false),
        );
    // With a single live dispatcher, tracing-core (0.1.36) computes the interest of a
    // callsite first hit on another test's thread from that thread's default, caches
    // "never", and this test misses the event. A second live dispatcher avoids that path.
    let second = Dispatch::new(tracing::subscriber::NoSubscriber::default());
    CapturedLogs {
        _default: tracing::subscriber::set_default(subscriber),
        _second: second,
        buffer,
    }
}

impl CapturedLogs {
    pub fn text(&self) -> String {
        let bytes = self.buffer.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
