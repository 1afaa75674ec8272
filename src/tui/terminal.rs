//! Terminal set-up and, above all, restoration: from a drop guard, from a
//! panic hook (a panic in any task), and before every exit path.

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableFocusChange, DisableMouseCapture, EnableFocusChange, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Restores the terminal when dropped, whatever path leaves the scope.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Enters raw mode and the alternate screen, turns on mouse and focus
/// reports (both are modes the terminal switches on, not queries, so they
/// cost no round trip), and arms the panic hook.
pub fn init() -> io::Result<(Term, Guard)> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = Guard;
    let mut stdout = io::stdout();
    execute!(stdout, EnterAlternateScreen, Hide, EnableMouseCapture, EnableFocusChange)?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    Ok((terminal, guard))
}

/// Leaves the alternate screen and raw mode. Safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // Errors are ignored: the terminal may already be gone (SSH dropped).
        let _ = execute!(io::stdout(), DisableFocusChange, DisableMouseCapture, LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// On a panic anywhere: restore the screen first so the message is readable,
/// print it, then exit, since a dashboard with a dead task would be lying.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let was_active = ACTIVE.load(Ordering::SeqCst);
            restore();
            tracing::error!(panic = %info, backtrace = %std::backtrace::Backtrace::force_capture(), "panic");
            previous(info);
            if was_active {
                std::process::exit(101);
            }
        }));
    });
}
