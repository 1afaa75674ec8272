//! The pipeline's side of incidents: it sees every alert change, event and
//! link change as it happens, so it keeps the timeline, saves it every
//! half minute when it changed (and on exit), and answers the screen's
//! requests for a report.

use super::Pipeline;
use crate::incident::report::{self, Inputs, Report};
use crate::incident::timeline::{AlertChange, Entry, LinkState, Step, What};
use crate::incident::timeline_file::{self, TimelineFileError};
use crate::incident::{ExportRequest, Timeline, export};
use crate::model::{Alert, ConnState, Event};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// How often a changed timeline is saved: a crash loses at most this much
/// of it (and the next start's replay over history finds the rules' part).
const SAVE_EVERY_MS: i64 = 30_000;

#[derive(Debug, Default)]
pub(super) struct Incidents {
    timeline: Timeline,
    /// Where the timeline is kept; `None` keeps it in memory only.
    file: Option<PathBuf>,
    dirty: bool,
    last_save_ms: Option<i64>,
    /// Set while a save runs on a blocking thread, so saves never pile up.
    saving: Arc<AtomicBool>,
    /// The link state last recorded, and its gateway: a link that keeps
    /// retrying is one entry, not one per attempt.
    link: Option<(LinkState, String)>,
    /// Where reports go when no path is given; the current directory if `None`.
    dir: Option<PathBuf>,
    /// Taken by [`super::run`], which listens on it.
    pub(super) exports: Option<mpsc::Receiver<ExportRequest>>,
}

impl Incidents {
    /// `alert` changed by `step` at `at_ms`, judged on `value`; `replayed`
    /// when the change was found by playing the rules over history.
    pub(super) fn alert(
        &mut self,
        alert: &Alert,
        step: Step,
        value: Option<f64>,
        at_ms: i64,
        now_ms: i64,
        replayed: bool,
    ) {
        let entry = Entry { at_ms, what: What::Alert(AlertChange::new(alert, step, value)) };
        let added =
            if replayed { self.timeline.record_replayed(entry, now_ms) } else { self.timeline.record(entry, now_ms) };
        self.dirty |= added;
    }

    pub(super) fn event(&mut self, e: &Event, now_ms: i64) {
        let what = What::Event { kind: e.kind.clone(), text: e.text.clone(), labels: e.labels.clone() };
        self.dirty |= self.timeline.record(Entry { at_ms: e.ts, what }, now_ms);
    }

    /// A link state from a source. Reconnecting and given-up states do not
    /// name their gateway: they are the one last connected, else `preferred`.
    pub(super) fn link(&mut self, c: &ConnState, preferred: &str, now_ms: i64) {
        let last_url = self.link.as_ref().map_or(preferred, |(_, u)| u.as_str()).to_string();
        let (state, url, detail) = match c {
            // Dialling is part of reconnecting, or of starting.
            ConnState::Connecting { .. } => return,
            ConnState::Connected { url, transport, .. } => {
                (LinkState::Connected, url.clone(), format!("over {}", transport.name()))
            }
            ConnState::Reconnecting { error, class, .. } => {
                (LinkState::Reconnecting, last_url, format!("{} error: {error}", class.name()))
            }
            ConnState::Disconnected { error } => (LinkState::Disconnected, last_url, error.clone()),
        };
        if self.link.as_ref().is_some_and(|(s, u)| *s == state && *u == url) {
            return;
        }
        self.link = Some((state, url.clone()));
        let entry = Entry { at_ms: now_ms, what: What::Link { state, url, detail } };
        self.dirty |= self.timeline.record(entry, now_ms);
    }
}

impl Pipeline {
    /// Keeps the timeline in `file` and reads what it holds. A file that
    /// cannot be read is reported and starts an empty timeline, which the
    /// next save writes over it.
    pub fn keep_timeline_in(&mut self, file: PathBuf, now_ms: i64) -> Result<(), TimelineFileError> {
        let loaded = timeline_file::load(&file, now_ms);
        self.incidents.file = Some(file);
        self.incidents.timeline = loaded?;
        Ok(())
    }

    /// Writes reports to `dir` when no path is given.
    pub fn export_to(&mut self, dir: PathBuf) {
        self.incidents.dir = Some(dir);
    }

    /// Where the screen's requests for a report arrive.
    pub fn hear_exports(&mut self, exports: mpsc::Receiver<ExportRequest>) {
        self.incidents.exports = Some(exports);
    }

    /// Every alert change, event and link change kept.
    pub fn timeline(&self) -> &Timeline {
        &self.incidents.timeline
    }

    /// The report of the incident around `at_ms` (the window shown when
    /// there is none).
    pub fn incident_report(&self, at_ms: i64, window_ms: i64, now_ms: i64) -> Report {
        let slos = self.slos.specs().iter().zip(self.slos.ledgers()).collect();
        let source = self.source.demo.as_ref().map_or(self.source.url.clone(), |s| format!("the demo ({s})"));
        report::write(&Inputs { timeline: &self.incidents.timeline, slos, at_ms, window_ms, now_ms, source: &source })
    }

    /// Writes the report asked for and tells the screen where. Written on
    /// the pipeline's task: it is a few kilobytes, once in a while, and
    /// must describe the timeline as it stands when asked.
    pub fn export(&self, req: ExportRequest, now_ms: i64) {
        let report = self.incident_report(req.at_ms.min(now_ms), req.window_ms, now_ms);
        let written =
            export::save(&report.markdown, req.path.as_deref(), self.incidents.dir.as_deref(), report.from_ms);
        match &written {
            Ok(path) => tracing::info!(path = %path.display(), incident = report.incident, "incident report written"),
            Err(e) => tracing::warn!(error = %e, "incident report not written"),
        }
        // The screen may have gone meanwhile; the file is written anyway.
        let _ = req.reply.send(written);
    }

    /// Saves the timeline now, if it has a file.
    pub fn save_timeline(&self, now_ms: i64) -> std::io::Result<()> {
        let Some(file) = &self.incidents.file else { return Ok(()) };
        // An autosave still writing would otherwise land after this, older.
        for _ in 0..100 {
            if !self.incidents.saving.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        timeline_file::write(file, &timeline_file::encode(&self.incidents.timeline, now_ms)?)
    }

    /// Called once a second by the pipeline task: saves a changed timeline
    /// every [`SAVE_EVERY_MS`], writing on a blocking thread.
    pub(super) fn autosave_timeline(&mut self, now_ms: i64) {
        let inc = &mut self.incidents;
        let Some(file) = inc.file.clone() else { return };
        let last = *inc.last_save_ms.get_or_insert(now_ms);
        if !inc.dirty || now_ms - last < SAVE_EVERY_MS || inc.saving.swap(true, Ordering::AcqRel) {
            return;
        }
        inc.last_save_ms = Some(now_ms);
        inc.dirty = false;
        let bytes = timeline_file::encode(&inc.timeline, now_ms);
        let saving = inc.saving.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = bytes.and_then(|b| timeline_file::write(&file, &b)) {
                tracing::warn!(error = %e, path = %file.display(), "cannot save the incident timeline");
            }
            saving.store(false, Ordering::Release);
        });
    }
}
