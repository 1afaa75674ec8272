//! The dashboard in a real pseudo-terminal from its first moment: the first
//! frame goes on screen before the slow parts of the start-up are done.
//!
//! The slow part held back here is reading the platform's certificates:
//! `SSL_CERT_FILE` names a FIFO nobody writes to, so that read waits until
//! the test lets it go. Every wait is on what the screen shows, with a
//! generous deadline; nothing is timed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const COLS: u16 = 160;
const ROWS: u16 = 48;

/// vigil running in a pty of its own, and the screen its output draws.
struct Session {
    child: Child,
    master: std::fs::File,
    output: mpsc::Receiver<Vec<u8>>,
    screen: vt100::Parser,
    raw: Vec<u8>,
}

impl Session {
    /// Starts vigil with `args` in a fresh COLS x ROWS pty, with a home,
    /// config and cache of its own under `dir`.
    fn start(args: &[&str], dir: &Path, extra_env: &[(&str, &Path)]) -> Session {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize { ws_row: ROWS, ws_col: COLS, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: both fds are written by openpty, which is given valid pointers.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty succeeded, so both are open fds that nothing else owns.
        let (master, slave) = unsafe { (std::fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        cmd.args(args).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8");
        for key in ["HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "VIGIL_CACHE_DIR"] {
            let sub = dir.join(key.to_lowercase());
            std::fs::create_dir_all(&sub).unwrap();
            cmd.env(key, sub);
        }
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        let tty = || Stdio::from(slave.try_clone().unwrap());
        cmd.stdin(tty()).stdout(tty()).stderr(tty());
        // SAFETY: only async-signal-safe calls between fork and exec. The
        // pty becomes the controlling terminal, which the dashboard opens
        // as /dev/tty for its keys.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("vigil starts");
        drop(slave);
        let (tx, output) = mpsc::channel();
        let mut reader = master.try_clone().unwrap();
        // The pty is read all the time: a program whose terminal nobody
        // reads would block on writing to it.
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Session {
            child,
            master,
            output,
            screen: vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0),
            raw: Vec::new(),
        }
    }

    fn text(&self) -> String {
        self.screen.screen().contents()
    }

    fn row(&self, row: u16) -> String {
        self.screen.screen().rows(0, COLS).nth(row as usize).unwrap_or_default()
    }

    /// Reads until `shows` holds for the screen, failing after WAIT.
    fn wait_for(&mut self, what: &str, shows: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !shows(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => {
                    self.screen.process(&bytes);
                    self.raw.extend_from_slice(&bytes);
                }
                Err(_) => panic!("{what}: not on screen within {WAIT:?}:\n{}", self.text()),
            }
        }
    }

    /// Types `q` and waits for vigil to exit by itself.
    fn quit(mut self) -> Vec<u8> {
        self.master.write_all(b"q").unwrap();
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "vigil did not quit within {WAIT:?}");
            // The output keeps being read meanwhile.
            if let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(100)) {
                self.raw.extend_from_slice(&bytes);
            }
        };
        assert!(status.success(), "vigil exited with {status}:\n{}", self.text());
        // The reader ends when the pty closes behind the exited program.
        while let Ok(bytes) = self.output.recv_timeout(WAIT) {
            self.raw.extend_from_slice(&bytes);
        }
        std::mem::take(&mut self.raw)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed test must not leave the child behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-first-sight-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A FIFO for `SSL_CERT_FILE`: reading it waits until [`release`] opens it
/// for writing and closes it again, which reads as an empty file.
fn stalled_certificates(dir: &Path) -> PathBuf {
    let fifo = dir.join("certificates.pem");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo: {}", std::io::Error::last_os_error());
    fifo
}

/// Lets the certificate read go on, once vigil has the FIFO open (a write
/// end opened without waiting fails until then); or gives up waiting when
/// `past_it` says the start-up went on without reading it.
fn release(fifo: &Path, past_it: impl Fn() -> bool) {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = Instant::now() + WAIT;
    loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo) {
            Ok(writer) => return drop(writer),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && !past_it() => {
                assert!(Instant::now() < deadline, "vigil never read its certificates");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return,
            Err(e) => panic!("cannot open the FIFO: {e}"),
        }
    }
}

/// A gateway that takes connections and never says a word.
fn silent_gateway() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/api/v1/metrics/stream", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    (url, accepted)
}

#[test]
fn the_first_frame_waits_for_neither_the_certificates_nor_the_gateway() {
    let dir = scratch("client");
    let fifo = stalled_certificates(&dir);
    let (url, accepted) = silent_gateway();
    let mut vigil = Session::start(&["--url", &url], &dir, &[("SSL_CERT_FILE", &fifo)]);
    // The whole frame, header to status bar, while the certificates are
    // still being read and no gateway has answered.
    vigil.wait_for("the first frame", |s| {
        s.row(0).contains("vigil") && s.row(ROWS - 1).contains("CONNECTING") && s.row(ROWS - 1).contains("no data yet")
    });
    // The start-up is held at the certificates, as this test means it to be.
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the link dialled before the certificates were read");
    assert!(vigil.text().contains("Overview"), "the pages are laid out from the start:\n{}", vigil.text());
    release(&fifo, || accepted.load(Ordering::SeqCst) > 0);
    // The rest of the start-up follows: the link dials the gateway.
    let deadline = Instant::now() + WAIT;
    while accepted.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the link never dialled the gateway");
        std::thread::sleep(Duration::from_millis(20));
    }
    let raw = vigil.quit();
    assert!(String::from_utf8_lossy(&raw).contains("\x1b[?1049l"), "the screen was not restored");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_shows_itself_at_once_and_its_live_data_after() {
    let dir = scratch("demo");
    let fifo = stalled_certificates(&dir);
    let mut vigil = Session::start(&[], &dir, &[("SSL_CERT_FILE", &fifo)]);
    vigil.wait_for("the demo's first frame", |s| s.row(0).contains("DEMO") && s.row(ROWS - 1).contains("no data yet"));
    release(&fifo, || false);
    // Live data from the embedded gateway: the status bar gives its age
    // and the header says LIVE.
    vigil.wait_for("live data", |s| {
        let status = s.row(ROWS - 1);
        s.row(0).contains("LIVE") && status.contains("data ") && status.contains(" old")
    });
    vigil.quit();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn q_quits_while_the_start_up_is_still_stuck() {
    let dir = scratch("stuck");
    let fifo = stalled_certificates(&dir);
    let (url, _) = silent_gateway();
    let mut vigil = Session::start(&["--url", &url], &dir, &[("SSL_CERT_FILE", &fifo)]);
    vigil.wait_for("the first frame", |s| s.row(ROWS - 1).contains("CONNECTING"));
    // The certificates are never let go: vigil must quit all the same.
    let raw = vigil.quit();
    assert!(String::from_utf8_lossy(&raw).contains("\x1b[?1049l"), "the screen was not restored");
    let _ = std::fs::remove_dir_all(&dir);
}
