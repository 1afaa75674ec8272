//! `cargo bench`: prints how fast the hot paths are and how much memory the
//! store holds. Figures, not assertions: compare them across changes.
//!
//! - decode: one typical `metrics` frame (every series of the demo)
//! - ingest: observations folded into the store per second
//! - scene: deriving the picture from five minutes of history
//! - render: one full frame at several terminal sizes
//! - memory: resident size after a simulated day of data, against the ceiling

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use vigil::model::{ConnState, Transport, Update};
use vigil::pipeline::Pipeline;
use vigil::scene::SourceInfo;
use vigil::sim::{Scenario, Simulator};
use vigil::source::{SourceStats, convert};
use vigil::theme::Theme;
use vigil::view::{self, UiView};
use vigil::wire::{self, MetricsFrame, ServerFrame, WireTime};

const NOW: i64 = 1_751_279_760_000; // 2025-06-30T10:36:00Z

fn per_iter(label: &str, iters: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let each = start.elapsed().as_secs_f64() / iters as f64;
    println!("{label:<44} {:>10.1} µs", each * 1e6);
    each
}

fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

fn filled_pipeline(sim: &Simulator, seconds: i64) -> Pipeline {
    let mut p = Pipeline::new(
        SourceInfo { url: "ws://bench".into(), demo: Some("bench".into()) },
        vec![Arc::new(SourceStats::default())],
    );
    let metrics = sim.catalogue().iter().map(convert::metric_meta).collect();
    p.apply(Update::Catalogue { metrics, interval_ms: 1000 }, NOW);
    p.apply(
        Update::Conn(ConnState::Connected {
            since_ms: NOW,
            server: "bench".into(),
            url: String::new(),
            transport: Transport::Ws,
        }),
        NOW,
    );
    for t in (NOW - seconds * 1000..=NOW).step_by(1000) {
        p.apply(Update::Samples { observations: convert::observations(t, &sim.sample(t)), live: true, seq: None }, t);
    }
    p
}

fn main() {
    let sim = Simulator::new(7, Scenario::ErrorBurst);
    let points = sim.sample(NOW);
    let frame = ServerFrame::Metrics(MetricsFrame { seq: Some(1), timestamp: WireTime(NOW), points: points.clone() });
    let text = serde_json::to_string(&frame).unwrap();
    println!("demo frame: {} series, {} bytes of JSON\n", points.len(), text.len());

    let decode = per_iter("decode one metrics frame", 2000, || {
        black_box(wire::decode_frame(black_box(&text)).unwrap());
    });
    println!("{:<44} {:>10.0} frames/s", "  decode throughput", 1.0 / decode);

    let mut p = filled_pipeline(&sim, 1);
    let mut t = NOW;
    let obs_per_frame = points.len() as f64;
    let ingest = per_iter("ingest one frame into the store", 5000, || {
        t += 1000;
        let observations = convert::observations(t, &points);
        p.apply(Update::Samples { observations, live: true, seq: None }, t);
    });
    println!("{:<44} {:>10.0} observations/s", "  ingest throughput", obs_per_frame / ingest);

    let p = filled_pipeline(&sim, 600);
    per_iter("derive the scene (10 min of history)", 200, || {
        black_box(p.scene(NOW));
    });

    let scene = p.scene(NOW);
    let theme = Theme::built_in("dark").unwrap();
    let ui = UiView::default();
    println!();
    for (w, h) in [(80, 24), (120, 40), (200, 60), (300, 80)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        per_iter(&format!("render one frame at {w}x{h}"), 300, || {
            term.draw(|f| view::render(f, &scene, &ui, &theme, NOW)).unwrap();
        });
    }

    println!();
    let before = rss_kib();
    let day = filled_pipeline(&sim, 86_400);
    let after = rss_kib();
    let series = day.store.len();
    if let (Some(b), Some(a)) = (before, after) {
        println!("{:<44} {:>10} series", "store after one simulated day", series);
        println!("{:<44} {:>10.1} MiB", "  resident growth for that day", (a.saturating_sub(b)) as f64 / 1024.0);
    }
    let two_days = {
        let mut p = day;
        let mut t = NOW;
        for _ in 0..86_400 {
            t += 1000;
            p.apply(
                Update::Samples { observations: convert::observations(t, &sim.sample(t)), live: true, seq: None },
                t,
            );
        }
        p
    };
    if let (Some(a), Some(c)) = (after, rss_kib()) {
        println!("{:<44} {:>10.1} MiB", "  resident growth for a second day", (c.saturating_sub(a)) as f64 / 1024.0);
    }
    black_box(two_days.store.len());
}
