//! The render loop. Input is served first; data changes are debounced;
//! frames are capped; with nothing new, nothing is drawn except the clock
//! once a second (and ratatui writes only the cells that changed).

pub mod command;
pub mod keys;
pub mod kiosk;

use crate::scene::Scene;
use crate::terminal;
use crate::theme::Theme;
use crate::view::{self, Page, UiView};
use crate::wire::now_ms;
use crossterm::event::{Event, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use futures_util::StreamExt;
use keys::Action;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Wait this long after a data change before drawing, to fold bursts.
    pub debounce: Duration,
    /// Most frames per second.
    pub fps: u32,
    pub theme: Theme,
    /// Where `r` sends its request; `None` when nothing can reconnect.
    pub control: Option<tokio::sync::mpsc::Sender<crate::source::link::Control>>,
}

/// Screen-local state: what the user chose, not what the data says.
#[derive(Default)]
struct UiState {
    /// The frozen picture and when it was frozen.
    paused: Option<(Arc<Scene>, i64)>,
    help: bool,
    page: Page,
}

impl UiState {
    fn view(&self) -> UiView {
        UiView { paused_at: self.paused.as_ref().map(|p| p.1), help: self.help, page: self.page }
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal,
    TerminalGone,
    Cancelled,
}

pub async fn run(
    mut scene_rx: watch::Receiver<Arc<Scene>>,
    opts: AppOptions,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let (mut term, _guard) = terminal::init()?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut input = EventStream::new();
    let mut ui = UiState::default();
    let mut scene = scene_rx.borrow_and_update().clone();
    let min_frame = Duration::from_secs_f64(1.0 / opts.fps.clamp(1, 240) as f64);
    let mut last_draw = Instant::now() - min_frame;
    let mut due = Some(Instant::now());
    let mut next_clock = Instant::now() + Duration::from_millis(1000 - now_ms().rem_euclid(1000) as u64);
    let mut scenes_open = true;

    let exit = loop {
        let deadline = due.map_or(next_clock, |d| d.min(next_clock));
        // Keys and signals first: they must answer within a frame however busy the data is.
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                None | Some(Err(_)) => break Exit::TerminalGone,
                Some(Ok(Event::Key(k))) => {
                    match keys::action(k) {
                        Action::Quit => break Exit::Quit,
                        Action::ToggleHelp => ui.help = !ui.help,
                        Action::ToggleSources => {
                            ui.page = if ui.page == Page::Sources { Page::Overview } else { Page::Sources };
                        }
                        // Esc closes the help first, and only then leaves a page.
                        Action::CloseOverlay if ui.help => ui.help = false,
                        Action::CloseOverlay => ui.page = Page::Overview,
                        Action::TogglePause => {
                            ui.paused = match ui.paused.take() {
                                Some(_) => None,
                                None => Some((scene.clone(), now_ms())),
                            };
                        }
                        Action::ReconnectNow => {
                            if let Some(c) = &opts.control {
                                // Full means a request is already queued; one is enough.
                                let _ = c.try_send(crate::source::link::Control::ReconnectNow);
                            }
                            continue;
                        }
                        Action::None => continue,
                    }
                    due = Some(Instant::now().max(last_draw + min_frame));
                }
                Some(Ok(Event::Resize(..))) => {
                    let _ = term.autoresize();
                    due = Some(Instant::now().max(last_draw + min_frame));
                }
                Some(Ok(_)) => {}
            },
            _ = sigterm.recv() => break Exit::Signal,
            _ = sighup.recv() => break Exit::TerminalGone,
            _ = sigint.recv() => break Exit::Signal,
            _ = cancel.cancelled() => break Exit::Cancelled,
            changed = scene_rx.changed(), if scenes_open => match changed {
                Ok(()) => {
                    scene = scene_rx.borrow_and_update().clone();
                    if due.is_none() && ui.paused.is_none() {
                        due = Some((Instant::now() + opts.debounce).max(last_draw + min_frame));
                    }
                }
                // The pipeline ended; keep showing the last picture.
                Err(_) => scenes_open = false,
            },
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                if now >= next_clock {
                    next_clock += Duration::from_secs(1);
                    if next_clock < now {
                        next_clock = now + Duration::from_secs(1);
                    }
                    due.get_or_insert(now.max(last_draw + min_frame));
                }
                if due.is_some_and(|d| d <= now) {
                    due = None;
                    last_draw = now;
                    if draw(&mut term, &scene, &ui, &opts.theme).is_err() {
                        // Writes fail when the terminal is gone (SSH dropped).
                        break Exit::TerminalGone;
                    }
                }
            }
        }
    };
    terminal::restore();
    if exit == Exit::TerminalGone || term.show_cursor().is_err() {
        // ratatui's drop reports a failed cursor restore on stderr, which
        // panics when stderr went away with the terminal; skip it.
        std::mem::forget(term);
    }
    Ok(exit)
}

/// One frame, wrapped in synchronized-output markers so it lands at once.
fn draw(term: &mut terminal::Term, scene: &Arc<Scene>, ui: &UiState, theme: &Theme) -> std::io::Result<()> {
    let (shown, now) = match &ui.paused {
        Some((frozen, at)) => (frozen, *at),
        None => (scene, now_ms()),
    };
    queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(|f| view::render(f, shown, &ui.view(), theme, now))?;
    execute!(term.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
