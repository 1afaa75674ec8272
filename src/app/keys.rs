//! The keymap: key events to actions. Pure, so it is tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    TogglePause,
    /// Show the sources page, or go back from it to the overview.
    ToggleSources,
    CloseOverlay,
    /// Drop the wait (or the current attempt) and dial the gateway now.
    ReconnectNow,
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
        (KeyCode::Char('s'), _) => Action::ToggleSources,
        (KeyCode::Char('r'), _) => Action::ReconnectNow,
        (KeyCode::Esc, _) => Action::CloseOverlay,
        _ => Action::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_actions() {
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(action(k('q')), Action::Quit);
        assert_eq!(action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Quit);
        assert_eq!(action(k('c')), Action::None);
        assert_eq!(action(k('r')), Action::ReconnectNow);
        assert_eq!(action(k('?')), Action::ToggleHelp);
        assert_eq!(action(k('p')), Action::TogglePause);
        assert_eq!(action(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Action::CloseOverlay);
    }

    #[test]
    fn s_toggles_the_sources_page() {
        assert_eq!(action(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)), Action::ToggleSources);
        let mut release = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action(release), Action::None);
    }
}
