//! What the user chose, as opposed to what the data says: page, window,
//! instant, filter, the line being typed. Pure: keys and commands in, a new
//! state and an effect out, so every binding is tested without a terminal.

use super::command::{Command, Edit, LineEditor};
use super::keys::Action;
use crate::core::alert::intent::Wish;
use crate::core::filter::Filter;
use crate::dashboards::{Dashboard, PanelKind};
use crate::tui::pipeline::ViewRequest;
use crate::tui::scene::Scene;
use crate::tui::view::signal::Level;
use crate::tui::view::{Page, Prompt, UiView};
use std::collections::HashMap;
use std::sync::Arc;

/// The windows `+` and `-` step through.
pub const WINDOWS: [i64; 5] = [5 * 60_000, 15 * 60_000, 3_600_000, 6 * 3_600_000, 24 * 3_600_000];
/// How far back Left can go, and the widest window: what the store keeps.
const MAX_BACK_MS: i64 = 86_400_000;
/// How long a message stays in the status bar.
const MESSAGE_MS: i64 = 6_000;

/// What the loop must do after a key or command.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Only the screen changed.
    Redraw,
    /// What the pipeline computes changed too.
    Reframe,
    Quit,
    Reconnect,
    Theme(String),
    Reload,
    Kiosk(bool),
    /// Acknowledge or silence an alert: for whoever owns the alerts.
    Wish(Wish),
    /// Write the report of the incident around the instant on screen, to
    /// the path given or under a name of its own.
    Export {
        at_ms: i64,
        window_ms: i64,
        path: Option<std::path::PathBuf>,
    },
    Nothing,
}

pub struct UiState {
    pub dashboard: Arc<Dashboard>,
    /// The terminal's width, for the pipeline's range queries.
    pub columns: u16,
    pub page: Page,
    /// The dashboard page to return to from the sources page.
    last_page: usize,
    pub help: bool,
    help_scroll: u16,
    pub scroll: u16,
    /// The prompt open, by its sigil (`:` or `/`).
    prompt: Option<char>,
    /// One editor per prompt, so each keeps its own history.
    commands: LineEditor,
    filters: LineEditor,
    message: Option<(String, Level, i64)>,
    default_window_ms: i64,
    pub window_ms: i64,
    /// Windows chosen by hand (`+`, `-`, `:window`), by page key, so a page
    /// comes back as it was left; and the last one chosen on a page with no
    /// window of its own, which such pages then open with.
    chosen_windows: HashMap<String, i64>,
    chosen_default: Option<i64>,
    pub at_ms: Option<i64>,
    choice: Option<String>,
    filter: Filter,
    pub kiosk: bool,
    marker: Option<usize>,
    /// The alert selected on an alerts page, by id (which keeps it as the
    /// list reorders), and where it stood (which a neighbour takes over
    /// when it leaves the list).
    selected: Option<(String, usize)>,
    /// The selected alert's detail pane was put away (Enter); it opens
    /// with the selection otherwise.
    detail_hidden: bool,
    /// The number of the pipeline's last notice said.
    notice_said: u64,
}

impl UiState {
    pub fn new(dashboard: Arc<Dashboard>, default_window_ms: i64) -> Self {
        let mut s = UiState {
            dashboard,
            columns: 160,
            page: Page::Dashboard(0),
            last_page: 0,
            help: false,
            help_scroll: 0,
            scroll: 0,
            prompt: None,
            commands: LineEditor::default(),
            filters: LineEditor::default(),
            message: None,
            default_window_ms,
            window_ms: default_window_ms,
            chosen_windows: HashMap::new(),
            chosen_default: None,
            at_ms: None,
            choice: None,
            filter: Filter::default(),
            kiosk: false,
            marker: None,
            selected: None,
            detail_hidden: false,
            notice_said: 0,
        };
        s.go_to(Page::Dashboard(0));
        s
    }

    /// The request the pipeline works from.
    pub fn wanted(&self) -> ViewRequest {
        ViewRequest {
            page: self.last_page,
            window_ms: self.window_ms,
            at_ms: self.at_ms,
            choice: self.choice.clone(),
            filter: self.filter.clone(),
            columns: self.columns,
        }
    }

    /// What the view draws besides the scene.
    pub fn view(&self, now_ms: i64, flash: bool, drift: (u16, u16)) -> UiView {
        UiView {
            help: self.help,
            help_scroll: self.help_scroll,
            page: self.page,
            scroll: self.scroll,
            prompt: self.prompt.map(|sigil| {
                let ed = self.editor(sigil);
                let hint = if sigil == ':' { super::command::hint(ed.text()) } else { None };
                Prompt { sigil, text: ed.text().to_string(), cursor: ed.cursor(), hint }
            }),
            message: self.message.as_ref().filter(|m| m.2 > now_ms).map(|m| (m.0.clone(), m.1)),
            kiosk: self.kiosk,
            flash,
            drift,
            marker: self.marker,
            selected: self.selected.as_ref().map(|(id, _)| id.clone()),
            detail: self.detail().is_some(),
        }
    }

    /// The alert whose detail is open: the selected one on an alerts page,
    /// unless the pane was put away.
    pub fn detail(&self) -> Option<String> {
        let (id, _) = self.selected.as_ref().filter(|_| !self.detail_hidden && self.on_alerts_page())?;
        Some(id.clone())
    }

    fn editor(&self, sigil: char) -> &LineEditor {
        if sigil == '/' { &self.filters } else { &self.commands }
    }

    pub fn typing(&self) -> bool {
        self.prompt.is_some()
    }

    pub fn say(&mut self, text: impl Into<String>, level: Level, now_ms: i64) {
        self.message = Some((text.into(), level, now_ms + MESSAGE_MS));
    }

    /// Whether a message is showing that must be taken down at some point.
    pub fn message_expires(&self) -> Option<i64> {
        self.message.as_ref().map(|m| m.2)
    }

    pub fn clear_expired(&mut self, now_ms: i64) -> bool {
        let expired = self.message.as_ref().is_some_and(|m| m.2 <= now_ms);
        if expired {
            self.message = None;
        }
        expired
    }

    /// A new dashboard (reloaded): keep the page by name where it still exists.
    pub fn set_dashboard(&mut self, dashboard: Arc<Dashboard>) {
        let title = self.dashboard.pages.get(self.last_page).map(|p| p.key());
        self.dashboard = dashboard;
        let keep = title.and_then(|t| self.dashboard.find_page(&t)).unwrap_or(0);
        self.last_page = keep;
        if let Page::Dashboard(_) = self.page {
            self.page = Page::Dashboard(keep);
        }
    }

    /// What a wall display shows when nobody is at it.
    pub fn back_to_wall(&mut self) {
        self.at_ms = None;
        self.filter = Filter::default();
        self.prompt = None;
        self.help = false;
        self.scroll = 0;
    }

    pub fn set_default_window(&mut self, ms: i64) {
        self.default_window_ms = ms;
    }

    fn pages(&self) -> usize {
        self.dashboard.pages.len()
    }

    /// Switches page; a page with a window of its own opens with it.
    pub fn go_to(&mut self, page: Page) {
        if page != self.page {
            self.selected = None;
        }
        if let Page::Dashboard(i) = page {
            let i = i.min(self.pages().saturating_sub(1));
            if i != self.last_page || self.page != Page::Dashboard(i) {
                let page = self.dashboard.pages.get(i);
                let chosen = page.and_then(|p| self.chosen_windows.get(&p.key()).copied());
                let own = page.and_then(|p| p.window);
                let w = chosen.or(own).or(self.chosen_default).unwrap_or(self.default_window_ms);
                self.window_ms = w.min(MAX_BACK_MS);
                self.scroll = 0;
            }
            self.last_page = i;
            self.page = Page::Dashboard(i);
        } else {
            self.page = page;
            self.scroll = 0;
        }
    }

    /// Pages in tab order: every dashboard page, then the sources page.
    fn step_page(&mut self, forward: bool) {
        let n = self.pages() + 1;
        let cur = match self.page {
            Page::Dashboard(i) => i,
            Page::Sources => self.pages(),
        };
        let next = if forward { (cur + 1) % n } else { (cur + n - 1) % n };
        self.go_to(if next == self.pages() { Page::Sources } else { Page::Dashboard(next) });
    }

    /// Whether the page on show leads with an alerts list, perhaps under an
    /// SLO table (the built-in Alerts page): there Up and Down select an
    /// alert, and `s` silences it.
    pub fn on_alerts_page(&self) -> bool {
        let Page::Dashboard(i) = self.page else { return false };
        let mut panels = self.dashboard.pages.get(i).into_iter().flat_map(|p| &p.rows).flat_map(|r| &r.panels);
        panels.find(|p| p.kind != PanelKind::Slo).is_some_and(|p| p.kind == PanelKind::Alerts)
    }

    /// Keeps the selection on a new scene: on the same alert where it is
    /// still listed, else on whichever took its place.
    /// Says the pipeline's newest notice on the status bar, once.
    pub fn hear(&mut self, scene: &Scene, now_ms: i64) {
        let Some((n, text)) = &scene.notice else { return };
        if *n > self.notice_said {
            self.notice_said = *n;
            self.say(text.clone(), Level::Warn, now_ms);
        }
    }

    pub fn follow(&mut self, scene: &Scene) {
        let Some((id, at)) = &self.selected else { return };
        if scene.alerts.iter().any(|a| a.id == *id) {
            return;
        }
        // While an ack or silence is being typed for it, its neighbour must
        // not take its place: Enter would act on an alert nobody chose.
        let acting = self.prompt == Some(':') && !self.commands.text().trim().is_empty();
        if acting {
            self.selected = None;
            return;
        }
        self.selected = match scene.alerts.len() {
            0 => None,
            n => {
                let at = (*at).min(n - 1);
                Some((scene.alerts[at].id.clone(), at))
            }
        };
    }

    /// Moves the selection `by` rows; the first move selects the top row.
    fn select(&mut self, scene: &Scene, by: i64) {
        let n = scene.alerts.len();
        if n == 0 {
            self.selected = None;
            return;
        }
        let at = self.selected.as_ref().map(|(id, at)| scene.alerts.iter().position(|a| a.id == *id).unwrap_or(*at));
        let next = match at {
            None => 0,
            Some(at) => (at as i64 + by).clamp(0, n as i64 - 1) as usize,
        };
        self.selected = Some((scene.alerts[next].id.clone(), next));
    }

    /// The selected alert, if it is still listed.
    fn selected_alert<'a>(&self, scene: &'a Scene) -> Option<&'a crate::core::model::Alert> {
        let (id, _) = self.selected.as_ref()?;
        scene.alerts.iter().find(|a| a.id == *id)
    }

    /// The selected alert, when acknowledging and silencing are possible;
    /// otherwise says why not.
    fn target<'a>(&mut self, scene: &'a Scene, now_ms: i64) -> Option<&'a crate::core::model::Alert> {
        if self.kiosk {
            self.say("a wall display cannot acknowledge or silence (:kiosk off first)", Level::Warn, now_ms);
            return None;
        }
        let alert = self.selected_alert(scene);
        if alert.is_none() {
            self.say("select an alert first: Up/Down on the Alerts page", Level::Warn, now_ms);
        }
        alert
    }

    fn ack(&mut self, scene: &Scene, now_ms: i64) -> Effect {
        let Some(a) = self.target(scene, now_ms) else { return Effect::Redraw };
        let who = alert_words(a);
        let acked = scene.hush.get(&a.id).and_then(|h| h.acked_by.as_deref());
        let (msg, level) = match (acked, a.state) {
            (Some(by), _) => (format!("acknowledgement by {by} taken back: {who}"), Level::Ok),
            (None, crate::core::model::AlertState::Resolved) => {
                self.say(format!("{who} has resolved: nothing to acknowledge"), Level::Warn, now_ms);
                return Effect::Redraw;
            }
            (None, _) => (format!("acknowledged: {who}"), Level::Ok),
        };
        let wish = Wish::ToggleAck(a.id.clone());
        self.say(msg, level, now_ms);
        Effect::Wish(wish)
    }

    fn silence(&mut self, scene: &Scene, for_ms: i64, now_ms: i64) -> Effect {
        let Some(a) = self.target(scene, now_ms) else { return Effect::Redraw };
        let until = crate::core::format::clock(now_ms + for_ms);
        let msg = format!(
            "silenced for {} (until {} UTC): {}",
            crate::core::format::age(for_ms),
            &until[..5],
            alert_words(a)
        );
        let wish = Wish::Silence { id: a.id.clone(), for_ms };
        self.say(msg, Level::Ok, now_ms);
        Effect::Wish(wish)
    }

    fn unsilence(&mut self, scene: &Scene, now_ms: i64) -> Effect {
        let Some(a) = self.target(scene, now_ms) else { return Effect::Redraw };
        if scene.hush.get(&a.id).is_none_or(|h| h.silenced.is_none()) {
            self.say(format!("not silenced: {}", alert_words(a)), Level::Warn, now_ms);
            return Effect::Redraw;
        }
        let wish = Wish::Unsilence(a.id.clone());
        self.say(format!("silence ended: {}", alert_words(a)), Level::Ok, now_ms);
        Effect::Wish(wish)
    }

    /// A report of what is on screen; not from a wall display, whose
    /// keyboard stays locked to passers-by.
    fn export(&mut self, path: Option<String>, now_ms: i64) -> Effect {
        if self.kiosk {
            self.say("a wall display cannot export (:kiosk off first)", Level::Warn, now_ms);
            return Effect::Redraw;
        }
        let at_ms = self.at_ms.unwrap_or(now_ms);
        Effect::Export { at_ms, window_ms: self.window_ms, path: path.map(Into::into) }
    }

    fn step_choice(&mut self, scene: &Scene, forward: bool) -> bool {
        let Some(sel) = &scene.page.select else { return false };
        if sel.choices.is_empty() {
            return false;
        }
        let cur = sel.choices.iter().position(|c| *c == sel.value).unwrap_or(0);
        let n = sel.choices.len();
        let next = if forward { (cur + 1) % n } else { (cur + n - 1) % n };
        self.choice = Some(sel.choices[next].clone());
        true
    }

    fn step_window(&mut self, wider: bool) {
        let w = self.window_ms;
        let next = if wider {
            WINDOWS.iter().copied().find(|x| *x > w).unwrap_or(w)
        } else {
            WINDOWS.iter().rev().copied().find(|x| *x < w).unwrap_or(w)
        };
        self.choose_window(next);
    }

    /// A window picked by hand on the page showing.
    fn choose_window(&mut self, ms: i64) {
        self.window_ms = ms.min(MAX_BACK_MS);
        if let Some(page) = self.dashboard.pages.get(self.last_page) {
            self.chosen_windows.insert(page.key(), self.window_ms);
            if page.window.is_none() {
                self.chosen_default = Some(self.window_ms);
            }
        }
    }

    fn scroll_time(&mut self, back: bool, now_ms: i64) {
        let step = self.window_ms / 4;
        let at = self.at_ms.unwrap_or(now_ms);
        let at = if back { at - step } else { at + step };
        // Scrolling forward into the present is going live again.
        self.at_ms = (at < now_ms).then(|| at.max(now_ms - MAX_BACK_MS));
    }

    /// How wide the help's text is on this screen.
    fn help_inner(&self) -> usize {
        crate::tui::view::help_inner_width(self.columns)
    }

    /// Applies one key's action.
    pub fn act(&mut self, action: Action, scene: &Scene, now_ms: i64) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            // Open, the help takes the scrolling keys: on a short screen
            // they bring up the rest of it.
            Action::ScrollUp | Action::ScrollDown | Action::PageUp | Action::PageDown if self.help => {
                let most = crate::tui::view::help_len(self.help_inner()) as u16;
                self.help_scroll = match action {
                    Action::ScrollUp => self.help_scroll.saturating_sub(1),
                    Action::ScrollDown => self.help_scroll + 1,
                    Action::PageUp => self.help_scroll.saturating_sub(10),
                    _ => self.help_scroll + 10,
                }
                .min(most);
            }
            Action::Silence if self.on_alerts_page() => {
                if self.target(scene, now_ms).is_some() {
                    self.commands.set_text("silence ");
                    self.prompt = Some(':');
                }
                return Effect::Redraw;
            }
            Action::Ack => return self.ack(scene, now_ms),
            Action::ToggleSources | Action::Silence => {
                let back = Page::Dashboard(self.last_page);
                self.go_to(if self.page == Page::Sources { back } else { Page::Sources });
            }
            Action::NextPage => self.step_page(true),
            Action::PrevPage => self.step_page(false),
            Action::Page(i) if i < self.pages() => self.go_to(Page::Dashboard(i)),
            Action::Page(_) => return Effect::Nothing,
            Action::PrevChoice | Action::NextChoice => {
                if !self.step_choice(scene, action == Action::NextChoice) {
                    return Effect::Nothing;
                }
            }
            Action::TogglePause => self.at_ms = if self.at_ms.is_some() { None } else { Some(now_ms) },
            Action::Back => self.scroll_time(true, now_ms),
            Action::Forward => self.scroll_time(false, now_ms),
            Action::Wider => self.step_window(true),
            Action::Narrower => self.step_window(false),
            Action::Live => self.at_ms = None,
            Action::ScrollUp | Action::ScrollDown if self.on_alerts_page() => {
                self.select(scene, if action == Action::ScrollUp { -1 } else { 1 });
            }
            // Enter opens and closes the detail; with nothing selected it
            // selects the top alert, whose detail then opens.
            Action::Open if self.on_alerts_page() => {
                if self.selected.is_none() {
                    self.detail_hidden = false;
                    self.select(scene, 0);
                } else {
                    self.detail_hidden = !self.detail_hidden;
                }
            }
            Action::Open => return Effect::Nothing,
            Action::ScrollUp => self.scroll = self.scroll.saturating_sub(1),
            Action::ScrollDown => self.scroll = self.scroll.saturating_add(1).min(999),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10).min(999),
            Action::OlderMarker => {
                self.marker = Some(self.marker.map_or(0, |m| m + 1));
                return Effect::Redraw;
            }
            Action::NewerMarker => {
                self.marker = self.marker.and_then(|m| m.checked_sub(1));
                return Effect::Redraw;
            }
            Action::Command => {
                self.commands.clear();
                self.prompt = Some(':');
            }
            Action::Filter => {
                // The filter line opens on the filter in force, to refine it.
                self.filters.set_text(&self.filter.to_string());
                self.prompt = Some('/');
            }
            Action::Escape => {
                if self.help {
                    self.help = false;
                } else if self.selected.is_some() {
                    self.selected = None;
                } else if self.marker.is_some() {
                    self.marker = None;
                } else if !self.filter.is_empty() {
                    self.filter = crate::core::filter::Filter::default();
                } else if self.at_ms.is_some() {
                    self.at_ms = None;
                } else if self.page == Page::Sources {
                    self.go_to(Page::Dashboard(self.last_page));
                } else {
                    return Effect::Nothing;
                }
            }
            Action::ReconnectNow => return Effect::Reconnect,
            Action::Export => return self.export(None, now_ms),
            Action::None => return Effect::Nothing,
        }
        Effect::Reframe
    }

    /// Feeds a key to the line being typed.
    pub fn edit(&mut self, key: crossterm::event::KeyEvent, scene: &Scene, now_ms: i64) -> Effect {
        let Some(sigil) = self.prompt else { return Effect::Nothing };
        let ed = if sigil == '/' { &mut self.filters } else { &mut self.commands };
        match ed.handle(key) {
            Edit::Continue => Effect::Redraw,
            Edit::Cancel => {
                self.prompt = None;
                Effect::Redraw
            }
            Edit::Submit(text) => {
                self.prompt = None;
                if sigil == '/' {
                    self.filter = crate::core::filter::Filter::parse(&text);
                    self.scroll = 0;
                    return Effect::Reframe;
                }
                if text.trim().is_empty() {
                    return Effect::Redraw;
                }
                match super::command::parse(&text) {
                    Ok(cmd) => self.command(cmd, scene, now_ms),
                    Err(e) => {
                        self.say(e, Level::Warn, now_ms);
                        Effect::Redraw
                    }
                }
            }
        }
    }

    /// Carries out a `:` command.
    pub fn command(&mut self, cmd: Command, scene: &Scene, now_ms: i64) -> Effect {
        match cmd {
            Command::Page(name) => {
                if name.eq_ignore_ascii_case("sources") && self.dashboard.find_page(&name).is_none() {
                    self.go_to(Page::Sources);
                } else if let Some(i) = self.dashboard.find_page(&name) {
                    self.go_to(Page::Dashboard(i));
                } else {
                    let names: Vec<String> = self.dashboard.pages.iter().map(|p| p.key()).collect();
                    self.say(format!("no page {name:?} (pages: {}, sources)", names.join(", ")), Level::Warn, now_ms);
                    return Effect::Redraw;
                }
            }
            Command::Theme(name) => return Effect::Theme(name),
            Command::Window(ms) => self.choose_window(ms),
            Command::Reload => return Effect::Reload,
            Command::Quit => return Effect::Quit,
            Command::Live => self.at_ms = None,
            Command::Pause => self.at_ms = Some(self.at_ms.unwrap_or(now_ms)),
            Command::Service(name) => {
                let known = scene.page.select.as_ref().is_some_and(|s| s.choices.contains(&name));
                if !known {
                    let hint = scene.page.select.as_ref().map(|s| s.choices.join(", ")).unwrap_or_default();
                    let msg = if hint.is_empty() {
                        "this page shows no choice; try :page services first".to_string()
                    } else {
                        format!("no {name:?} here (choices: {hint})")
                    };
                    self.say(msg, Level::Warn, now_ms);
                    return Effect::Redraw;
                }
                self.choice = Some(name);
            }
            Command::Filter(text) => self.filter = Filter::parse(&text),
            Command::ClearFilter => self.filter = Filter::default(),
            Command::Kiosk(on) => return Effect::Kiosk(on),
            Command::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Command::Ack => return self.ack(scene, now_ms),
            Command::Silence(ms) => return self.silence(scene, ms, now_ms),
            Command::Unsilence => return self.unsilence(scene, now_ms),
            Command::Export(path) => return self.export(path, now_ms),
            Command::Jump(back_ms) => self.at_ms = Some((now_ms - back_ms).clamp(now_ms - MAX_BACK_MS, now_ms)),
        }
        Effect::Reframe
    }
}

/// An alert in a few words for a message: its name and service.
fn alert_words(a: &crate::core::model::Alert) -> String {
    let name = a.name();
    match a.labels.get("service") {
        Some(s) => format!("{name} ({s})"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_751_279_400_000;

    fn state() -> UiState {
        UiState::new(Arc::new(Dashboard::built_in()), 15 * 60_000)
    }

    fn scene_with_choices() -> Scene {
        let select = Some(crate::tui::scene::Selection {
            label: "service".into(),
            value: "api".into(),
            choices: vec!["api".into(), "checkout".into(), "payments".into()],
        });
        Scene { page: Arc::new(crate::tui::scene::PageScene { select, ..Default::default() }), ..Scene::default() }
    }

    #[test]
    fn pages_cycle_through_the_dashboard_then_sources() {
        let mut s = state();
        let scene = Scene::default();
        let pages = s.dashboard.pages.len();
        for i in 1..pages {
            s.act(Action::NextPage, &scene, NOW);
            assert_eq!(s.page, Page::Dashboard(i));
        }
        s.act(Action::NextPage, &scene, NOW);
        assert_eq!(s.page, Page::Sources);
        s.act(Action::NextPage, &scene, NOW);
        assert_eq!(s.page, Page::Dashboard(0));
        s.act(Action::PrevPage, &scene, NOW);
        assert_eq!(s.page, Page::Sources);
        // s and Esc go back to the page the user came from.
        s.act(Action::Page(1), &scene, NOW);
        s.act(Action::ToggleSources, &scene, NOW);
        assert_eq!(s.page, Page::Sources);
        s.act(Action::Escape, &scene, NOW);
        assert_eq!(s.page, Page::Dashboard(1));
        assert_eq!(s.act(Action::Page(8), &scene, NOW), Effect::Nothing);
    }

    #[test]
    fn a_page_with_its_own_window_opens_with_it() {
        let mut s = state();
        let scene = Scene::default();
        let business = s.dashboard.find_page("business").unwrap();
        s.act(Action::Page(business), &scene, NOW);
        assert_eq!(s.window_ms, 24 * 3_600_000);
        s.act(Action::Page(0), &scene, NOW);
        assert_eq!(s.window_ms, 15 * 60_000);
    }

    #[test]
    fn open_help_takes_the_scrolling_keys() {
        let mut s = state();
        let scene = Scene::default();
        s.columns = 80;
        s.act(Action::ToggleHelp, &scene, NOW);
        for _ in 0..3 {
            s.act(Action::ScrollDown, &scene, NOW);
        }
        assert_eq!((s.view(NOW, false, (0, 0)).help_scroll, s.scroll), (3, 0));
        for _ in 0..20 {
            s.act(Action::PageDown, &scene, NOW);
        }
        let most = crate::tui::view::help_len(crate::tui::view::help_inner_width(80)) as u16;
        assert_eq!(s.view(NOW, false, (0, 0)).help_scroll, most);
        // Closed and opened again, it starts from the top.
        s.act(Action::ToggleHelp, &scene, NOW);
        s.act(Action::ToggleHelp, &scene, NOW);
        assert_eq!(s.view(NOW, false, (0, 0)).help_scroll, 0);
    }

    #[test]
    fn a_chosen_window_stays_with_its_page() {
        let mut s = state();
        let scene = Scene::default();
        let business = s.dashboard.find_page("business").unwrap();
        s.act(Action::Page(0), &scene, NOW);
        s.command(Command::Window(3_600_000), &scene, NOW);
        assert_eq!(s.window_ms, 3_600_000);
        // Away to a page with a window of its own, which keeps it...
        s.act(Action::Page(business), &scene, NOW);
        assert_eq!(s.window_ms, 24 * 3_600_000);
        s.act(Action::Narrower, &scene, NOW);
        let narrowed = s.window_ms;
        assert!(narrowed < 24 * 3_600_000);
        // ...and back: the hour chosen here is still here.
        s.act(Action::Page(0), &scene, NOW);
        assert_eq!(s.window_ms, 3_600_000);
        // A page with no window of its own opens with the last one chosen.
        s.act(Action::Page(1), &scene, NOW);
        assert_eq!(s.window_ms, 3_600_000);
        s.act(Action::Page(business), &scene, NOW);
        assert_eq!(s.window_ms, narrowed);
    }

    #[test]
    fn windows_step_through_the_presets() {
        let mut s = state();
        let scene = Scene::default();
        s.act(Action::Wider, &scene, NOW);
        assert_eq!(s.window_ms, 3_600_000);
        for _ in 0..5 {
            s.act(Action::Wider, &scene, NOW);
        }
        assert_eq!(s.window_ms, 24 * 3_600_000);
        for _ in 0..9 {
            s.act(Action::Narrower, &scene, NOW);
        }
        assert_eq!(s.window_ms, 5 * 60_000);
    }

    #[test]
    fn time_travel_pauses_scrolls_and_returns_to_live() {
        let mut s = state();
        let scene = Scene::default();
        s.act(Action::TogglePause, &scene, NOW);
        assert_eq!(s.wanted().at_ms, Some(NOW));
        s.act(Action::Back, &scene, NOW + 5_000);
        assert_eq!(s.at_ms, Some(NOW - 15 * 60_000 / 4));
        // Forward into the present is live again, not a pause at now.
        for _ in 0..10 {
            s.act(Action::Forward, &scene, NOW + 5_000);
        }
        assert_eq!(s.at_ms, None);
        s.act(Action::Back, &scene, NOW + 6_000);
        s.act(Action::Live, &scene, NOW + 6_000);
        assert_eq!(s.at_ms, None);
        // Left from live starts from now.
        s.act(Action::Back, &scene, NOW);
        assert_eq!(s.at_ms, Some(NOW - 15 * 60_000 / 4));
        // m selects markers back from the newest; Esc lets go of them first.
        s.act(Action::OlderMarker, &scene, NOW);
        s.act(Action::OlderMarker, &scene, NOW);
        s.act(Action::NewerMarker, &scene, NOW);
        assert_eq!(s.view(NOW, false, (0, 0)).marker, Some(0));
        s.act(Action::Escape, &scene, NOW);
        assert_eq!(s.view(NOW, false, (0, 0)).marker, None);
        // Esc also returns to live.
        s.act(Action::Escape, &scene, NOW);
        assert_eq!(s.at_ms, None);
        assert_eq!(s.act(Action::Escape, &scene, NOW), Effect::Nothing);
    }

    #[test]
    fn choices_step_and_wrap() {
        let mut s = state();
        let scene = scene_with_choices();
        s.act(Action::NextChoice, &scene, NOW);
        assert_eq!(s.wanted().choice.as_deref(), Some("checkout"));
        s.act(Action::PrevChoice, &scene, NOW);
        s.act(Action::PrevChoice, &scene, NOW);
        // Steps start from what the scene shows (api), not from the request.
        assert_eq!(s.wanted().choice.as_deref(), Some("payments"));
        assert_eq!(s.act(Action::NextChoice, &Scene::default(), NOW), Effect::Nothing);
    }

    #[test]
    fn commands_switch_pages_windows_and_choices() {
        let mut s = state();
        let scene = scene_with_choices();
        assert_eq!(s.command(Command::Page("services".into()), &scene, NOW), Effect::Reframe);
        assert_eq!(s.page, Page::Dashboard(1));
        s.command(Command::Page("sources".into()), &scene, NOW);
        assert_eq!(s.page, Page::Sources);
        assert_eq!(s.command(Command::Page("nope".into()), &scene, NOW), Effect::Redraw);
        assert!(s.view(NOW, false, (0, 0)).message.unwrap().0.contains("no page \"nope\""));
        s.command(Command::Window(3_600_000), &scene, NOW);
        assert_eq!(s.wanted().window_ms, 3_600_000);
        s.command(Command::Service("payments".into()), &scene, NOW);
        assert_eq!(s.wanted().choice.as_deref(), Some("payments"));
        s.command(Command::Service("billing".into()), &scene, NOW);
        assert_eq!(s.wanted().choice.as_deref(), Some("payments"), "unknown choices are refused");
        assert_eq!(s.command(Command::Theme("light".into()), &scene, NOW), Effect::Theme("light".into()));
        // Messages time out.
        assert!(s.view(NOW + 60_000, false, (0, 0)).message.is_none());
    }

    fn alerts_scene(ids: &[&str]) -> Scene {
        let alerts = ids
            .iter()
            .map(|id| crate::core::model::Alert {
                id: id.to_string(),
                origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
                state: crate::core::model::AlertState::Firing,
                severity: crate::core::model::Severity::Warning,
                metric: "m".into(),
                labels: Default::default(),
                value: None,
                threshold: None,
                summary: String::new(),
                starts_at: None,
                ends_at: None,
                updated_ms: 0,
                open_start: false,
            })
            .collect();
        Scene { alerts, ..Scene::default() }
    }

    #[test]
    fn the_selection_moves_stays_in_the_list_and_follows_it() {
        let mut s = state();
        let scene = alerts_scene(&["a", "b", "c"]);
        let selected = |s: &UiState| s.view(NOW, false, (0, 0)).selected;
        // Off the alerts page, Down scrolls as before.
        s.act(Action::ScrollDown, &scene, NOW);
        assert_eq!((s.scroll, selected(&s)), (1, None));
        s.go_to(Page::Dashboard(s.dashboard.find_page("alerts").unwrap()));
        assert_eq!(s.scroll, 0);
        s.act(Action::ScrollUp, &scene, NOW);
        assert_eq!(selected(&s).as_deref(), Some("a"), "the first move selects the top row");
        for _ in 0..5 {
            s.act(Action::ScrollDown, &scene, NOW);
        }
        assert_eq!(selected(&s).as_deref(), Some("c"), "and stops at the bottom");
        // The list reorders: the selection stays on its alert.
        s.follow(&alerts_scene(&["c", "a", "b"]));
        assert_eq!(selected(&s).as_deref(), Some("c"));
        // It leaves: its neighbour at the same place takes over.
        s.act(Action::ScrollDown, &alerts_scene(&["c", "a", "b"]), NOW);
        s.follow(&alerts_scene(&["c", "b"]));
        assert_eq!(selected(&s).as_deref(), Some("b"));
        s.follow(&alerts_scene(&[]));
        assert_eq!(selected(&s), None);
        // Mid-silence, the alert leaves: nothing takes its place, and Enter
        // names no other alert.
        s.act(Action::ScrollDown, &scene, NOW);
        s.act(Action::Silence, &scene, NOW);
        s.follow(&alerts_scene(&["b", "c"]));
        assert_eq!(selected(&s), None);
        s.act(Action::Escape, &scene, NOW);
        // Esc lets go of it; a page switch does too.
        s.act(Action::ScrollDown, &scene, NOW);
        assert_eq!(s.act(Action::Escape, &scene, NOW), Effect::Reframe);
        assert_eq!(selected(&s), None);
        s.act(Action::ScrollDown, &scene, NOW);
        s.act(Action::Page(0), &scene, NOW);
        assert_eq!(selected(&s), None);
    }

    #[test]
    fn the_detail_opens_with_the_selection_and_enter_puts_it_away() {
        let mut s = state();
        let scene = alerts_scene(&["a", "b"]);
        // Off the alerts page Enter does nothing, and no detail is wanted.
        assert_eq!(s.act(Action::Open, &scene, NOW), Effect::Nothing);
        s.go_to(Page::Dashboard(s.dashboard.find_page("alerts").unwrap()));
        assert_eq!(s.detail(), None);
        // Enter with nothing selected selects the top alert and opens it.
        assert_eq!(s.act(Action::Open, &scene, NOW), Effect::Reframe);
        assert_eq!(s.detail().as_deref(), Some("a"));
        assert!(s.view(NOW, false, (0, 0)).detail);
        // Moving the selection moves the detail: the pipeline is told.
        assert_eq!(s.act(Action::ScrollDown, &scene, NOW), Effect::Reframe);
        assert_eq!(s.detail().as_deref(), Some("b"));
        // Enter puts the pane away and keeps the selection for a and s.
        s.act(Action::Open, &scene, NOW);
        assert_eq!((s.detail(), s.view(NOW, false, (0, 0)).selected.as_deref()), (None, Some("b")));
        s.act(Action::Open, &scene, NOW);
        assert_eq!(s.detail().as_deref(), Some("b"));
        // Esc closes it with the selection.
        s.act(Action::Escape, &scene, NOW);
        assert_eq!(s.detail(), None);
        assert!(!s.view(NOW, false, (0, 0)).detail);
    }

    #[test]
    fn export_asks_for_the_instant_on_screen_except_on_a_wall() {
        let mut s = state();
        let scene = Scene::default();
        assert_eq!(
            s.act(Action::Export, &scene, NOW),
            Effect::Export { at_ms: NOW, window_ms: 15 * 60_000, path: None }
        );
        s.act(Action::Back, &scene, NOW);
        let typed = s.command(Command::Export(Some("pm.md".into())), &scene, NOW);
        assert_eq!(
            typed,
            Effect::Export { at_ms: NOW - 15 * 60_000 / 4, window_ms: 15 * 60_000, path: Some("pm.md".into()) }
        );
        s.kiosk = true;
        assert_eq!(s.act(Action::Export, &scene, NOW), Effect::Redraw);
        assert!(s.view(NOW, false, (0, 0)).message.unwrap().0.contains("cannot export"));
    }

    #[test]
    fn a_reloaded_dashboard_keeps_the_page_by_name() {
        let mut s = state();
        let scene = Scene::default();
        s.act(Action::Page(2), &scene, NOW);
        let text = "[[page]]\ntitle = \"Business\"\n[[page]]\ntitle = \"Other\"\n";
        let d = Dashboard::parse(text, std::path::Path::new("d.toml")).unwrap();
        s.set_dashboard(Arc::new(d));
        assert_eq!(s.page, Page::Dashboard(0));
        assert_eq!(s.wanted().page, 0);
    }
}
