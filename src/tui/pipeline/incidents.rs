//! The pipeline's side of incidents: the core keeps the timeline; this
//! saves it every half minute when it changed (and on exit), and answers
//! the screen's requests for a report.

use super::Pipeline;
use crate::core::incident::report::{self, Inputs, Report};
use crate::core::incident::timeline_file::{self, TimelineFileError};
use crate::core::incident::{ExportRequest, Timeline, export};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// How often a changed timeline is saved: a crash loses at most this much
/// of it (and the next start's replay over history finds the rules' part).
const SAVE_EVERY_MS: i64 = 30_000;

/// Where the timeline is saved and reports are written.
#[derive(Debug, Default)]
pub(super) struct Incidents {
    /// Where the timeline is kept; `None` keeps it in memory only.
    file: Option<PathBuf>,
    last_save_ms: Option<i64>,
    /// Set while a save runs on a blocking thread, so saves never pile up.
    saving: Arc<AtomicBool>,
    /// Where reports go when no path is given; the current directory if `None`.
    dir: Option<PathBuf>,
    /// Taken by [`super::run`], which listens on it.
    pub(super) exports: Option<mpsc::Receiver<ExportRequest>>,
}

impl Pipeline {
    /// Keeps the timeline in `file` and reads what it holds. A file that
    /// cannot be read is reported and starts an empty timeline, which the
    /// next save writes over it.
    pub fn keep_timeline_in(&mut self, file: PathBuf, now_ms: i64) -> Result<(), TimelineFileError> {
        let loaded = timeline_file::load(&file, now_ms);
        self.incidents.file = Some(file);
        self.core.restore_timeline(loaded?, now_ms);
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
        self.core.timeline()
    }

    /// The report of the incident around `at_ms` (the window shown when
    /// there is none).
    pub fn incident_report(&self, at_ms: i64, window_ms: i64, now_ms: i64) -> Report {
        let slos = self.core.slos.specs().iter().zip(self.core.slos.ledgers()).collect();
        let source = self.source.demo.as_ref().map_or(self.source.url.clone(), |s| format!("the demo ({s})"));
        report::write(&Inputs { timeline: self.core.timeline(), slos, at_ms, window_ms, now_ms, source: &source })
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
        timeline_file::write(file, &timeline_file::encode(self.core.timeline(), now_ms)?)
    }

    /// Called once a second by the pipeline task: saves a changed timeline
    /// every [`SAVE_EVERY_MS`], writing on a blocking thread.
    pub(super) fn autosave_timeline(&mut self, now_ms: i64) {
        let inc = &mut self.incidents;
        let Some(file) = inc.file.clone() else { return };
        let last = *inc.last_save_ms.get_or_insert(now_ms);
        if !self.core.incidents.is_dirty() || now_ms - last < SAVE_EVERY_MS || inc.saving.swap(true, Ordering::AcqRel) {
            return;
        }
        inc.last_save_ms = Some(now_ms);
        self.core.incidents.take_dirty();
        let bytes = timeline_file::encode(self.core.timeline(), now_ms);
        let saving = inc.saving.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = bytes.and_then(|b| timeline_file::write(&file, &b)) {
                tracing::warn!(error = %e, path = %file.display(), "cannot save the incident timeline");
            }
            saving.store(false, Ordering::Release);
        });
    }
}
