//! Incidents, for the post-mortem: the timeline of everything that changed
//! (kept by the pipeline, saved in the state dir), which span of it makes
//! one incident, and the Markdown report `E` and `:export` write.

pub mod export;
mod markdown;
pub mod report;
pub mod span;
pub mod timeline;
pub mod timeline_file;

pub use export::ExportRequest;
pub use timeline::Timeline;
