//! A dashboard's data path without a terminal: the gateway link and the
//! pipeline a TUI runs, fed what a screen would ask for, with its scenes
//! to read. Tests look at what the screen would draw, not at frames.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigil::config::Config;
use vigil::core::slo::SloSpec;
use vigil::dashboards::Dashboard;
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions};
use vigil::tui::pipeline::{self, Pipeline, ViewRequest, Wanted};
use vigil::tui::scene::{Scene, SourceInfo};

/// What a screen asks of its gateway and pipeline.
pub struct Ask {
    pub dashboard: Dashboard,
    pub view: ViewRequest,
    /// History fetched when the link connects.
    pub backfill: Duration,
    pub slos: Vec<SloSpec>,
}

impl Default for Ask {
    fn default() -> Self {
        Ask {
            dashboard: Dashboard::built_in(),
            view: ViewRequest::default(),
            backfill: Duration::from_secs(5 * 60),
            slos: Vec::new(),
        }
    }
}

/// A running screen; [`Screen::stop`] hands back its pipeline.
pub struct Screen {
    pub scenes: watch::Receiver<Arc<Scene>>,
    cancel: CancellationToken,
    source: JoinHandle<()>,
    pipeline: JoinHandle<Pipeline>,
    _wanted: watch::Sender<Wanted>,
}

impl Screen {
    /// Connects to the gateway stream at `url` with the shipped rules.
    pub fn start(url: &str, ask: Ask) -> Screen {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let cancel = CancellationToken::new();
        let stats = Arc::new(SourceStats::for_url(url));
        let (tx, rx) = mpsc::channel(1024);
        let opts = LinkOptions {
            urls: vec![url.to_string()],
            token: None,
            backfill: ask.backfill,
            tls: vigil::sources::tls::client_config(None).unwrap(),
            first_jitter: false,
            timing: Default::default(),
        };
        let (_control, control_rx) = mpsc::channel(1);
        let link = Link::new(opts, tx, vec![stats.clone()], control_rx).unwrap();
        let source = tokio::spawn(link.run(cancel.clone()));
        let p = Pipeline::new(SourceInfo { url: url.to_string(), demo: None }, vec![stats]);
        let (wanted, wanted_rx) = watch::channel(Wanted {
            dashboard: Arc::new(ask.dashboard),
            view: ask.view,
            rules: Arc::new(Config::default().rules()),
            slos: Arc::new(ask.slos),
            detail: None,
        });
        let (scene_tx, scenes) = watch::channel(Arc::new(Scene::default()));
        let pipeline = tokio::spawn(pipeline::run(p, rx, Some(wanted_rx), scene_tx, cancel.clone()));
        Screen { scenes, cancel, source, pipeline, _wanted: wanted }
    }

    /// The scenes drawn until `done` takes one (and returns what it found),
    /// or `panic`s with `why` and the last scene's verdict after `wait`.
    pub async fn until<T>(&mut self, wait: Duration, mut done: impl FnMut(&Arc<Scene>) -> Result<T, String>) -> T {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::time::timeout(Duration::from_secs(5), self.scenes.changed()).await.ok();
            let scene = self.scenes.borrow_and_update().clone();
            match done(&scene) {
                Ok(found) => return found,
                Err(why) => assert!(tokio::time::Instant::now() < deadline, "gave up after {wait:?}: {why}"),
            }
        }
    }

    /// Stops the link and the pipeline; the pipeline as it ended.
    pub async fn stop(self) -> Pipeline {
        self.cancel.cancel();
        let _ = self.source.await;
        self.pipeline.await.unwrap()
    }
}
