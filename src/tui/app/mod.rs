//! The render loop. Input is served first; data changes are debounced;
//! frames are capped; with nothing new, nothing is drawn except the clock
//! once a second (and ratatui writes only the cells that changed).

pub mod command;
pub mod keys;
pub mod kiosk;
pub mod state;

use crate::core::alert::alarm::{AlarmOptions, Alarms};
use crate::core::alert::intent::Wish;
use crate::dashboards::Dashboard;
use crate::tui::paint;
use crate::tui::pipeline::Wanted;
use crate::tui::scene::Scene;
use crate::tui::terminal;
use crate::tui::theme::Theme;
use crate::tui::view::signal::Level;
use crate::tui::view::{self, Page, TAB_ROW};
use crate::wire::now_ms;
use crossterm::event::{Event, EventStream, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use futures_util::StreamExt;
use kiosk::{KeyVerdict, Kiosk, KioskOptions};
use state::{Effect, UiState};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

/// Redraws at most this often while the terminal is not in focus.
const UNFOCUSED_FRAME: Duration = Duration::from_secs(1);
/// With data as recent as this, the clock's redraw is held back by up to
/// `CLOCK_HOLD` so it can share the data's frame.
const CLOCK_JOINS_DATA: Duration = Duration::from_millis(1500);
const CLOCK_HOLD: Duration = Duration::from_millis(700);

/// What a reload produced: the new dashboard and settings the screen uses.
pub struct Reloaded {
    pub dashboard: Arc<Dashboard>,
    pub theme: Option<Theme>,
    pub window_ms: i64,
    pub rules: Arc<Vec<crate::core::alert::rules::RuleSpec>>,
    /// Bell and flash off a wall display.
    pub notify: AlarmOptions,
    pub slos: Arc<Vec<crate::core::slo::SloSpec>>,
    /// The files read, for the message.
    pub files: Vec<PathBuf>,
}

/// Reads the config and dashboard again; an error leaves everything as it was.
pub type ReloadFn = Box<dyn Fn() -> Result<Reloaded, String> + Send>;
/// A theme by name, fitted to this terminal (colour depth, ASCII).
pub type ThemeFn = Box<dyn Fn(&str) -> Result<Theme, String> + Send>;

pub struct AppOptions {
    /// Wait this long after a data change before drawing, to fold bursts.
    pub debounce: Duration,
    /// Most frames per second.
    pub fps: u32,
    pub theme: Theme,
    /// Where `r` sends its request; `None` when nothing can reconnect.
    pub control: Option<mpsc::Sender<crate::sources::gateway::link::Control>>,
    pub dashboard: Arc<Dashboard>,
    pub window_ms: i64,
    /// Where page, window and filter changes go.
    pub wanted: watch::Sender<Wanted>,
    pub reload: Option<ReloadFn>,
    /// Files that changed on disk (from `reload::watch`).
    pub changed_files: Option<mpsc::Receiver<Vec<PathBuf>>>,
    pub theme_for: Option<ThemeFn>,
    /// Wall-display mode, when on from the start.
    pub kiosk: Option<KioskOptions>,
    /// Bell and flash on a new critical alert off a wall display.
    pub notify: AlarmOptions,
    /// Where acknowledgements and silences go: the owner of the alerts.
    pub wishes: Option<mpsc::Sender<Wish>>,
    /// Where requests for an incident report go: the owner of the timeline.
    pub exports: Option<mpsc::Sender<crate::core::incident::ExportRequest>>,
    /// Told once the first frame is out: the start-up's heavy work waits
    /// for it rather than compete with it for the processor.
    pub first_frame: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal,
    TerminalGone,
    Cancelled,
}

/// Everything the loop keeps between events.
struct Loop {
    opts: AppOptions,
    ui: UiState,
    scene: Arc<Scene>,
    kiosk: Option<Kiosk>,
    /// Critical alerts already seen firing, so only new ones ring.
    criticals: HashSet<String>,
    /// When alarms went off, which limits how often they may.
    alarms: Alarms,
    focused: bool,
    /// What the screen shows: the last frame written, which the next one is
    /// painted over. `None` when the screen is in an unknown state.
    last_frame: Option<ratatui::buffer::Buffer>,
    /// The bytes of a frame, kept to reuse the allocation.
    out: Vec<u8>,
    /// Whether the kiosk was locked at the last look.
    was_locked: bool,
    /// The alert rules in force, passed on to the pipeline.
    rules: Arc<Vec<crate::core::alert::rules::RuleSpec>>,
    slos: Arc<Vec<crate::core::slo::SloSpec>>,
    /// The answer to an export just asked for, until the loop listens for it.
    export_asked: Option<ExportReply>,
    /// A view the pipeline was asked for (by a key, a resize, a page
    /// turning) whose scene has not come yet.
    view_asked: Option<crate::tui::pipeline::ViewRequest>,
}

/// Where the pipeline says which file it wrote, or why it did not.
type ExportReply = tokio::sync::oneshot::Receiver<Result<PathBuf, String>>;

pub async fn run(
    mut scene_rx: watch::Receiver<Arc<Scene>>,
    mut opts: AppOptions,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let (mut term, _guard) = terminal::init()?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut input = EventStream::new();
    let mut changed_files = opts.changed_files.take();
    let ui = UiState::new(opts.dashboard.clone(), opts.window_ms);
    let kiosk = opts.kiosk.clone().map(|k| Kiosk::new(k, ui.dashboard.pages.len(), now_ms()));
    let (rules, slos) = {
        let w = opts.wanted.borrow();
        (w.rules.clone(), w.slos.clone())
    };
    let mut lp = Loop {
        scene: scene_rx.borrow_and_update().clone(),
        ui,
        kiosk,
        criticals: HashSet::new(),
        alarms: Alarms::default(),
        focused: true,
        last_frame: None,
        out: Vec::new(),
        was_locked: true,
        rules,
        slos,
        opts,
        export_asked: None,
        view_asked: None,
    };
    let mut export_reply: Option<ExportReply> = None;
    lp.ui.kiosk = lp.kiosk.is_some();
    lp.ui.columns = term.size().map_or(lp.ui.columns, |s| s.width);
    lp.send_wanted();
    let fast_frame = Duration::from_secs_f64(1.0 / lp.opts.fps.clamp(1, 240) as f64);
    let mut last_draw = Instant::now() - UNFOCUSED_FRAME;
    let mut due = Some(Instant::now());
    let mut next_clock = Instant::now() + Duration::from_millis(1000 - now_ms().rem_euclid(1000) as u64);
    let mut scenes_open = true;
    let mut last_scene = Instant::now() - CLOCK_JOINS_DATA;

    let exit = loop {
        // The loop listens for the answer itself: a field of `lp` cannot be
        // awaited while the other arms borrow it.
        if let Some(answer) = lp.export_asked.take() {
            export_reply = Some(answer);
        }
        let min_frame = if lp.focused { fast_frame } else { UNFOCUSED_FRAME };
        let soon = |last: Instant| Some(Instant::now().max(last + min_frame));
        let deadline = due.map_or(next_clock, |d| d.min(next_clock));
        // Keys and signals first: they must answer within a frame however busy the data is.
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                None | Some(Err(_)) => break Exit::TerminalGone,
                Some(Ok(Event::Key(k))) => match lp.key(k, &mut term) {
                    Some(Effect::Quit) => break Exit::Quit,
                    Some(_) => due = soon(last_draw),
                    None => {}
                },
                Some(Ok(Event::Mouse(m))) => {
                    if lp.mouse(m) {
                        due = soon(last_draw);
                    }
                }
                Some(Ok(Event::FocusLost)) => lp.focused = false,
                Some(Ok(Event::FocusGained)) => {
                    lp.focused = true;
                    due = soon(last_draw);
                }
                Some(Ok(Event::Resize(width, _))) => {
                    let _ = term.autoresize();
                    lp.ui.columns = width;
                    lp.send_wanted();
                    lp.last_frame = None;
                    due = soon(last_draw);
                }
                Some(Ok(_)) => {}
            },
            reply = async { export_reply.as_mut()?.await.ok() }, if export_reply.is_some() => {
                export_reply = None;
                let now = now_ms();
                match reply {
                    Some(Ok(path)) => lp.ui.say(format!("incident report written to {}", path.display()), Level::Ok, now),
                    Some(Err(e)) => lp.ui.say(e, Level::Warn, now),
                    None => lp.ui.say("no incident report: the pipeline has stopped", Level::Warn, now),
                }
                due = soon(last_draw);
            }
            _ = sigterm.recv() => break Exit::Signal,
            _ = sighup.recv() => break Exit::TerminalGone,
            _ = sigint.recv() => break Exit::Signal,
            _ = cancel.cancelled() => break Exit::Cancelled,
            files = async { changed_files.as_mut()?.recv().await }, if changed_files.is_some() => {
                match files {
                    Some(files) => {
                        tracing::info!(?files, "files changed; reloading");
                        lp.reload();
                        due = soon(last_draw);
                    }
                    None => changed_files = None,
                }
            },
            changed = scene_rx.changed(), if scenes_open => match changed {
                Ok(()) => {
                    let had_live = lp.scene.link.last_live_ms.is_some();
                    lp.scene = scene_rx.borrow_and_update().clone();
                    // Someone is waiting for this one: the window a key
                    // asked for goes on screen now. Only data is debounced.
                    let answer = lp.view_asked.as_ref() == Some(&lp.scene.view);
                    if answer {
                        lp.view_asked = None;
                    }
                    lp.ui.follow(&lp.scene);
                    lp.ui.hear(&lp.scene, now_ms());
                    // The selection may have moved to a neighbour: its detail is wanted now.
                    lp.send_wanted();
                    lp.alarms(&mut term);
                    last_scene = Instant::now();
                    // A clock redraw held back for this data goes out with it.
                    // So does the first live data: there is no burst to fold
                    // yet, only a screen waiting for it.
                    let first_live = !had_live && lp.scene.link.last_live_ms.is_some();
                    let data_due = if answer {
                        Instant::now()
                    } else if first_live {
                        Instant::now().max(last_draw + min_frame)
                    } else {
                        (Instant::now() + lp.opts.debounce).max(last_draw + min_frame)
                    };
                    due = Some(due.map_or(data_due, |d| d.min(data_due)));
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
                    lp.every_second();
                    // While data arrives every second, the clock waits a
                    // little for it, so one frame carries both instead of two.
                    let hold = if now.duration_since(last_scene) < CLOCK_JOINS_DATA { CLOCK_HOLD } else { Duration::ZERO };
                    due.get_or_insert((now + hold).max(last_draw + min_frame));
                }
                if due.is_some_and(|d| d <= now) {
                    due = None;
                    last_draw = now;
                    if lp.draw(&mut term).is_err() {
                        // Writes fail when the terminal is gone (SSH dropped).
                        break Exit::TerminalGone;
                    }
                    if let Some(told) = lp.opts.first_frame.take() {
                        let _ = told.send(());
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

impl Loop {
    /// Tells the pipeline what to compute.
    fn send_wanted(&mut self) {
        let view = self.ui.wanted();
        let dashboard = self.ui.dashboard.clone();
        let (rules, slos) = (self.rules.clone(), self.slos.clone());
        let detail = self.ui.detail();
        let mut asked = None;
        self.opts.wanted.send_if_modified(|w| {
            if w.view != view {
                asked = Some(view.clone());
            }
            let same = Arc::ptr_eq(&w.dashboard, &dashboard)
                && w.view == view
                && Arc::ptr_eq(&w.rules, &rules)
                && Arc::ptr_eq(&w.slos, &slos)
                && w.detail == detail;
            if !same {
                *w = Wanted { dashboard, view, rules, slos, detail };
            }
            !same
        });
        if asked.is_some() {
            self.view_asked = asked;
        }
    }

    /// A key; `None` when it changed nothing on screen.
    fn key(&mut self, k: KeyEvent, term: &mut terminal::Term) -> Option<Effect> {
        let now = now_ms();
        if let Some(kiosk) = self.kiosk.as_mut() {
            match kiosk.key(k, now) {
                KeyVerdict::Swallowed => return None,
                KeyVerdict::Refused => {
                    let hint = format!("locked wall display: type \"{}\" to use the keys", kiosk::UNLOCK_WORD);
                    self.ui.say(hint, Level::Warn, now);
                    return Some(Effect::Redraw);
                }
                KeyVerdict::Unlocked => {
                    self.ui.say("unlocked: keys work until the wall relocks", Level::Ok, now);
                    return Some(Effect::Redraw);
                }
                KeyVerdict::Pass => {}
            }
        }
        let effect = if self.ui.typing() {
            self.ui.edit(k, &self.scene, now)
        } else {
            self.ui.act(keys::action(k), &self.scene, now)
        };
        self.apply(effect, term, now)
    }

    fn apply(&mut self, effect: Effect, _term: &mut terminal::Term, now: i64) -> Option<Effect> {
        match effect {
            Effect::Nothing => return None,
            Effect::Quit => return Some(Effect::Quit),
            Effect::Redraw => {}
            Effect::Reframe => {
                // A page chosen by hand holds a full rotation period on a wall.
                if let (Some(k), Page::Dashboard(p)) = (self.kiosk.as_mut(), self.ui.page) {
                    k.show(p, now);
                }
                self.send_wanted();
            }
            Effect::Reconnect => {
                if let Some(c) = &self.opts.control {
                    // Full means a request is already queued; one is enough.
                    let _ = c.try_send(crate::sources::gateway::link::Control::ReconnectNow);
                }
                return None;
            }
            Effect::Theme(name) => match self.opts.theme_for.as_ref().map(|f| f(&name)) {
                Some(Ok(theme)) => {
                    self.opts.theme = theme;
                    self.ui.say(format!("theme {name}"), Level::Ok, now);
                }
                Some(Err(e)) => self.ui.say(e, Level::Warn, now),
                None => self.ui.say("themes cannot be changed here", Level::Warn, now),
            },
            Effect::Reload => self.reload(),
            Effect::Wish(wish) => {
                use tokio::sync::mpsc::error::TrySendError;
                let why = match self.opts.wishes.as_ref().map(|tx| tx.try_send(wish)) {
                    Some(Ok(())) => None,
                    Some(Err(TrySendError::Full(_))) => Some("too many at once, not done: try again"),
                    Some(Err(TrySendError::Closed(_))) | None => {
                        Some("cannot acknowledge or silence: nothing holds the alerts")
                    }
                };
                if let Some(why) = why {
                    self.ui.say(why, Level::Warn, now);
                }
            }
            Effect::Export { at_ms, window_ms, path } => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let req = crate::core::incident::ExportRequest { at_ms, window_ms, path, reply };
                match self.opts.exports.as_ref().map(|tx| tx.try_send(req)) {
                    Some(Ok(())) => self.export_asked = Some(answer),
                    Some(Err(mpsc::error::TrySendError::Full(_))) => {
                        self.ui.say("an export is already under way: try again", Level::Warn, now)
                    }
                    Some(Err(mpsc::error::TrySendError::Closed(_))) | None => {
                        self.ui.say("cannot export: nothing keeps the incident timeline", Level::Warn, now)
                    }
                }
            }
            Effect::Kiosk(on) => {
                self.kiosk = on.then(|| {
                    let opts = self.opts.kiosk.clone().unwrap_or_default();
                    let mut k = Kiosk::new(opts, self.ui.dashboard.pages.len(), now);
                    if let Page::Dashboard(p) = self.ui.page {
                        k.show(p, now);
                    }
                    k
                });
                self.ui.kiosk = on;
                let msg = if on {
                    format!("kiosk on: keys are locked; type {:?} to unlock", kiosk::UNLOCK_WORD)
                } else {
                    "kiosk off".to_string()
                };
                self.ui.say(msg, Level::Ok, now);
            }
        }
        Some(Effect::Redraw)
    }

    /// Clicks on the tab bar switch pages; the wheel scrolls.
    fn mouse(&mut self, m: MouseEvent) -> bool {
        if self.kiosk.as_ref().is_some_and(|k| k.locked()) {
            return false;
        }
        let now = now_ms();
        let action = match m.kind {
            MouseEventKind::ScrollDown => keys::Action::ScrollDown,
            MouseEventKind::ScrollUp => keys::Action::ScrollUp,
            MouseEventKind::Down(MouseButton::Left) if m.row == TAB_ROW => {
                let hit = view::tabs(&self.scene).into_iter().find(|(_, _, from, to)| (*from..*to).contains(&m.column));
                match hit {
                    Some((page, ..)) => {
                        self.ui.go_to(page);
                        self.send_wanted();
                        return true;
                    }
                    None => return false,
                }
            }
            _ => return false,
        };
        let effect = self.ui.act(action, &self.scene, now);
        if effect == Effect::Reframe {
            self.send_wanted();
        }
        effect != Effect::Nothing
    }

    /// Once a second: kiosk rotation, messages timing out.
    fn every_second(&mut self) {
        let now = now_ms();
        self.ui.clear_expired(now);
        // A wall that locks itself again goes back to what a wall shows:
        // live, unfiltered, no prompt or help left open.
        let locked = self.kiosk.as_ref().is_some_and(|k| k.locked());
        if locked && !self.was_locked {
            self.ui.back_to_wall();
            self.send_wanted();
        }
        self.was_locked = locked;
        if let Some(page) = self.kiosk.as_mut().and_then(|k| k.tick(now)) {
            self.ui.go_to(Page::Dashboard(page));
            self.send_wanted();
        }
    }

    /// New critical alerts, neither silenced nor acknowledged: flash and
    /// ring, within the limits of `alert::alarm`; on a wall, jump to them too.
    fn alarms(&mut self, term: &mut terminal::Term) {
        let firing: HashSet<String> = self.scene.firing.critical.iter().cloned().collect();
        let hush = &self.scene.hush;
        let new: Vec<String> =
            firing.iter().filter(|id| !self.criticals.contains(*id) && !hush.contains_key(*id)).cloned().collect();
        self.criticals = firing;
        if new.is_empty() {
            return;
        }
        let now = now_ms();
        let opts = match &self.kiosk {
            Some(k) => k.alarm_options(),
            None => self.opts.notify.clone(),
        };
        let Some(alarm) = self.alarms.on_critical(&new, &opts, now) else { return };
        let page = alerts_page(&self.ui.dashboard);
        if let Some(p) = self.kiosk.as_mut().and_then(|k| k.on_alarm(page, now)) {
            self.ui.go_to(Page::Dashboard(p));
            self.send_wanted();
        }
        if alarm.bell {
            // The bell is one byte, outside any frame.
            let _ = term.backend_mut().write_all(b"\x07");
            let _ = term.backend_mut().flush();
        }
    }

    /// A reload: the old config keeps running when the new one is broken.
    fn reload(&mut self) {
        let now = now_ms();
        let Some(reload) = self.opts.reload.as_ref() else {
            self.ui.say("nothing to reload: no config or dashboard file", Level::Warn, now);
            return;
        };
        match reload() {
            Ok(r) => {
                self.ui.set_default_window(r.window_ms);
                self.ui.set_dashboard(r.dashboard);
                self.rules = r.rules;
                self.opts.notify = r.notify;
                self.slos = r.slos;
                if let Some(t) = r.theme {
                    self.opts.theme = t;
                }
                if let Some(k) = self.kiosk.as_mut() {
                    k.set_pages(self.ui.dashboard.pages.len());
                }
                self.send_wanted();
                let files: Vec<String> = r.files.iter().map(|f| f.display().to_string()).collect();
                let what = if files.is_empty() { "built-in defaults".to_string() } else { files.join(", ") };
                self.ui.say(format!("reloaded {what}"), Level::Ok, now);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reload refused; the old config keeps running");
                self.ui.say(format!("reload refused, old config kept: {e}"), Level::Crit, now);
            }
        }
    }

    /// One frame, wrapped in synchronized-output markers so it lands at once.
    /// A frame that changes no cell writes nothing at all, and the cursor,
    /// hidden once at start, is not hidden again on every frame: on an idle
    /// wall that is most of what would otherwise be sent.
    fn draw(&mut self, term: &mut terminal::Term) -> std::io::Result<()> {
        let now = now_ms();
        // The header alternates while flashing, once a second.
        let flash = self.alarms.flashing(now) && (now / 1000) % 2 == 0;
        let drift = self.kiosk.as_ref().map_or((0, 0), |k| k.drift(now));
        let ui = self.ui.view(now, flash, drift);
        term.autoresize()?;
        let mut frame = term.get_frame();
        view::render(&mut frame, &self.scene, &ui, &self.opts.theme, now);
        let drawn = term.current_buffer_mut();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        // The whole frame goes out as one write, inside synchronized-output
        // marks so the terminal shows it at once.
        out.extend_from_slice(b"\x1b[?2026h");
        let head = out.len();
        let shown = match self.last_frame.take().filter(|b| b.area == drawn.area) {
            Some(b) => b,
            None => {
                // Default colours first: erasing fills with the current
                // background, and blank cells are not printed again.
                out.extend_from_slice(b"\x1b[H\x1b[m\x1b[2J");
                ratatui::buffer::Buffer::empty(drawn.area)
            }
        };
        paint::paint(&shown, drawn, &mut out);
        let changed = out.len() > head;
        out.extend_from_slice(b"\x1b[?2026l");
        // The frame drawn is now on screen; the old one's cells are reset
        // and drawn into next time.
        self.last_frame = Some(std::mem::replace(drawn, shown));
        term.current_buffer_mut().reset();
        let result = if changed {
            let w = term.backend_mut();
            w.write_all(&out).and_then(|()| w.flush())
        } else {
            Ok(())
        };
        self.out = out;
        result
    }
}

/// The page a new critical alert sends a wall display to: the first with an
/// alerts panel.
fn alerts_page(d: &Dashboard) -> usize {
    d.pages
        .iter()
        .position(|p| p.rows.iter().flat_map(|r| &r.panels).any(|x| x.kind == crate::dashboards::PanelKind::Alerts))
        .unwrap_or(0)
}
