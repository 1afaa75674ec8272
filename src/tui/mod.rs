//! The terminal dashboard: the task that runs a core for the screen and
//! publishes scenes (`pipeline`), the scene itself (`scene`), the render
//! loop, keys and UI-local state (`app`), pure render functions from scene
//! to frame (`view`), themes, the terminal's set-up and restore, and the
//! config watcher.
//!
//! May import: `core`, `dashboards`, `sources` (the pipeline asks them for
//! history and queries), `config`. `view` imports only the scene, the theme
//! and `core::format`/`core::units`. Never the gateway.

pub mod app;
pub mod paint;
pub mod pipeline;
pub mod reload;
pub mod scene;
pub mod terminal;
pub mod theme;
pub mod view;
