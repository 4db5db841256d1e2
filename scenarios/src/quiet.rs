//! Keep the checkers' own failure banners off the terminal.
//!
//! shuttle 0.9.9 prints `test panicked in task '…'` and `Test deadlocked, and
//! SHUTTLE_CAPTURE_BACKTRACE is not set…` to stderr for every failing
//! execution, whatever the configuration; rcu-check reports those failures
//! itself.  [`filter_stderr`] routes file descriptor 2 through a pipe and a
//! thread that drops exactly those lines and forwards everything else.

use std::fs::File;

/// Lines the checkers print that rcu-check reports in its own words.
const NOISE: &[&str] =
    &["test panicked in task '", "Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE", "Task failed, serializing schedule"];

/// Whether a stderr line is checker noise.
pub fn is_noise(line: &str) -> bool {
    NOISE.iter().any(|n| line.starts_with(n))
}

/// An installed filter.  [`StderrFilter::finish`] restores fd 2 and waits
/// until every forwarded line is out.
pub struct StderrFilter {
    orig: File,
    #[cfg(unix)]
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StderrFilter {
    /// The original stderr, for output that must not pass through the filter
    /// (progress lines without a newline, the final error line).
    pub fn orig(&self) -> &File {
        &self.orig
    }

    /// Restore fd 2 and flush what the filter still holds.
    pub fn finish(mut self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: dup2 onto fd 2 of a descriptor we own; closing the
            // pipe's last writer lets the thread see end-of-file.
            unsafe {
                libc::dup2(self.orig.as_raw_fd(), 2);
            }
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Install the filter, or `None` if the platform or the process state does
/// not allow it (then nothing changes).
#[cfg(unix)]
pub fn filter_stderr() -> Option<StderrFilter> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::FromRawFd;

    // SAFETY: plain POSIX calls on file descriptors this function owns; every
    // return value is checked before the descriptor is used.
    unsafe {
        let orig = libc::dup(2);
        if orig < 0 {
            return None;
        }
        let fwd_fd = libc::dup(orig);
        if fwd_fd < 0 {
            libc::close(orig);
            return None;
        }
        let mut fds = [0; 2];
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            libc::close(orig);
            libc::close(fwd_fd);
            return None;
        }
        if libc::dup2(fds[1], 2) < 0 {
            libc::close(orig);
            libc::close(fwd_fd);
            libc::close(fds[0]);
            libc::close(fds[1]);
            return None;
        }
        libc::close(fds[1]);
        let reader = File::from_raw_fd(fds[0]);
        let mut fwd = File::from_raw_fd(fwd_fd);
        let thread = std::thread::Builder::new()
            .name("stderr-filter".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    if !is_noise(&line) {
                        let _ = writeln!(fwd, "{line}");
                    }
                }
            })
            .ok();
        Some(StderrFilter { orig: File::from_raw_fd(orig), thread })
    }
}

/// Not available off unix: stderr is left as it is.
#[cfg(not(unix))]
pub fn filter_stderr() -> Option<StderrFilter> {
    None
}
