//! The gateway's one book of acknowledgements and silences for every
//! screen (the `acks` capability). What people say about alerts lives
//! here, not in each screen's file, so an ack pressed on a laptop shows on
//! the wall: every `alert` frame carries the marks the book gives it, and
//! whenever those change the alert's frame goes out again, to every screen.
//!
//! An acknowledgement belongs to one alert id and ends when that alert
//! resolves; a silence is a set of Alertmanager matchers with a start and
//! an end. A silenced alert is still sent, marked, so screens show it
//! dimmed; only the webhooks keep quiet about it. The book is written whole
//! to its file (see `book_file`) on every change people make, so it
//! outlives a restart.
//!
//! Times here are the wall clock's: a silence ends when its `ends_at`
//! says, whatever clock the simulator plays on.

use super::book_file;
use super::state::Shared;
use crate::core::alert::matcher::{Matcher, all_match};
use crate::core::alert::silence::labels_named;
use crate::wire::{AlertFrame, AlertMarks, ServerFrame, WireTime, now_ms};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An ack of an alert not seen for this long is dropped: it ended while
/// the gateway was down, or its rule was removed.
const FORGET_UNSEEN_ACK_MS: i64 = 24 * 3_600_000;
/// Expired silences stay listed this long, then are forgotten.
pub(crate) const KEEP_EXPIRED_MS: i64 = 24 * 3_600_000;
/// How often time alone is looked at: silences that start or end, acks of
/// alerts that went away. Changes people make go out at once.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Someone is on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ack {
    pub by: String,
    pub at_ms: i64,
    /// When the alert was last seen pending or firing.
    pub seen_ms: i64,
    /// Whether it was seen since this process started: an ack whose alert
    /// then leaves has ended with it.
    pub seen_here: bool,
}

/// Keep quiet about what the matchers take, from `starts_at` to `ends_at`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
    pub updated_ms: i64,
}

impl Silence {
    pub fn status(&self, now_ms: i64) -> &'static str {
        if now_ms >= self.ends_at_ms {
            "expired"
        } else if now_ms < self.starts_at_ms {
            "pending"
        } else {
            "active"
        }
    }

    fn active(&self, now_ms: i64) -> bool {
        self.status(now_ms) == "active"
    }

    /// As the API answers it, with its status at `now_ms`.
    pub fn record(&self, now_ms: i64) -> SilenceRecord {
        SilenceRecord {
            id: self.id.clone(),
            matchers: self.matchers.iter().map(MatcherRecord::of).collect(),
            starts_at: WireTime(self.starts_at_ms),
            ends_at: WireTime(self.ends_at_ms),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            updated_at: WireTime(self.updated_ms),
            status: Some(self.status(now_ms).to_string()),
        }
    }
}

/// A silence as the API and the file write it (the file without `status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SilenceRecord {
    pub id: String,
    pub matchers: Vec<MatcherRecord>,
    pub starts_at: WireTime,
    pub ends_at: WireTime,
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
    pub updated_at: WireTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MatcherRecord {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl MatcherRecord {
    fn of(m: &Matcher) -> Self {
        MatcherRecord { name: m.name.clone(), value: m.value.clone(), regex: m.regex, is_equal: m.is_equal }
    }
}

/// An acknowledgement as `GET /api/v1/acks` and the ack routes answer it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AckRecord {
    pub alert_id: String,
    pub acked_by: String,
    pub acked_at: WireTime,
}

/// Every acknowledgement and silence, and what each alert was last sent with.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub acks: BTreeMap<String, Ack>,
    pub silences: Vec<Silence>,
    /// The marks each active alert's last frame carried, by id: when the
    /// book's word on it changes, its frame goes out again.
    sent: HashMap<String, AlertMarks>,
    /// Where the book is kept; `None` keeps it in memory only.
    file: Option<PathBuf>,
}

impl Book {
    /// The book kept in `file`, with what the file holds. A file that
    /// cannot be read is reported, kept aside (so the next save does not
    /// destroy it) and an empty book starts.
    pub fn open(file: Option<PathBuf>) -> Book {
        let mut book = Book { file: file.clone(), ..Book::default() };
        let Some(path) = file else { return book };
        match book_file::load(&path) {
            Ok((acks, silences)) => {
                tracing::info!(path = %path.display(), acks = acks.len(), silences = silences.len(), "acks and silences read back");
                book.acks = acks;
                book.silences = silences;
            }
            Err(e) => {
                let aside = path.with_extension("json.unreadable");
                let kept = std::fs::rename(&path, &aside).is_ok();
                tracing::warn!(error = %e, kept_as = %aside.display(), kept, "acks and silences not read back; starting empty");
            }
        }
        book
    }

    /// Writes the book whole, if it has a file.
    pub fn save(&self) -> std::io::Result<()> {
        match &self.file {
            Some(path) => book_file::save(path, &self.acks, &self.silences),
            None => Ok(()),
        }
    }

    /// [`Book::save`], with a failure logged: the change stands in memory.
    pub fn save_or_log(&self) {
        if let Err(e) = self.save() {
            tracing::warn!(error = %e, "cannot save acknowledgements and silences");
        }
    }

    /// What the book says of an alert now.
    pub fn marks(&self, frame: &AlertFrame, now_ms: i64) -> AlertMarks {
        let mut marks = AlertMarks::default();
        if frame.state != "resolved"
            && let Some(ack) = self.acks.get(&frame.id)
        {
            marks.acked_by = Some(ack.by.clone());
            marks.acked_at = Some(WireTime(ack.at_ms));
        }
        let covering = self.covering(frame, now_ms);
        if let Some(last) = covering.iter().max_by_key(|s| s.ends_at_ms) {
            marks.silenced_by = Some(last.created_by.clone());
            marks.silenced_until = Some(WireTime(last.ends_at_ms));
        }
        marks.silence_ids = covering.iter().map(|s| s.id.clone()).collect();
        marks
    }

    /// The active silences that cover an alert.
    fn covering(&self, frame: &AlertFrame, now_ms: i64) -> Vec<&Silence> {
        if !self.silences.iter().any(|s| s.active(now_ms)) {
            return Vec::new();
        }
        let name = frame.id.split(':').next().unwrap_or(&frame.id);
        let labels = labels_named(name, &frame.metric, &frame.labels);
        self.silences.iter().filter(|s| s.active(now_ms) && all_match(&s.matchers, &labels)).collect()
    }

    /// Whether an active silence covers the alert: its webhook keeps quiet.
    pub fn silenced(&self, frame: &AlertFrame, now_ms: i64) -> bool {
        !self.covering(frame, now_ms).is_empty()
    }

    /// Marks frames about to go out and remembers what they said. A
    /// resolved alert ends its acknowledgement; true when one ended.
    pub fn mark(&mut self, frames: &mut [AlertFrame], now_ms: i64) -> bool {
        let mut ended = false;
        for frame in frames {
            *frame.marks = self.marks(frame, now_ms);
            if frame.state == "resolved" {
                self.sent.remove(&frame.id);
                ended |= self.acks.remove(&frame.id).is_some();
            } else {
                self.sent.insert(frame.id.clone(), (*frame.marks).clone());
            }
        }
        ended
    }

    /// Marks a copy of `frames` for a newcomer, remembering nothing.
    pub fn marked(&self, mut frames: Vec<AlertFrame>, now_ms: i64) -> Vec<AlertFrame> {
        for frame in &mut frames {
            *frame.marks = self.marks(frame, now_ms);
        }
        frames
    }

    /// The frames of active alerts whose marks differ from what was last
    /// sent of them, marked anew.
    pub fn changed(&mut self, active: Vec<AlertFrame>, now_ms: i64) -> Vec<AlertFrame> {
        let ids: HashSet<&str> = active.iter().map(|a| a.id.as_str()).collect();
        self.sent.retain(|id, _| ids.contains(id.as_str()));
        let mut out = Vec::new();
        for mut frame in active {
            let marks = self.marks(&frame, now_ms);
            if self.sent.get(&frame.id).unwrap_or(&AlertMarks::default()) != &marks {
                self.sent.insert(frame.id.clone(), marks.clone());
                *frame.marks = marks;
                frame.seq = None;
                out.push(frame);
            }
        }
        out
    }

    /// Ends what has run its course: acks of alerts that were active here
    /// and are no longer, or not seen for a day; silences expired for a
    /// day. True when anything was dropped.
    pub fn prune(&mut self, active: &HashSet<&str>, now_ms: i64) -> bool {
        let before = (self.acks.len(), self.silences.len());
        self.acks.retain(|id, ack| {
            if active.contains(id.as_str()) {
                ack.seen_ms = now_ms;
                ack.seen_here = true;
                return true;
            }
            !ack.seen_here && now_ms - ack.seen_ms < FORGET_UNSEEN_ACK_MS
        });
        self.silences.retain(|s| now_ms - s.ends_at_ms < KEEP_EXPIRED_MS);
        before != (self.acks.len(), self.silences.len())
    }

    pub fn ack_record(&self, id: &str) -> Option<AckRecord> {
        let ack = self.acks.get(id)?;
        Some(AckRecord { alert_id: id.to_string(), acked_by: ack.by.clone(), acked_at: WireTime(ack.at_ms) })
    }
}

/// Every alert now pending or firing, the simulator's and the held core's.
pub(crate) fn active_alerts(shared: &Shared) -> Vec<AlertFrame> {
    let mut active = shared.lock_active_alerts().clone();
    active.extend(shared.held().active_alerts());
    active
}

/// Brings the screens up to date with the book: ends what has run its
/// course and sends again every active alert whose marks changed. Called
/// with the book locked, so no other alert frame goes out in between.
pub(crate) fn send_changes(shared: &Shared, book: &mut Book, now_ms: i64) {
    let active = active_alerts(shared);
    let ids: HashSet<&str> = active.iter().map(|a| a.id.as_str()).collect();
    if book.prune(&ids, now_ms) {
        book.save_or_log();
    }
    let frames: Vec<ServerFrame> = book.changed(active, now_ms).into_iter().map(ServerFrame::Alert).collect();
    if frames.is_empty() {
        return;
    }
    tracing::debug!(alerts = frames.len(), "alert marks changed; sending them again");
    let now = Instant::now();
    let none = super::frame_text::PointsText::new(now_ms, &[]);
    shared.lock_sessions().fan_out_sparse(&none, &frames, &shared.metrics, now);
    shared.sse.publish(frames, now);
}

/// Runs until shutdown: looks at the clock twice a second, so a silence
/// that starts or ends shows on every screen within a second.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(LOOK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let work = Arc::clone(&shared);
        let looked = tokio::task::spawn_blocking(move || {
            let mut book = work.lock_book();
            send_changes(&work, &mut book, now_ms());
        })
        .await;
        if let Err(e) = looked {
            tracing::error!(error = %e, "the book's look at the clock failed");
        }
    }
    tracing::debug!("book stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Labels;

    fn frame(id: &str, state: &str, service: &str) -> AlertFrame {
        AlertFrame {
            seq: None,
            id: id.into(),
            state: state.into(),
            severity: "critical".into(),
            metric: "http_error_ratio".into(),
            labels: [("service".to_string(), service.to_string())].into_iter().collect::<Labels>(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at: None,
            ends_at: None,
            marks: Box::default(),
        }
    }

    fn silence(id: &str, matchers: Vec<Matcher>, from: i64, to: i64) -> Silence {
        Silence {
            id: id.into(),
            matchers,
            starts_at_ms: from,
            ends_at_ms: to,
            created_by: "alice".into(),
            comment: String::new(),
            updated_ms: from,
        }
    }

    #[test]
    fn silences_mark_what_they_match_while_active() {
        let mut book = Book::default();
        let re = Matcher::new("service", "check.*", true, true).unwrap();
        book.silences.push(silence("s1", vec![re], 1_000, 5_000));
        let checkout = frame("http_error_ratio:checkout:1", "firing", "checkout");
        let api = frame("http_error_ratio:api:1", "firing", "api");
        assert!(book.marks(&checkout, 999).is_empty(), "pending");
        let marks = book.marks(&checkout, 1_000);
        assert_eq!(marks.silenced_by.as_deref(), Some("alice"));
        assert_eq!(marks.silenced_until, Some(WireTime(5_000)));
        assert_eq!(marks.silence_ids, ["s1"]);
        assert!(book.marks(&api, 1_000).is_empty());
        assert!(!book.silenced(&checkout, 5_000), "expired");
        // The alert's name is a label too, as screens match it.
        book.silences.push(silence("s2", vec![Matcher::equal("alertname", "http_error_ratio")], 0, 9_000));
        assert_eq!(book.marks(&api, 2_000).silence_ids, ["s2"]);
        assert_eq!(book.marks(&checkout, 2_000).silenced_until, Some(WireTime(9_000)), "the one ending last");
    }

    #[test]
    fn marks_go_out_again_only_when_they_change_and_acks_end_with_their_alert() {
        let mut book = Book::default();
        let firing = frame("cpu:api:1", "firing", "api");
        let mut sent = vec![firing.clone()];
        book.mark(&mut sent, 0);
        assert!(book.changed(vec![firing.clone()], 1).is_empty());
        book.acks.insert(firing.id.clone(), Ack { by: "bob".into(), at_ms: 2, seen_ms: 2, seen_here: true });
        let again = book.changed(vec![firing.clone()], 3);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].marks.acked_by.as_deref(), Some("bob"));
        assert!(book.changed(vec![firing.clone()], 4).is_empty());
        let mut resolved = vec![frame("cpu:api:1", "resolved", "api")];
        assert!(book.mark(&mut resolved, 5));
        assert!(resolved[0].marks.acked_by.is_none());
        assert!(book.acks.is_empty());
    }

    #[test]
    fn acks_of_alerts_that_went_away_end_and_old_silences_are_forgotten() {
        let mut book = Book::default();
        book.acks.insert("a".into(), Ack { by: "x".into(), at_ms: 0, seen_ms: 0, seen_here: false });
        book.acks.insert("b".into(), Ack { by: "y".into(), at_ms: 0, seen_ms: 0, seen_here: false });
        book.silences.push(silence("s", vec![Matcher::equal("a", "b")], 0, 10));
        let active: HashSet<&str> = ["a"].into();
        assert!(!book.prune(&active, 100), "b waits for its alert after a restart");
        assert!(book.acks["a"].seen_here);
        assert!(book.prune(&HashSet::new(), 200), "a was seen and is gone");
        assert_eq!(book.acks.keys().collect::<Vec<_>>(), ["b"]);
        assert!(book.prune(&HashSet::new(), FORGET_UNSEEN_ACK_MS + 10));
        assert!(book.acks.is_empty() && book.silences.is_empty());
    }
}
