//! Kiosk mode, for a wall display nobody sits at: pages rotate, a critical
//! alert pulls its page forward (the flash and bell, and how often they may
//! go off, are `alert::alarm`'s, as off the wall), the layout creeps by
//! a cell now and then against burn-in, and the keyboard is locked.
//!
//! Everything runs on a millisecond clock passed in (`now_ms`), so it is
//! tested without sleeping. The caller ticks it at least once a second.
//!
//! # The lock
//!
//! While locked every key is swallowed, except:
//!
//! - the unlock chord: the letters `u n l o c k` typed in order within
//!   [`UNLOCK_WITHIN_MS`]. A cat or a leaning elbow does not spell words; an
//!   operator can, with no chord to remember beyond the word itself;
//! - Ctrl-C, which is passed on so whoever stands at the screen can always
//!   quit, the same as pulling the plug but tidier.
//!
//! Unlocked, keys pass through, and after [`KioskOptions::relock_idle_ms`]
//! without a key the lock closes again, so a display left unlocked after a
//! look around does not stay that way.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Typed in order, this opens the lock.
pub const UNLOCK_WORD: &str = "unlock";
/// The whole word must be typed within this long.
pub const UNLOCK_WITHIN_MS: i64 = 3_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskOptions {
    /// Time each page stays up; 0 or less stops rotation.
    pub rotate_every_ms: i64,
    /// Flash the screen on a critical alert.
    pub flash: bool,
    /// Ring the terminal bell on a critical alert.
    pub bell: bool,
    /// Least time between two alarms (jump, flash and bell), so a storm of
    /// criticals neither rings continuously nor flips pages every second.
    pub alert_min_gap_ms: i64,
    /// Time between one-cell shifts of the layout; 0 or less stops them.
    pub drift_every_ms: i64,
    pub flash_for_ms: i64,
    /// Lock again after this long without a key; 0 or less never does.
    pub relock_idle_ms: i64,
}

impl Default for KioskOptions {
    fn default() -> Self {
        KioskOptions {
            rotate_every_ms: 20_000,
            flash: true,
            bell: true,
            alert_min_gap_ms: 60_000,
            drift_every_ms: 600_000,
            flash_for_ms: 5_000,
            relock_idle_ms: 300_000,
        }
    }
}

impl KioskOptions {
    pub fn from_config(c: &crate::config::KioskConfig) -> Self {
        let ms = |d: std::time::Duration| d.as_millis().min(i64::MAX as u128) as i64;
        KioskOptions {
            rotate_every_ms: ms(c.rotate_every),
            flash: c.flash,
            bell: c.bell,
            alert_min_gap_ms: ms(c.alert_min_gap),
            drift_every_ms: ms(c.drift_every),
            ..KioskOptions::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Locked: drop the key (a release, which needs no answer).
    Swallowed,
    /// Locked: drop the key, and tell whoever pressed it how to open the
    /// lock, so a locked wall does not look like a hung one.
    Refused,
    /// The chord was completed and the lock opened; drop this key too.
    Unlocked,
    /// Handle the key as usual.
    Pass,
}

/// The layout's offsets, one per drift period, in a loop that returns home.
const DRIFT: [(u16, u16); 4] = [(0, 0), (1, 0), (1, 1), (0, 1)];

#[derive(Debug, Clone)]
pub struct Kiosk {
    opts: KioskOptions,
    pages: usize,
    page: usize,
    next_rotate_ms: i64,
    drift_origin_ms: i64,
    locked: bool,
    last_key_ms: i64,
    /// How much of the unlock word has been typed, and when it was begun.
    unlock: (usize, i64),
}

impl Kiosk {
    /// Starts locked on the first page: a wall display is locked by default,
    /// and whoever turned kiosk mode on knows the word.
    pub fn new(opts: KioskOptions, pages: usize, now_ms: i64) -> Self {
        Kiosk {
            next_rotate_ms: now_ms.saturating_add(opts.rotate_every_ms),
            opts,
            pages,
            page: 0,
            drift_origin_ms: now_ms,
            locked: true,
            last_key_ms: now_ms,
            unlock: (0, 0),
        }
    }

    pub fn options(&self) -> &KioskOptions {
        &self.opts
    }

    /// The page kiosk mode is showing.
    pub fn page(&self) -> usize {
        self.page
    }

    /// Shows `page` for a full period from now, e.g. the page that was up
    /// when kiosk mode was turned on.
    pub fn show(&mut self, page: usize, now_ms: i64) {
        if page < self.pages {
            self.page = page;
        }
        self.restart_rotation(now_ms);
    }

    pub fn set_pages(&mut self, pages: usize) {
        self.pages = pages;
        if self.page >= pages {
            self.page = 0;
        }
    }

    /// Advances the clock: returns the page to switch to when rotation is
    /// due, and closes the lock after the idle time.
    pub fn tick(&mut self, now_ms: i64) -> Option<usize> {
        if !self.locked && self.opts.relock_idle_ms > 0 && now_ms - self.last_key_ms >= self.opts.relock_idle_ms {
            self.lock();
        }
        if self.opts.rotate_every_ms <= 0 || now_ms < self.next_rotate_ms {
            return None;
        }
        // From now rather than from the missed deadline: after a suspend or
        // a stalled loop, one step, not a burst of them.
        self.restart_rotation(now_ms);
        if self.pages < 2 {
            return None;
        }
        self.page = (self.page + 1) % self.pages;
        Some(self.page)
    }

    /// A critical alert on `page` set off an alarm (which `alert::alarm`
    /// limits): show its page, and keep it up a full rotation period.
    pub fn on_alarm(&mut self, page: usize, now_ms: i64) -> Option<usize> {
        (page < self.pages).then(|| {
            self.page = page;
            self.restart_rotation(now_ms);
            page
        })
    }

    /// The bell and flash settings on a wall display, from `[kiosk]`.
    pub fn alarm_options(&self) -> crate::core::alert::alarm::AlarmOptions {
        crate::core::alert::alarm::AlarmOptions {
            flash: self.opts.flash,
            bell: self.opts.bell,
            min_gap_ms: self.opts.alert_min_gap_ms,
            flash_for_ms: self.opts.flash_for_ms,
            ..Default::default()
        }
    }

    /// How far to shift the whole layout, (columns, rows): one cell at a
    /// time, round a small square, one step per drift period, so no pixel
    /// shows the same border for hours and no step is big enough to notice.
    pub fn drift(&self, now_ms: i64) -> (u16, u16) {
        if self.opts.drift_every_ms <= 0 {
            return (0, 0);
        }
        let step = (now_ms - self.drift_origin_ms).div_euclid(self.opts.drift_every_ms);
        DRIFT[step.rem_euclid(DRIFT.len() as i64) as usize]
    }

    pub fn lock(&mut self) {
        self.locked = true;
        self.unlock = (0, 0);
    }

    pub fn unlock(&mut self, now_ms: i64) {
        self.locked = false;
        self.last_key_ms = now_ms;
    }

    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Every key goes through here first while kiosk mode is on; see the
    /// module notes for what passes a closed lock.
    pub fn key(&mut self, key: KeyEvent, now_ms: i64) -> KeyVerdict {
        if key.kind == KeyEventKind::Release {
            return if self.locked { KeyVerdict::Swallowed } else { KeyVerdict::Pass };
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            return KeyVerdict::Pass;
        }
        if !self.locked {
            self.last_key_ms = now_ms;
            // Someone is looking: keep their page up a full period.
            self.restart_rotation(now_ms);
            return KeyVerdict::Pass;
        }
        let typed = match key.code {
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => Some(c),
            _ => None,
        };
        let word: Vec<char> = UNLOCK_WORD.chars().collect();
        let (mut done, mut began) = self.unlock;
        if done > 0 && now_ms - began > UNLOCK_WITHIN_MS {
            done = 0;
        }
        if typed != Some(word[done]) {
            // A wrong letter starts over, though it may itself begin the word.
            done = 0;
        }
        if typed == Some(word[done]) {
            if done == 0 {
                began = now_ms;
            }
            done += 1;
        }
        if done == word.len() {
            self.unlock = (0, 0);
            self.unlock(now_ms);
            return KeyVerdict::Unlocked;
        }
        self.unlock = (done, began);
        KeyVerdict::Refused
    }

    fn restart_rotation(&mut self, now_ms: i64) {
        self.next_rotate_ms = now_ms.saturating_add(self.opts.rotate_every_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(pages: usize) -> Kiosk {
        Kiosk::new(KioskOptions::default(), pages, 1_000)
    }

    fn ch(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn spell(k: &mut Kiosk, word: &str, mut now: i64, step: i64) -> Vec<KeyVerdict> {
        word.chars()
            .map(|c| {
                now += step;
                k.key(ch(c), now)
            })
            .collect()
    }

    #[test]
    fn pages_rotate_every_period_and_wrap() {
        let mut k = kiosk(3);
        assert_eq!(k.tick(20_999), None);
        assert_eq!(k.tick(21_000), Some(1));
        assert_eq!(k.tick(21_500), None);
        assert_eq!(k.tick(41_000), Some(2));
        assert_eq!(k.tick(61_000), Some(0));
        assert_eq!(k.page(), 0);
    }

    #[test]
    fn a_long_stall_moves_one_page_not_many() {
        let mut k = kiosk(5);
        assert_eq!(k.tick(1_000_000), Some(1));
        assert_eq!(k.tick(1_000_001), None);
    }

    #[test]
    fn one_page_or_no_rotation_stays_put() {
        let mut k = kiosk(1);
        assert_eq!(k.tick(100_000), None);
        let mut k = Kiosk::new(KioskOptions { rotate_every_ms: 0, ..KioskOptions::default() }, 3, 0);
        assert_eq!(k.tick(1_000_000), None);
    }

    #[test]
    fn fewer_pages_bring_an_out_of_range_page_home() {
        let mut k = kiosk(4);
        k.show(3, 1_000);
        k.set_pages(2);
        assert_eq!(k.page(), 0);
        k.show(5, 1_000);
        assert_eq!(k.page(), 0);
    }

    #[test]
    fn an_alarm_jumps_and_holds_its_page_a_full_period() {
        let mut k = kiosk(3);
        assert_eq!(k.tick(21_000), Some(1));
        assert_eq!(k.on_alarm(2, 35_000), Some(2));
        assert_eq!(k.page(), 2);
        // The old deadline (41s) no longer applies.
        assert_eq!(k.tick(41_000), None);
        assert_eq!(k.tick(54_999), None);
        assert_eq!(k.tick(55_000), Some(0));
    }

    #[test]
    fn an_alarm_off_the_pages_does_not_jump() {
        let mut k = kiosk(2);
        assert_eq!(k.on_alarm(7, 5_000), None);
        assert_eq!(k.page(), 0);
    }

    #[test]
    fn the_alarm_settings_come_from_the_kiosk_options() {
        let quiet = KioskOptions { flash: false, bell: false, alert_min_gap_ms: 120_000, ..KioskOptions::default() };
        let o = Kiosk::new(quiet, 2, 0).alarm_options();
        assert_eq!((o.flash, o.bell, o.min_gap_ms), (false, false, 120_000));
    }

    #[test]
    fn the_layout_drifts_round_a_square_and_home() {
        let k = kiosk(1);
        let period = KioskOptions::default().drift_every_ms;
        let at = |n: i64| k.drift(1_000 + n * period);
        assert_eq!([at(0), at(1), at(2), at(3), at(4)], [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]);
        assert_eq!(k.drift(1_000 + period - 1), (0, 0));
        // A clock stepped backwards still lands on the square.
        assert_eq!(k.drift(1_000 - 1), (0, 1));
        let still = Kiosk::new(KioskOptions { drift_every_ms: 0, ..KioskOptions::default() }, 1, 0);
        assert_eq!(still.drift(i64::MAX / 2), (0, 0));
    }

    #[test]
    fn locked_keys_are_swallowed_but_ctrl_c_passes() {
        let mut k = kiosk(2);
        assert!(k.locked());
        for c in ['q', '?', ' ', 'p'] {
            assert_eq!(k.key(ch(c), 2_000), KeyVerdict::Refused);
        }
        assert_eq!(k.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), 2_000), KeyVerdict::Refused);
        assert_eq!(k.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 2_000), KeyVerdict::Pass);
        assert!(k.locked());
    }

    #[test]
    fn typing_the_word_unlocks() {
        let mut k = kiosk(2);
        let verdicts = spell(&mut k, "unlock", 2_000, 300);
        assert_eq!(verdicts[..5], [KeyVerdict::Refused; 5]);
        assert_eq!(verdicts[5], KeyVerdict::Unlocked);
        assert!(!k.locked());
        assert_eq!(k.key(ch('q'), 5_000), KeyVerdict::Pass);
    }

    #[test]
    fn a_slow_or_broken_word_does_not_unlock() {
        let mut k = kiosk(2);
        assert_eq!(spell(&mut k, "unlock", 2_000, 700).last(), Some(&KeyVerdict::Refused));
        assert!(k.locked());
        assert_eq!(spell(&mut k, "unxlock", 10_000, 10).last(), Some(&KeyVerdict::Refused));
        assert!(k.locked());
        // Ctrl-U is not `u`.
        k.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL), 20_000);
        assert_eq!(spell(&mut k, "nlock", 20_000, 10).last(), Some(&KeyVerdict::Refused));
        // A false start recovers: the second `u` begins the word afresh.
        assert_eq!(spell(&mut k, "uunlock", 30_000, 10).last(), Some(&KeyVerdict::Unlocked));
    }

    #[test]
    fn an_idle_unlocked_display_locks_itself() {
        let mut k = kiosk(2);
        spell(&mut k, "unlock", 2_000, 10);
        assert!(!k.locked());
        k.key(ch('x'), 100_000);
        k.tick(399_999);
        assert!(!k.locked());
        k.tick(400_000);
        assert!(k.locked());
    }

    #[test]
    fn keys_while_unlocked_hold_the_page() {
        let mut k = kiosk(3);
        spell(&mut k, "unlock", 2_000, 10);
        k.key(ch('j'), 15_000);
        assert_eq!(k.tick(21_000), None);
        assert_eq!(k.tick(35_000), Some(1));
    }

    #[test]
    fn key_releases_are_not_typing() {
        let mut k = kiosk(2);
        let mut release = ch('u');
        release.kind = KeyEventKind::Release;
        assert_eq!(k.key(release, 2_000), KeyVerdict::Swallowed);
        k.unlock(2_000);
        assert_eq!(k.key(release, 2_000), KeyVerdict::Pass);
    }
}
