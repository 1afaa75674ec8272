//! The `exec` hook: a command of the user's choosing, run for each alert
//! state change with the change as one JSON object on stdin. It runs as an
//! argv list, with no shell between, on tasks of its own, so a slow or
//! hung command never holds up the screen or the pipeline: each run has a
//! timeout after which it is killed, at most `max_running` run at once,
//! and past `max_waiting` more, runs are dropped and counted. Every failure
//! is logged; none stops vigil.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Most of a failing command's stderr kept for the log.
const STDERR_KEPT: u64 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOptions {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// A run still going after this long is killed.
    pub timeout: Duration,
    pub max_running: usize,
    /// Runs waiting for a free slot at most; more are dropped.
    pub max_waiting: usize,
}

/// How one run ended.
#[derive(Debug)]
pub enum Outcome {
    Exited(ExitStatus),
    /// The program could not be started (or its stdin not written).
    Failed(std::io::Error),
    TimedOut,
}

/// A handle to submit runs through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Hook {
    opts: Arc<HookOptions>,
    slots: Arc<Semaphore>,
    /// Runs submitted and not yet finished, running or waiting.
    in_flight: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    runtime: tokio::runtime::Handle,
}

impl Hook {
    /// A hook running on the current tokio runtime; `None` with no program
    /// or outside a runtime.
    pub fn new(opts: HookOptions) -> Option<Hook> {
        if opts.argv.first().is_none_or(|p| p.is_empty()) {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(Hook {
            slots: Arc::new(Semaphore::new(opts.max_running.max(1))),
            opts: Arc::new(opts),
            in_flight: Arc::default(),
            dropped: Arc::default(),
            runtime,
        })
    }

    /// Starts (or queues) one run with `input` on stdin. `None` when the
    /// queue is full and the run was dropped.
    pub fn submit(&self, input: Vec<u8>) -> Option<JoinHandle<Outcome>> {
        let cap = self.opts.max_running.max(1) + self.opts.max_waiting;
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= cap {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(dropped, cap, "exec hook busy: a run was dropped");
            return None;
        }
        let (opts, slots, in_flight) = (self.opts.clone(), self.slots.clone(), self.in_flight.clone());
        Some(self.runtime.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _slot = slots.acquire().await;
            let outcome = run_once(&opts.argv, &input, opts.timeout).await;
            in_flight.fetch_sub(1, Ordering::AcqRel);
            outcome
        }))
    }

    /// Runs dropped so far because too many were in flight.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Runs the command once, `input` on its stdin, killed after `timeout`.
pub async fn run_once(argv: &[String], input: &[u8], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Failed(std::io::Error::other("no program"));
    };
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Dropped at the timeout, the child is killed with it.
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(program = %program, error = %e, "exec hook cannot start");
            return Outcome::Failed(e);
        }
    };
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let run = async {
        let feed = async {
            if let Some(mut s) = stdin.take() {
                s.write_all(input).await?;
                s.shutdown().await?;
            }
            Ok::<(), std::io::Error>(())
        };
        let mut said = Vec::new();
        let listen = async {
            if let Some(e) = stderr.as_mut() {
                let _ = e.take(STDERR_KEPT).read_to_end(&mut said).await;
            }
        };
        let (fed, (), status) = tokio::join!(feed, listen, child.wait());
        (fed, status, said)
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            tracing::warn!(program = %program, ?timeout, "exec hook timed out and was killed");
            Outcome::TimedOut
        }
        Ok((_, Err(e), _)) => {
            tracing::warn!(program = %program, error = %e, "exec hook: cannot wait for it");
            Outcome::Failed(e)
        }
        Ok((fed, Ok(status), said)) => {
            let said = String::from_utf8_lossy(&said);
            let said = said.trim();
            if !status.success() {
                tracing::warn!(program = %program, %status, stderr = %said, "exec hook failed");
            } else if let Err(e) = fed {
                // A command that exits well without reading its input is
                // its own business; worth a note, not a warning.
                tracing::debug!(program = %program, error = %e, "exec hook did not read its input");
            } else {
                tracing::debug!(program = %program, "exec hook ran");
            }
            Outcome::Exited(status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    fn opts(words: &[&str], timeout: Duration, max_running: usize, max_waiting: usize) -> HookOptions {
        HookOptions { argv: argv(words), timeout, max_running, max_waiting }
    }

    fn out_file(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("vigil-hook-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[tokio::test]
    async fn the_command_reads_the_change_on_stdin() {
        let file = out_file("stdin");
        let path = file.to_str().unwrap();
        let hook = Hook::new(opts(&["sh", "-c", "cat > \"$1\"", "sh", path], Duration::from_secs(20), 2, 8)).unwrap();
        let input = br#"{"id":"rule:x","state":"firing"}"#.to_vec();
        let outcome = hook.submit(input.clone()).unwrap().await.unwrap();
        assert!(matches!(outcome, Outcome::Exited(s) if s.success()), "{outcome:?}");
        assert_eq!(std::fs::read(&file).unwrap(), input);
        std::fs::remove_file(&file).unwrap();
    }

    #[tokio::test]
    async fn failures_are_reported_not_raised() {
        let missing = run_once(&argv(&["/nonexistent/vigil-hook"]), b"{}", Duration::from_secs(5)).await;
        assert!(matches!(missing, Outcome::Failed(_)), "{missing:?}");
        let failing = run_once(&argv(&["sh", "-c", "echo broken >&2; exit 3"]), b"{}", Duration::from_secs(20)).await;
        assert!(matches!(failing, Outcome::Exited(s) if s.code() == Some(3)), "{failing:?}");
        // A command that ignores its input still counts as a good run.
        let deaf = run_once(&argv(&["true"]), &vec![b'x'; 1 << 20], Duration::from_secs(20)).await;
        assert!(matches!(deaf, Outcome::Exited(s) if s.success()), "{deaf:?}");
        assert!(Hook::new(opts(&[], Duration::from_secs(1), 1, 1)).is_none());
    }

    #[tokio::test]
    async fn a_hung_command_is_killed_at_the_timeout() {
        let outcome = run_once(&argv(&["sleep", "60"]), b"{}", Duration::from_millis(200)).await;
        assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
    }

    #[tokio::test]
    async fn runs_past_the_cap_are_dropped_and_counted() {
        let hook = Hook::new(opts(&["sleep", "60"], Duration::from_secs(120), 1, 1)).unwrap();
        let running = hook.submit(b"1".to_vec()).expect("a free slot");
        let waiting = hook.submit(b"2".to_vec()).expect("room in the queue");
        assert!(hook.submit(b"3".to_vec()).is_none());
        assert!(hook.submit(b"4".to_vec()).is_none());
        assert_eq!(hook.dropped(), 2);
        // Aborting drops the children, which kills them.
        running.abort();
        waiting.abort();
    }
}
