//! A bounded buffer of already-serialised frames, indexed by `seq`, so a
//! client that lost its connection can be given exactly what it missed.
//!
//! Frames are pushed in `seq` order and trimmed only from the front, so the
//! buffer always holds one contiguous run of sequence numbers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Limits of one replay buffer: whichever is hit first trims the oldest frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplayLimits {
    /// How long a frame is kept.
    pub window: Duration,
    /// Most frames kept, whatever their age.
    pub max_frames: usize,
    /// Most bytes kept, so a session subscribed to everything cannot grow without bound.
    pub max_bytes: usize,
}

impl ReplayLimits {
    /// Limits for a stream producing about `frames_per_tick` frames every `interval`.
    pub fn for_stream(window: Duration, interval: Duration, frames_per_tick: usize) -> Self {
        let ticks = window.as_millis() / interval.as_millis().max(1) + 1;
        let frames = (ticks as usize).saturating_mul(frames_per_tick).saturating_add(64);
        ReplayLimits { window, max_frames: frames.min(100_000), max_bytes: 64 << 20 }
    }
}

struct Entry<T> {
    seq: u64,
    at: Instant,
    bytes: usize,
    item: T,
}

/// Frames after some `seq`, or the reason they cannot be given.
#[derive(Debug, PartialEq)]
pub(crate) enum Replay<T> {
    /// Every frame after the requested `seq`, in order (possibly none).
    Frames(Vec<T>),
    /// The requested `seq` is newer than anything this stream produced.
    Ahead,
    /// Some frames after the requested `seq` were already trimmed.
    Exhausted,
}

/// The replay buffer itself.
pub(crate) struct ReplayBuffer<T> {
    entries: VecDeque<Entry<T>>,
    bytes: usize,
    limits: ReplayLimits,
}

impl<T: Clone> ReplayBuffer<T> {
    pub fn new(limits: ReplayLimits) -> Self {
        ReplayBuffer { entries: VecDeque::new(), bytes: 0, limits }
    }

    /// Appends frame `seq` (one more than the previous) and trims what is too old.
    pub fn push(&mut self, seq: u64, item: T, bytes: usize, now: Instant) {
        self.entries.push_back(Entry { seq, at: now, bytes, item });
        self.bytes += bytes;
        self.trim(now);
    }

    /// Drops frames beyond any of the limits, oldest first.
    pub fn trim(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let too_old = now.saturating_duration_since(front.at) > self.limits.window;
            let too_many = self.entries.len() > self.limits.max_frames;
            let too_big = self.bytes > self.limits.max_bytes && self.entries.len() > 1;
            if !(too_old || too_many || too_big) {
                break;
            }
            self.bytes -= front.bytes;
            self.entries.pop_front();
        }
    }

    /// Every frame after `since`, given that `last` is the newest seq the stream used.
    pub fn after(&self, since: u64, last: u64) -> Replay<T> {
        if since > last {
            return Replay::Ahead;
        }
        if since == last {
            return Replay::Frames(Vec::new());
        }
        match self.entries.front() {
            Some(front) if front.seq <= since + 1 => {
                let frames = self.entries.iter().filter(|e| e.seq > since).map(|e| e.item.clone()).collect();
                Replay::Frames(frames)
            }
            _ => Replay::Exhausted,
        }
    }

    /// Bytes currently held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(frames: usize) -> ReplayLimits {
        ReplayLimits { window: Duration::from_secs(60), max_frames: frames, max_bytes: 1 << 20 }
    }

    #[test]
    fn replays_exactly_what_follows() {
        let now = Instant::now();
        let mut buf = ReplayBuffer::new(limits(10));
        for seq in 1..=5 {
            buf.push(seq, seq, 1, now);
        }
        assert_eq!(buf.after(2, 5), Replay::Frames(vec![3, 4, 5]));
        assert_eq!(buf.after(0, 5), Replay::Frames(vec![1, 2, 3, 4, 5]));
        assert_eq!(buf.after(5, 5), Replay::Frames(vec![]));
        assert_eq!(buf.after(6, 5), Replay::Ahead);
    }

    #[test]
    fn trimmed_frames_cannot_be_replayed() {
        let now = Instant::now();
        let mut buf = ReplayBuffer::new(limits(3));
        for seq in 1..=5 {
            buf.push(seq, seq, 1, now);
        }
        assert_eq!(buf.after(1, 5), Replay::Exhausted);
        assert_eq!(buf.after(2, 5), Replay::Frames(vec![3, 4, 5]));
    }

    #[test]
    fn old_frames_age_out() {
        let start = Instant::now();
        let mut buf = ReplayBuffer::new(limits(100));
        buf.push(1, 1, 1, start);
        buf.push(2, 2, 1, start + Duration::from_secs(61));
        assert_eq!(buf.after(0, 2), Replay::Exhausted);
        assert_eq!(buf.after(1, 2), Replay::Frames(vec![2]));
    }

    #[test]
    fn byte_cap_keeps_the_newest_frame() {
        let now = Instant::now();
        let mut buf =
            ReplayBuffer::new(ReplayLimits { window: Duration::from_secs(60), max_frames: 100, max_bytes: 10 });
        buf.push(1, 1, 8, now);
        buf.push(2, 2, 8, now);
        assert_eq!(buf.bytes(), 8);
        buf.push(3, 3, 50, now);
        assert_eq!(buf.after(2, 3), Replay::Frames(vec![3]));
    }
}
