//! The keymap: key events to actions. Pure, so it is tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    /// Freeze the picture at this instant, or go back to live.
    TogglePause,
    /// Show the sources page, or go back from it.
    ToggleSources,
    /// Silence the selected alert (`s` on an alerts page); elsewhere `s`
    /// shows the sources page, as `S` does everywhere.
    Silence,
    /// Acknowledge the selected alert, or take the acknowledgement back.
    Ack,
    /// Open or close the selected alert's detail (Enter).
    Open,
    NextPage,
    PrevPage,
    /// A page by number, from 0.
    Page(usize),
    /// Step the page's choice (e.g. the service shown) back or forth.
    PrevChoice,
    NextChoice,
    /// Scroll through history by a quarter of the window.
    Back,
    Forward,
    Wider,
    Narrower,
    Live,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    /// Select the next older / newer event marker on the charts.
    OlderMarker,
    NewerMarker,
    /// Open the `:` command line.
    Command,
    /// Open the `/` filter line.
    Filter,
    /// Close the help, clear the filter, or return to live, in that order.
    Escape,
    /// Drop the wait (or the current attempt) and dial the gateway now.
    ReconnectNow,
    /// Write the Markdown report of the incident on screen.
    Export,
    None,
}

pub fn action(key: KeyEvent) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::None;
    }
    match (key.code, key.modifiers) {
        (KeyCode::Char('c'), m) if m.contains(KeyModifiers::CONTROL) => Action::Quit,
        (KeyCode::Char('q'), _) => Action::Quit,
        (KeyCode::Char('?'), _) | (KeyCode::F(1), _) => Action::ToggleHelp,
        (KeyCode::Char('p'), _) | (KeyCode::Char(' '), _) => Action::TogglePause,
        (KeyCode::Char('s'), _) => Action::Silence,
        (KeyCode::Char('S'), _) => Action::ToggleSources,
        (KeyCode::Char('a'), _) => Action::Ack,
        (KeyCode::Tab, _) => Action::NextPage,
        (KeyCode::BackTab, _) => Action::PrevPage,
        (KeyCode::Char(c @ '1'..='9'), _) => Action::Page(c as usize - '1' as usize),
        (KeyCode::Char('['), _) => Action::PrevChoice,
        (KeyCode::Char(']'), _) => Action::NextChoice,
        (KeyCode::Left, _) | (KeyCode::Char('h'), _) => Action::Back,
        (KeyCode::Right, _) | (KeyCode::Char('l'), _) => Action::Forward,
        (KeyCode::Char('+'), _) | (KeyCode::Char('='), _) => Action::Wider,
        (KeyCode::Char('-'), _) | (KeyCode::Char('_'), _) => Action::Narrower,
        (KeyCode::End, _) | (KeyCode::Char('G'), _) => Action::Live,
        (KeyCode::Up, _) | (KeyCode::Char('k'), _) => Action::ScrollUp,
        (KeyCode::Down, _) | (KeyCode::Char('j'), _) => Action::ScrollDown,
        (KeyCode::PageUp, _) => Action::PageUp,
        (KeyCode::PageDown, _) => Action::PageDown,
        (KeyCode::Char('m'), _) => Action::OlderMarker,
        (KeyCode::Char('M'), _) => Action::NewerMarker,
        (KeyCode::Char(':'), _) => Action::Command,
        (KeyCode::Char('/'), _) => Action::Filter,
        (KeyCode::Char('r'), _) => Action::ReconnectNow,
        (KeyCode::Char('E'), _) => Action::Export,
        (KeyCode::Esc, _) => Action::Escape,
        (KeyCode::Enter, _) => Action::Open,
        _ => Action::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(action(k('q')), Action::Quit);
        assert_eq!(action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Quit);
        assert_eq!(action(k('c')), Action::None);
        assert_eq!(action(k('r')), Action::ReconnectNow);
        assert_eq!(action(k('E')), Action::Export);
        assert_eq!(action(k('e')), Action::None);
        assert_eq!(action(k('a')), Action::Ack);
        assert_eq!(action(k('s')), Action::Silence);
        assert_eq!(action(k('S')), Action::ToggleSources);
        assert_eq!(action(k('?')), Action::ToggleHelp);
        assert_eq!(action(k('p')), Action::TogglePause);
        assert_eq!(action(k('3')), Action::Page(2));
        assert_eq!(action(k(':')), Action::Command);
        assert_eq!(action(k('/')), Action::Filter);
        assert_eq!(action(k('+')), Action::Wider);
        assert_eq!(action(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE)), Action::Back);
        assert_eq!(action(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)), Action::Live);
        assert_eq!(action(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)), Action::PrevPage);
        assert_eq!(action(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Action::Escape);
        assert_eq!(action(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), Action::Open);
    }

    #[test]
    fn releases_do_nothing() {
        let mut release = k('s');
        release.kind = KeyEventKind::Release;
        assert_eq!(action(release), Action::None);
        assert_eq!(action(k('s')), Action::Silence);
    }
}
