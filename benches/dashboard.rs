//! `cargo bench`: prints how fast the hot paths are and how much memory the
//! store holds. Figures, not assertions: compare them across changes.
//!
//! - decode: one typical `metrics` frame (every series of the demo)
//! - ingest: observations folded into the store per second
//! - decode + ingest: text in, store updated, on one thread, in points/s
//! - scrape: parsing a node exporter's `/metrics` page and converting it to
//!   observations
//! - scene: deriving each page of the default dashboard from ten minutes of history
//! - rules and SLOs: one evaluation of the shipped rules and the demo SLOs, and a replay over history
//! - render: one full frame of each page at 300x80, and the overview at smaller sizes
//! - memory: bytes per series over a 24 h window, measured and the ceiling,
//!   and resident size after a simulated day of the demo's data

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use vigil::core::model::{ConnState, Observation, Sample, SeriesKey, SourceId, Transport, Update};
use vigil::core::store::{self, Store};
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::sources::{SourceStats, convert};
use vigil::tui::pipeline::Pipeline;
use vigil::tui::scene::SourceInfo;
use vigil::tui::theme::Theme;
use vigil::tui::view::{self, UiView};
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
    p.apply(Update::Catalogue { metrics, interval_ms: 1000, source: SourceId::GATEWAY }, NOW);
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
        p.apply(
            Update::Samples {
                observations: convert::observations(t, &sim.sample(t)),
                live: true,
                seq: None,
                source: SourceId::GATEWAY,
            },
            t,
        );
    }
    p
}

/// Decode and ingest as the live path does them, one after the other on
/// this thread: frame text in, store updated. Several rounds, each over
/// fresh frames into a fresh pipeline; the best and worst rounds are
/// reported, as a shared machine makes single runs jitter.
fn decode_and_ingest(sim: &Simulator) {
    const FRAMES: i64 = 2000;
    const ROUNDS: usize = 5;
    let texts: Vec<String> = (1..=FRAMES)
        .map(|i| {
            let t = NOW + i * 1000;
            let frame = ServerFrame::Metrics(MetricsFrame {
                seq: Some(i as u64),
                timestamp: WireTime(t),
                points: sim.sample(t),
            });
            serde_json::to_string(&frame).unwrap()
        })
        .collect();
    let decode_one = |text: &str| match wire::decode_frame(text) {
        Ok(wire::Decoded::Frame { frame: ServerFrame::Metrics(m), .. }) => {
            convert::into_observations(m.timestamp.0, m.points)
        }
        other => panic!("not a metrics frame: {other:?}"),
    };
    let (mut best, mut worst, mut decode_best, mut ingest_best) = (f64::MAX, 0.0f64, f64::MAX, f64::MAX);
    let mut points = 0;
    for _ in 0..ROUNDS {
        let mut p = filled_pipeline(sim, 0);
        let start = Instant::now();
        points = 0;
        for text in &texts {
            let observations = decode_one(text);
            points += observations.len();
            p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, NOW);
        }
        best = best.min(start.elapsed().as_secs_f64());
        worst = worst.max(start.elapsed().as_secs_f64());
        black_box(p.core().store.stats);

        // The two halves alone, to see where the time goes.
        let start = Instant::now();
        let decoded: Vec<Vec<Observation>> = texts.iter().map(|t| decode_one(t)).collect();
        decode_best = decode_best.min(start.elapsed().as_secs_f64());
        let mut p = filled_pipeline(sim, 0);
        let start = Instant::now();
        for observations in decoded {
            p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, NOW);
        }
        ingest_best = ingest_best.min(start.elapsed().as_secs_f64());
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    println!("decode + ingest, one core ({FRAMES} frames, {points} points)");
    println!("{:<44} {:>10.0} points/s", "  decode + ingest (best round)", points as f64 / best);
    println!("{:<44} {:>10.0} points/s", format!("  decode + ingest (worst of {ROUNDS})"), points as f64 / worst);
    println!("{:<44} {:>10.1} µs", "  per frame", best / FRAMES as f64 * 1e6);
    println!("{:<44} {:>10.1} MB/s of JSON", "  input rate", bytes as f64 / best / 1e6);
    println!("{:<44} {:>10.0} points/s", "  decode alone (to observations)", points as f64 / decode_best);
    println!("{:<44} {:>10.0} points/s", "  ingest alone", points as f64 / ingest_best);
}

/// Memory per series over a 24 h window: many numeric series filled for
/// 25 hours at one point a second (every tier full and wrapped), resident
/// growth divided by the series count, beside the ceiling computed from
/// the tier capacities.
fn bytes_per_series() {
    const SERIES: usize = 400;
    let mut store = Store::new(SERIES);
    let mut obs: Vec<Observation> = (0..SERIES)
        .map(|i| Observation {
            key: SeriesKey::new("bench_gauge").with("instance", &format!("host-{i:04}")),
            ts: 0,
            sample: Sample::Number(0.0),
        })
        .collect();
    let before = rss_kib();
    for s in 0..25 * 3600 {
        let ts = NOW + s * 1000;
        for (i, o) in obs.iter_mut().enumerate() {
            o.ts = ts;
            o.sample = Sample::Number((s as usize + i) as f64);
            store.insert(o, Some(vigil::core::store::Live::at(ts, 1000, 0, SourceId::GATEWAY)));
        }
    }
    let after = rss_kib();
    println!("{:<44} {:>10} B", "ceiling per numeric series (tiers)", store::series_ceiling_bytes());
    if let (Some(b), Some(a)) = (before, after) {
        let per = (a.saturating_sub(b) * 1024) as f64 / SERIES as f64;
        println!("{:<44} {:>10.0} B", format!("  measured: {SERIES} series over 25 h, each"), per);
    }
    black_box(store.len());
}

/// Selects one memory measurement in a child process of this bench.
const PART: &str = "VIGIL_BENCH_PART";

/// Runs one memory measurement in a fresh process: in this one, memory
/// that the timing runs freed would be reused and hide the growth.
fn in_child(part: &str) {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let ran = std::env::current_exe().and_then(|exe| std::process::Command::new(exe).env(PART, part).status());
    if !ran.as_ref().is_ok_and(|s| s.success()) {
        println!("(memory part {part:?} did not run: {ran:?})");
    }
}

/// Resident size after a simulated day of the demo's data, then a second.
fn simulated_days(sim: &Simulator) {
    let before = rss_kib();
    let day = filled_pipeline(sim, 86_400);
    let after = rss_kib();
    let series = day.core().store.len();
    if let (Some(b), Some(a)) = (before, after) {
        println!("{:<44} {:>10} series", "store after one simulated day", series);
        println!("{:<44} {:>10.1} MiB", "  resident growth for that day", (a.saturating_sub(b)) as f64 / 1024.0);
    }
    let mut p = day;
    let mut t = NOW;
    for _ in 0..86_400 {
        t += 1000;
        p.apply(
            Update::Samples {
                observations: convert::observations(t, &sim.sample(t)),
                live: true,
                seq: None,
                source: SourceId::GATEWAY,
            },
            t,
        );
    }
    if let (Some(a), Some(c)) = (after, rss_kib()) {
        println!("{:<44} {:>10.1} MiB", "  resident growth for a second day", (c.saturating_sub(a)) as f64 / 1024.0);
    }
    // The state file a day of the demo makes, and how long writing it takes.
    let file = vigil::tui::pipeline::StateFile::new(&std::env::temp_dir().join("vigil-bench-state"), &[]);
    let start = Instant::now();
    if let Ok(bytes) = p.save(&file, t) {
        let took = start.elapsed().as_secs_f64() * 1e3;
        println!("{:<44} {:>10.1} MiB in {took:.0} ms", "  state file after two days", bytes as f64 / (1 << 20) as f64);
        let start = Instant::now();
        let mut fresh = Pipeline::new(SourceInfo::default(), Vec::new());
        let restored = fresh.restore(&file, t).unwrap_or(0);
        let took = start.elapsed().as_secs_f64() * 1e3;
        println!("{:<44} {:>10} series in {took:.0} ms", "  restoring it", restored);
    }
    let _ = std::fs::remove_file(&file.path);
    black_box(p.core().store.len());
}

/// A real node exporter's page (see `scripts/capture_exposition.sh`):
/// parsed, then converted to observations, on this thread.
fn scrape_page() {
    const PAGE: &str = include_str!("../tests/fixtures/exposition/node_exporter.txt");
    let parsed = vigil::sources::scrape::parse(PAGE);
    let samples = parsed.samples;
    let extra: vigil::core::model::Labels = [("job".to_string(), "node".to_string())].into();
    println!("node exporter page: {} bytes, {samples} samples, {} families", PAGE.len(), parsed.families.len());
    let parse = per_iter("  parse", 500, || {
        black_box(vigil::sources::scrape::parse(black_box(PAGE)));
    });
    let convert = per_iter("  convert to observations", 500, || {
        black_box(vigil::sources::scrape::to_observations(&parsed.families, NOW, &extra));
    });
    let both = per_iter("  parse + convert", 500, || {
        let p = vigil::sources::scrape::parse(black_box(PAGE));
        black_box(vigil::sources::scrape::to_observations(&p.families, NOW, &extra));
    });
    println!("{:<44} {:>10.3} ms", "  parse + convert, per page", both * 1e3);
    println!("{:<44} {:>10.0} samples/s", "  parse + convert throughput", samples as f64 / both);
    println!("{:<44} {:>10.0} samples/s", "  parse alone", samples as f64 / parse);
    println!("{:<44} {:>10.0} samples/s", "  convert alone", samples as f64 / convert);
    println!("{:<44} {:>10.1} MB/s", "  input rate", PAGE.len() as f64 / both / 1e6);
}

fn main() {
    let sim = Simulator::new(7, Scenario::ErrorBurst);
    match std::env::var(PART).as_deref() {
        Ok("series") => return bytes_per_series(),
        Ok("day") => return simulated_days(&sim),
        _ => {}
    }
    let points = sim.sample(NOW);
    let frame = ServerFrame::Metrics(MetricsFrame { seq: Some(1), timestamp: WireTime(NOW), points: points.clone() });
    let text = serde_json::to_string(&frame).unwrap();
    println!("demo frame: {} series, {} bytes of JSON\n", points.len(), text.len());

    let decode = per_iter("decode one metrics frame", 2000, || {
        black_box(wire::decode_frame(black_box(&text)).unwrap());
    });
    println!("{:<44} {:>10.0} frames/s", "  decode throughput", 1.0 / decode);

    // Copies every key out of the frame, as `convert::observations` does,
    // so this figure compares with earlier runs.
    let mut p = filled_pipeline(&sim, 1);
    let mut t = NOW;
    let obs_per_frame = points.len() as f64;
    let ingest = per_iter("ingest one frame into the store", 5000, || {
        t += 1000;
        let observations = convert::observations(t, &points);
        p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
    });
    println!("{:<44} {:>10.0} observations/s", "  ingest throughput", obs_per_frame / ingest);

    println!();
    decode_and_ingest(&sim);
    println!();
    scrape_page();
    println!();

    // Every page of the default dashboard: the scene it needs, then the
    // frame at a wall-sized terminal (and the overview at the usual sizes).
    let mut p = filled_pipeline(&sim, 600);
    let theme = Theme::built_in("dark").unwrap();
    let pages = vigil::dashboards::Dashboard::built_in().pages.len();
    let mut scenes = Vec::new();
    for page in 0..pages {
        p.set_view(vigil::tui::pipeline::ViewRequest { page, ..Default::default() });
        let title = p.scene(NOW).page.title.clone();
        per_iter(&format!("derive the scene: {title} (10 min of history)"), 100, || {
            p.forget_page();
            black_box(p.scene(NOW));
        });
        scenes.push((page, title, p.scene(NOW)));
    }
    println!();
    // What a live page costs each second: one new frame, then the page
    // again, its kept grids brought up to date rather than worked out anew.
    // The frame's ingest is timed alone first, so it can be taken away.
    let seconds = 400;
    let frames: Vec<_> =
        (1..=seconds + 1).map(|s| convert::observations(NOW + s * 1000, &sim.sample(NOW + s * 1000))).collect();
    let mut p = filled_pipeline(&sim, 600);
    let mut next = frames.iter().cloned().zip((1..).map(|s| NOW + s * 1000));
    let ingest = per_iter("  one frame in, alone", seconds as u32, || {
        let (observations, t) = next.next().unwrap_or_default();
        p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
    });
    for page in 0..pages {
        let mut p = filled_pipeline(&sim, 600);
        p.set_view(vigil::tui::pipeline::ViewRequest { page, ..Default::default() });
        let title = p.scene(NOW).page.title.clone();
        let mut next = frames.iter().cloned().zip((1..).map(|s| NOW + s * 1000));
        let both = per_iter(&format!("one frame in, then {title} again"), seconds as u32, || {
            let (observations, t) = next.next().unwrap_or_default();
            p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
            p.forget_page_keep_grids();
            black_box(p.scene(t));
        });
        println!("{:<44} {:>10.1} µs ({} grids kept)", "  of which the page", (both - ingest) * 1e6, p.kept_grids());
    }
    println!();
    // The shipped alert rules, evaluated each second over the hour of history
    // the traffic baseline reaches back over.
    let mut p = filled_pipeline(&sim, 3900);
    p.set_rules(Arc::new(vigil::core::alert::defaults::rules()));
    per_iter("evaluate the shipped alert rules (1 h held)", 200, || {
        black_box(p.evaluate_rules(NOW));
    });
    // The demo's two SLOs each second, and the ledger fill every five
    // minutes (a day of buckets worked out again from the store).
    p.set_slos(Arc::new(vigil::core::slo::demo()));
    p.evaluate_slos(NOW);
    per_iter("evaluate the demo's two SLOs (1 h held)", 200, || {
        black_box(p.evaluate_slos(NOW));
    });
    let mut t = NOW;
    per_iter("  the same, refilling their ledgers", 20, || {
        t += 300_000;
        black_box(p.evaluate_slos(t));
    });
    // What start-up costs once the backfill is in: the dashboard plays the
    // rules over their reach, `tail --since 30m` over its half hour.
    per_iter("replay them over their reach (15 min, 10 s steps)", 10, || {
        black_box(p.replay_rules(NOW));
    });
    per_iter("replay them over 30 min (10 s steps)", 10, || {
        let mut rules = vigil::core::alert::rules::RuleSet::new(vigil::core::alert::defaults::rules());
        black_box(rules.replay(&p.core().store, NOW - 1_800_000, NOW, vigil::core::alert::rules::REPLAY_STEP_MS));
    });
    println!();
    for (page, title, scene) in &scenes {
        let ui = UiView { page: view::Page::Dashboard(*page), ..UiView::default() };
        let mut term = Terminal::new(TestBackend::new(300, 80)).unwrap();
        per_iter(&format!("render {title} at 300x80"), 200, || {
            term.draw(|f| view::render(f, scene, &ui, &theme, NOW)).unwrap();
        });
    }
    let ui = UiView::default();
    let overview = &scenes[0].2;
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        per_iter(&format!("render Overview at {w}x{h}"), 300, || {
            term.draw(|f| view::render(f, overview, &ui, &theme, NOW)).unwrap();
        });
    }

    println!();
    in_child("series");
    in_child("day");
}
