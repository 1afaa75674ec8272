//! The scrape modules against real exporters' pages (captured by
//! `scripts/capture_exposition.sh`), through the store and its queries, and
//! a round trip of random pages.

use super::parse::{Family, FamilyKind, Parsed, RawSample, parse};
use super::*;
use crate::core::model::{Kind, Labels, MetricMeta, Observation, Sample};
use crate::core::query::{Reader, Span};
use crate::core::store::Store;
use crate::core::units::Unit;
use crate::dashboards::spec::{Agg, PanelKind, QuerySpec};

const PY_TEXT: &str = include_str!("../../../tests/fixtures/exposition/python_client.txt");
const PY_OM: &str = include_str!("../../../tests/fixtures/exposition/python_client.om.txt");
const NODE_TEXT: &str = include_str!("../../../tests/fixtures/exposition/node_exporter.txt");
const NODE_OM: &str = include_str!("../../../tests/fixtures/exposition/node_exporter.om.txt");
const PROMETHEUS: &str = include_str!("../../../tests/fixtures/exposition/prometheus.txt");
const GATEWAY: &str = include_str!("../../../tests/fixtures/exposition/vigil_gateway.txt");
const PY_UTF8: &str = include_str!("../../../tests/fixtures/exposition/python_client_utf8.txt");
const PY_UTF8_OM: &str = include_str!("../../../tests/fixtures/exposition/python_client_utf8.om.txt");

/// A page parsed with no error, every sample line read.
fn clean(text: &str) -> Parsed {
    let p = parse(text);
    assert_eq!((p.error_count, &p.errors), (0, &vec![]));
    assert!(!p.truncated);
    let sample_lines = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
    assert_eq!(p.samples, sample_lines);
    p
}

fn family<'a>(p: &'a Parsed, name: &str) -> &'a Family {
    p.families.iter().find(|f| f.name == name && !f.samples.is_empty()).unwrap_or_else(|| panic!("no family {name}"))
}

/// The sample of `name` whose labels include all of `with`.
fn sample<'a>(p: &'a Parsed, name: &str, with: &[(&str, &str)]) -> &'a RawSample {
    p.families
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| s.name == name && with.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .unwrap_or_else(|| panic!("no sample {name} {with:?}"))
}

fn no_extra() -> Labels {
    Labels::new()
}

/// Observations as comparable tuples, NaN included, in a fixed order.
fn comparable(obs: &[Observation]) -> Vec<(String, Labels, i64, String)> {
    let mut out: Vec<_> = obs
        .iter()
        .map(|o| {
            let v = match &o.sample {
                Sample::Number(n) => format!("{:?}", n.to_bits()),
                other => format!("{other:?}"),
            };
            (o.key.metric.clone(), o.key.labels.clone(), o.ts, v)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn python_client_text_page() {
    let p = clean(PY_TEXT);
    assert!(!p.openmetrics);
    let requests = family(&p, "shop_http_requests_total");
    assert_eq!((requests.kind, requests.samples.len()), (FamilyKind::Counter, 7));
    assert_eq!(requests.help, "HTTP requests served.");
    assert_eq!(sample(&p, "shop_http_requests_total", &[("status", "200"), ("path", "/cart")]).value, 1027.0);
    assert_eq!(sample(&p, "shop_http_requests_total", &[("status", "503")]).value, 3.0);
    // Awkward label values come back exactly as the program set them.
    for path in ["say \"hi\"", "C:\\temp\\x", "two\nlines", "a,b{c}=d"] {
        assert_eq!(sample(&p, "shop_http_requests_total", &[("path", path)]).value, 1.0, "{path:?}");
    }
    assert_eq!(family(&p, "shop_http_requests_created").kind, FamilyKind::Gauge);
    let lat = family(&p, "shop_http_request_duration_seconds");
    assert_eq!(lat.kind, FamilyKind::Histogram);
    let buckets: Vec<(&str, f64)> = lat
        .samples
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
        .map(|s| (s.labels["le"].as_str(), s.value))
        .collect();
    assert_eq!(buckets, [("0.005", 120.0), ("0.05", 900.0), ("0.5", 990.0), ("5.0", 999.0), ("+Inf", 1000.0)]);
    assert!((sample(&p, "shop_http_request_duration_seconds_sum", &[]).value - 86.52).abs() < 1e-9);
    assert_eq!(family(&p, "shop_queue_wait_seconds").kind, FamilyKind::Summary);
    assert_eq!(sample(&p, "shop_queue_wait_seconds_sum", &[]).value, 4.0);
    assert_eq!(sample(&p, "shop_http_requests_in_flight", &[]).value, 7.0);
    assert_eq!(sample(&p, "shop_fridge_temperature_celsius", &[]).value, -3.25);
    assert_eq!(sample(&p, "shop_build_info", &[("version", "1.4.2"), ("commit", "abc123")]).value, 1.0);
    assert_eq!(sample(&p, "shop_state", &[("shop_state", "running")]).value, 1.0);
    let backup = sample(&p, "shop_last_backup_size_bytes", &[("disk", "sda")]);
    assert_eq!((backup.value, backup.ts_ms), (123_456_789.0, Some(1_767_323_045_500)));
}

#[test]
fn python_client_openmetrics_page() {
    let p = clean(PY_OM);
    assert!(p.openmetrics);
    let requests = family(&p, "shop_http_requests");
    assert_eq!(requests.kind, FamilyKind::Counter);
    // Seven series, each with its `_created`.
    assert_eq!(requests.samples.len(), 14);
    // The exemplar after this sample is not its value.
    assert_eq!(sample(&p, "shop_http_requests_total", &[("status", "503")]).value, 3.0);
    assert_eq!(sample(&p, "shop_http_requests_total", &[("path", "two\nlines")]).value, 1.0);
    assert_eq!(sample(&p, "shop_http_request_duration_seconds_bucket", &[("le", "+Inf")]).value, 1000.0);
    assert_eq!(family(&p, "shop_fridge_temperature_celsius").unit, "celsius");
    assert_eq!(family(&p, "shop_build").kind, FamilyKind::Info);
    assert_eq!(family(&p, "shop_state").kind, FamilyKind::StateSet);
    // Seconds on this page, milliseconds on the other: the same instant.
    assert_eq!(sample(&p, "shop_last_backup_size_bytes", &[]).ts_ms, Some(1_767_323_045_500));
}

#[test]
fn python_client_pages_with_utf8_names() {
    for page in [PY_UTF8, PY_UTF8_OM] {
        let p = clean(page);
        // Typed under the sample's name in the text format, the family's in OpenMetrics.
        let requests = p.families.iter().find(|f| f.samples.iter().any(|s| s.name == "http.server.requests_total"));
        assert_eq!(requests.map(|f| f.kind), Some(FamilyKind::Counter));
        let post = [("http.request.method", "POST"), ("http.response.status_code", "500")];
        assert_eq!(sample(&p, "http.server.requests_total", &post).value, 3.0);
        let duration = family(&p, "http.server.request.duration_seconds");
        assert_eq!((duration.kind, duration.help.as_str()), (FamilyKind::Histogram, "Time to \"serve\" a request."));
        let le = [("http.route", "/cart"), ("le", "0.5")];
        assert_eq!(sample(&p, "http.server.request.duration_seconds_bucket", &le).value, 3.0);
        assert_eq!(sample(&p, "queue depth\n(jobs)", &[]).value, 7.0);
        assert_eq!(sample(&p, "temperature_celsius", &[("région", "Île-de-France")]).value, 21.5);
    }
    assert_eq!(family(&clean(PY_UTF8_OM), "http.server.request.duration_seconds").unit, "seconds");

    // Through to the store's names: kept, but for the line break.
    let (metas, obs) = to_observations(&clean(PY_UTF8_OM).families, 5_000, &no_extra());
    let names: Vec<&str> = metas.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "http.server.requests_total",
            "http.server.request.duration_seconds",
            "http.server.request.duration_seconds_count",
            "http.server.request.duration_seconds_sum",
            "queue depth (jobs)",
            "temperature_celsius"
        ]
    );
    let h = obs.iter().find(|o| o.key.metric == "http.server.request.duration_seconds").unwrap();
    let Sample::Histogram(h) = &h.sample else { panic!("{h:?}") };
    assert_eq!((h.count, h.sum), (4.0, 2.51));
}

#[test]
fn both_formats_of_a_page_give_the_same_observations() {
    for (text, om) in [(PY_TEXT, PY_OM), (NODE_TEXT, NODE_OM), (PY_UTF8, PY_UTF8_OM)] {
        let (_, a) = to_observations(&clean(text).families, 1_000, &no_extra());
        let (_, b) = to_observations(&clean(om).families, 1_000, &no_extra());
        assert!(!a.is_empty());
        assert_eq!(comparable(&a), comparable(&b));
    }
}

#[test]
fn python_client_page_converts_as_promql_users_name_it() {
    let (metas, obs) = to_observations(&clean(PY_OM).families, 5_000, &no_extra());
    let kind = |name: &str| metas.iter().find(|m| m.name == name).map(|m| m.kind);
    assert_eq!(kind("shop_http_requests_total"), Some(Kind::Counter));
    assert_eq!(kind("shop_http_requests_created"), None);
    assert_eq!(kind("shop_http_request_duration_seconds"), Some(Kind::Histogram));
    assert_eq!(kind("shop_queue_wait_seconds_count"), Some(Kind::Counter));
    assert_eq!(kind("shop_build_info"), Some(Kind::Gauge));
    let h = obs.iter().find(|o| o.key.metric == "shop_http_request_duration_seconds").unwrap();
    assert_eq!(h.key.labels, Labels::from([("method".to_string(), "GET".to_string())]));
    let Sample::Histogram(h) = &h.sample else { panic!("not a histogram") };
    assert_eq!(h.buckets.last(), Some(&(f64::INFINITY, 1000.0)));
    assert_eq!((h.count, h.buckets.len()), (1000.0, 5));
    // The newline in a label value is folded for the store, as any
    // source's label values are.
    assert!(obs.iter().any(|o| o.key.label("path") == "two lines"));
}

#[test]
fn node_exporter_page() {
    for text in [NODE_TEXT, NODE_OM] {
        let p = clean(text);
        let cpu = family(&p, if p.openmetrics { "node_cpu_seconds" } else { "node_cpu_seconds_total" });
        assert_eq!(cpu.kind, FamilyKind::Counter);
        assert!(cpu.samples.iter().all(|s| s.labels.contains_key("cpu") && s.labels.contains_key("mode")));
        let gc = family(&p, "go_gc_duration_seconds");
        assert_eq!(gc.kind, FamilyKind::Summary);
        let quantiles: Vec<&str> =
            gc.samples.iter().filter_map(|s| s.labels.get("quantile")).map(String::as_str).collect();
        assert_eq!(quantiles, ["0", "0.25", "0.5", "0.75", "1"]);
        let build = sample(&p, "node_exporter_build_info", &[("version", "1.5.0"), ("goversion", "go1.19.8")]);
        assert_eq!(build.value, 1.0);
        assert_eq!(sample(&p, "process_max_fds", &[]).value, 20000.0);
        assert_eq!(sample(&p, "process_open_fds", &[]).value, 11.0);
        assert_eq!(sample(&p, "process_resident_memory_bytes", &[]).value, 17_608_704.0);
        assert_eq!(sample(&p, "promhttp_metric_handler_requests_total", &[("code", "200")]).value, 1.0);
    }
    // Written by a Go program's rules, the OpenMetrics page declares
    // `go_memstats_alloc_bytes` twice: a gauge, and the counter of bytes
    // ever allocated.
    let p = clean(NODE_OM);
    let kinds: Vec<FamilyKind> =
        p.families.iter().filter(|f| f.name == "go_memstats_alloc_bytes").map(|f| f.kind).collect();
    assert_eq!(kinds, [FamilyKind::Gauge, FamilyKind::Counter]);
    assert_eq!(
        sample(&p, "go_memstats_alloc_bytes_total", &[]).value,
        sample(&p, "go_memstats_alloc_bytes", &[]).value
    );
}

#[test]
fn prometheus_page() {
    let p = clean(PROMETHEUS);
    let lat = family(&p, "prometheus_http_request_duration_seconds");
    assert_eq!(lat.kind, FamilyKind::Histogram);
    let ready: Vec<f64> = lat
        .samples
        .iter()
        .filter(|s| s.labels.get("handler").is_some_and(|h| h == "/-/ready") && s.name.ends_with("_bucket"))
        .map(|s| s.value)
        .collect();
    assert_eq!(ready, [1.0; 10]);
    assert_eq!(
        sample(&p, "prometheus_http_request_duration_seconds_sum", &[("handler", "/-/ready")]).value,
        2.3438e-05
    );
    let q = sample(&p, "prometheus_engine_query_duration_seconds", &[("slice", "inner_eval"), ("quantile", "0.99")]);
    assert!(q.value.is_nan());
    assert_eq!(sample(&p, "prometheus_tsdb_head_series", &[]).value, 360.0);
    assert_eq!(sample(&p, "process_resident_memory_bytes", &[]).value, 4.745216e7);
    assert_eq!(sample(&p, "prometheus_http_requests_total", &[("handler", "/metrics")]).value, 2.0);
    // Summaries' NaN quantiles pass through as numbers; the store skips them.
    let (_, obs) = to_observations(&p.families, 0, &no_extra());
    assert!(obs.iter().any(|o| o.sample.as_number().is_some_and(f64::is_nan)));
}

#[test]
fn vigil_gateway_page() {
    let p = clean(GATEWAY);
    assert_eq!(family(&p, "vigil_gateway_http_requests_total").samples.len(), 6);
    assert_eq!(
        sample(&p, "vigil_gateway_http_requests_total", &[("route", "/api/v1/metrics/realtime"), ("code", "200")])
            .value,
        5.0
    );
    assert_eq!(sample(&p, "vigil_gateway_http_requests_total", &[("route", "unmatched")]).labels["code"], "404");
    let (_, obs) = to_observations(&p.families, 0, &no_extra());
    let realtime = obs
        .iter()
        .find(|o| {
            o.key.metric == "vigil_gateway_http_request_duration_seconds" && o.key.label("route").ends_with("realtime")
        })
        .unwrap();
    let Sample::Histogram(h) = &realtime.sample else { panic!() };
    assert_eq!((h.count, h.buckets.len()), (5.0, 12));
}

#[test]
fn golden_signals_of_real_pages() {
    let golden = |text: &str| {
        let (metas, obs) = to_observations(&clean(text).families, 0, &no_extra());
        detect(&metas, &obs)
    };
    let metric = |q: &Option<QuerySpec>| q.as_ref().map(|q| q.metric.clone());
    let errors = |g: &Golden| g.errors.as_ref().map(|(e, t)| (e.metric.clone(), e.labels.clone(), t.metric.clone()));
    let saturation = |g: &Golden| g.saturation.iter().map(|s| s.what.clone()).collect::<Vec<_>>();
    let five =
        |label: &str| [(label.to_string(), crate::core::query::matcher::Matcher::parse("=~5..").unwrap())].into();

    let g = golden(PY_TEXT);
    assert_eq!(metric(&g.traffic).as_deref(), Some("shop_http_requests_total"));
    let total = "shop_http_requests_total".to_string();
    assert_eq!(errors(&g), Some((total.clone(), five("status"), total)));
    assert_eq!((metric(&g.latency).as_deref(), g.latency_scale), (Some("shop_http_request_duration_seconds"), 1.0));
    assert_eq!(saturation(&g), ["in_flight_requests"]);
    assert_eq!(g, golden(PY_OM), "both formats find the same");

    let g = golden(PROMETHEUS);
    assert_eq!(metric(&g.traffic).as_deref(), Some("prometheus_http_requests_total"));
    let total = "prometheus_http_requests_total".to_string();
    assert_eq!(errors(&g), Some((total.clone(), five("code"), total)));
    assert_eq!(metric(&g.latency).as_deref(), Some("prometheus_http_request_duration_seconds"));
    assert_eq!(saturation(&g), ["cpu_cores", "resident_memory_bytes", "open_fds_ratio"]);

    let g = golden(GATEWAY);
    assert_eq!(metric(&g.traffic).as_deref(), Some("vigil_gateway_http_requests_total"));
    assert_eq!(metric(&g.latency).as_deref(), Some("vigil_gateway_http_request_duration_seconds"));
    assert!(g.errors.is_some());

    // A node exporter serves no requests of its own but its scrapes.
    let g = golden(NODE_TEXT);
    assert_eq!((g.traffic.clone(), g.errors.clone(), g.latency.clone()), (None, None, None));
    assert_eq!(saturation(&g), ["cpu_cores", "resident_memory_bytes", "open_fds_ratio"]);
}

fn meta(name: &str, kind: Kind) -> MetricMeta {
    MetricMeta { name: name.into(), kind, unit: String::new(), help: String::new() }
}

fn observe(metric: &str, labels: &[(&str, &str)]) -> Observation {
    let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Observation {
        key: crate::core::model::SeriesKey { metric: metric.into(), labels },
        ts: 0,
        sample: Sample::Number(0.0),
    }
}

#[test]
fn golden_signals_by_convention() {
    // Milliseconds, a gRPC code, a counter without `_total`, an errors
    // counter beside the request counter.
    let metas = [
        meta("grpc_server_handled_total", Kind::Counter),
        meta("grpc_client_handled_total", Kind::Counter),
        meta("api_latency_ms", Kind::Histogram),
        meta("api_latency_ms_count", Kind::Counter),
    ];
    let obs = [
        observe("grpc_server_handled_total", &[("grpc_code", "OK")]),
        observe("api_latency_ms", &[]),
        observe("api_latency_ms_count", &[("outcome", "SUCCESS")]),
    ];
    let g = detect(&metas, &obs);
    // No `_requests_total`: the latency histogram's count is the traffic.
    assert_eq!(g.traffic.as_ref().map(|q| q.metric.as_str()), Some("api_latency_ms_count"));
    assert_eq!(g.errors.as_ref().map(|(e, _)| e.labels["outcome"].to_string()), Some("=~SERVER_ERROR".into()));
    assert_eq!(g.latency_scale, 1e-3);

    let metas = [meta("app_requests_total", Kind::Counter), meta("app_errors_total", Kind::Counter)];
    let g = detect(&metas, &[observe("app_requests_total", &[("path", "/")])]);
    let (e, t) = g.errors.unwrap();
    assert_eq!((e.metric.as_str(), t.metric.as_str()), ("app_errors_total", "app_requests_total"));

    let metas = [meta("rpc_requests_total", Kind::Counter)];
    let g = detect(&metas, &[observe("rpc_requests_total", &[("grpc_code", "OK")])]);
    let (e, _) = g.errors.unwrap();
    assert!(e.labels["grpc_code"].matches("Unavailable", &[]) && !e.labels["grpc_code"].matches("NotFound", &[]));

    let metas = [meta("jobs_requests_total", Kind::Counter)];
    let g = detect(&metas, &[observe("jobs_requests_total", &[("result", "success")])]);
    let (e, _) = g.errors.unwrap();
    assert!(e.labels["result"].matches("FAILED", &[]) && !e.labels["result"].matches("success", &[]));

    // Of two latency histograms, the one of the request counter's program.
    let metas = [
        meta("web_requests_total", Kind::Counter),
        meta("web_request_duration_seconds", Kind::Histogram),
        meta("grpc_server_request_duration_seconds", Kind::Histogram),
    ];
    let g = detect(&metas, &[]);
    assert_eq!(g.latency.map(|q| q.metric), Some("web_request_duration_seconds".to_string()));

    assert!(detect(&[meta("temperature", Kind::Gauge)], &[]).is_empty());
}

/// A page as a service exposes it, after `n` seconds of 10 requests a
/// second (one in ten failing), served from a process that restarted
/// `restarted_at` seconds in.
fn service_page(n: u64, restarted_at: Option<u64>) -> String {
    let since = restarted_at.map_or(n, |r| n - r);
    let base = if restarted_at.is_some() { 0 } else { 1000 };
    let (ok, failed) = (base + since * 9, base / 100 + since);
    // Of each 150 requests: 100 under 50 ms, 49 more under 500 ms, 1 slower.
    let obs = (base + since * 10) as f64;
    let (fast, medium) = (obs * 100.0 / 150.0, obs * 149.0 / 150.0);
    format!(
        "# HELP app_http_requests_total Requests.\n# TYPE app_http_requests_total counter\n\
         app_http_requests_total{{code=\"200\"}} {ok}\napp_http_requests_total{{code=\"503\"}} {failed}\n\
         # TYPE app_http_request_duration_seconds histogram\n\
         app_http_request_duration_seconds_bucket{{le=\"0.05\"}} {fast}\n\
         app_http_request_duration_seconds_bucket{{le=\"0.5\"}} {medium}\n\
         app_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {obs}\n\
         app_http_request_duration_seconds_sum {}\napp_http_request_duration_seconds_count {obs}\n\
         # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {}\n\
         # TYPE process_open_fds gauge\nprocess_open_fds 50\n# TYPE process_max_fds gauge\nprocess_max_fds 1000\n",
        obs * 0.1,
        since as f64 * 0.25,
    )
}

const T0: i64 = 1_767_323_045_000;

fn scrape_into(store: &mut Store, text: &str, at: i64, extra: &Labels) -> Golden {
    let (metas, obs) = to_observations(&clean(text).families, at, extra);
    store.learn(&metas);
    for o in &obs {
        store.insert(o, Some(crate::core::store::Live::at(at, 1000, 0, crate::core::model::SourceId::GATEWAY)));
    }
    detect(&metas, &obs)
}

#[test]
fn two_scrapes_give_rates_and_quantiles_through_the_store() {
    let mut store = Store::default();
    scrape_into(&mut store, &service_page(0, None), T0, &no_extra());
    let golden = scrape_into(&mut store, &service_page(15, None), T0 + 15_000, &no_extra());
    let now = T0 + 15_000;
    let reader = Reader::new(&store);
    let span = Span::new(now, 60_000, 15_000, now);
    let traffic = golden.traffic.clone().unwrap();
    assert!((reader.eval(&traffic, &[], &span).last().unwrap() - 10.0).abs() < 1e-9);
    let p99 = QuerySpec { q: Some(0.99), ..golden.latency.clone().unwrap() };
    // Rank 148.5 of 150 lies 48.5 of 49 into (0.05, 0.5].
    let want = 0.05 + 0.45 * 48.5 / 49.0;
    assert!((reader.eval(&p99, &[], &span).last().unwrap() - want).abs() < 1e-9);

    let derived = derive(&golden, &store, now);
    let value = |name: &str| derived.iter().find(|d| d.name == name).map(|d| d.value).unwrap_or(f64::NAN);
    assert!((value("traffic_requests_per_second") - 10.0).abs() < 1e-9, "{derived:?}");
    assert!((value("error_ratio") - 0.1).abs() < 1e-9, "{derived:?}");
    assert!((value("latency_p50_seconds") - 0.05 * 75.0 / 100.0).abs() < 1e-9, "{derived:?}");
    assert!((value("latency_p99_seconds") - want).abs() < 1e-9, "{derived:?}");
    assert!((value("saturation_cpu_cores") - 0.25).abs() < 1e-9, "{derived:?}");
    assert!((value("saturation_open_fds_ratio") - 0.05).abs() < 1e-9, "{derived:?}");
    assert!(derived.iter().all(|d| d.labels.is_empty()));
}

#[test]
fn a_restart_between_scrapes_is_no_drop_or_surge() {
    let extra: Labels =
        [("job".to_string(), "app".to_string()), ("instance".to_string(), "10.0.0.1:8080".to_string())].into();
    let mut store = Store::default();
    scrape_into(&mut store, &service_page(0, None), T0, &extra);
    scrape_into(&mut store, &service_page(15, None), T0 + 15_000, &extra);
    // Restarted at 15 s: every counter and the histogram start from zero.
    let golden = scrape_into(&mut store, &service_page(30, Some(15)), T0 + 30_000, &extra);
    let derived = derive(&golden, &store, T0 + 30_000);
    let one = |name: &str| derived.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no {name}: {derived:?}"));
    let traffic = one("traffic_requests_per_second");
    assert!((traffic.value - 10.0).abs() < 1e-9, "{derived:?}");
    assert_eq!(traffic.labels, extra, "each value says which target it is of");
    assert!((one("error_ratio").value - 0.1).abs() < 1e-9, "{derived:?}");
    assert!((one("latency_p99_seconds").value - (0.05 + 0.45 * 48.5 / 49.0)).abs() < 1e-9, "{derived:?}");
}

/// A service whose client library times requests with a summary only, as
/// Go and Java services often do: quantiles, sum and count, no buckets.
fn summary_page(n: u64, p99: f64) -> String {
    format!(
        "# TYPE api_request_duration_seconds summary\n\
         api_request_duration_seconds{{handler=\"/a\",quantile=\"0.5\"}} 0.02\n\
         api_request_duration_seconds{{handler=\"/a\",quantile=\"0.9\"}} 0.05\n\
         api_request_duration_seconds{{handler=\"/a\",quantile=\"0.99\"}} {p99}\n\
         api_request_duration_seconds_sum{{handler=\"/a\"}} {}\n\
         api_request_duration_seconds_count{{handler=\"/a\"}} {}\n\
         api_request_duration_seconds{{handler=\"/b\",quantile=\"0.5\"}} 0.03\n\
         api_request_duration_seconds{{handler=\"/b\",quantile=\"0.9\"}} 0.06\n\
         api_request_duration_seconds{{handler=\"/b\",quantile=\"0.99\"}} 0.08\n\
         api_request_duration_seconds_sum{{handler=\"/b\"}} {}\n\
         api_request_duration_seconds_count{{handler=\"/b\"}} {}\n",
        n as f64 * 0.4,
        n * 10,
        n as f64 * 0.3,
        n * 5
    )
}

#[test]
fn a_summary_gives_latency_when_there_is_no_histogram() {
    let mut store = Store::default();
    scrape_into(&mut store, &summary_page(0, 0.1), T0, &no_extra());
    let golden = scrape_into(&mut store, &summary_page(15, 0.25), T0 + 15_000, &no_extra());
    let want: Vec<(f64, String)> = vec![(0.5, "0.5".into()), (0.99, "0.99".into())];
    assert_eq!(golden.latency_summary, want);
    let derived = derive(&golden, &store, T0 + 15_000);
    let value = |name: &str| derived.iter().find(|d| d.name == name).map(|d| d.value).unwrap_or(f64::NAN);
    // Quantiles of two handlers cannot be merged: the worse one is shown.
    assert_eq!((value("latency_p50_seconds"), value("latency_p99_seconds")), (0.03, 0.25), "{derived:?}");
    // With no request counter, the summary's count is the traffic.
    assert!((value("traffic_requests_per_second") - 15.0).abs() < 1e-9, "{derived:?}");

    let page = page(&golden, "api", None);
    let latency = page.rows.iter().flat_map(|r| &r.panels).find(|p| p.title == "Latency").unwrap();
    let quantiles: Vec<String> = latency.lines.iter().map(|l| l.labels["quantile"].to_string()).collect();
    assert_eq!(quantiles, ["0.5", "0.99"]);

    // A summary without a p99 gives no latency rather than a wrong one.
    let no_p99 = summary_page(15, 0.25).replace("quantile=\"0.99\"", "quantile=\"0.95\"");
    let (metas, obs) = to_observations(&clean(&no_p99).families, T0, &no_extra());
    assert_eq!(detect(&metas, &obs).latency, None);
}

#[test]
fn derived_values_are_per_target() {
    let mut store = Store::default();
    let target = |i: &str| -> Labels { [("instance".to_string(), i.to_string())].into() };
    for (at, n) in [(T0, 0), (T0 + 15_000, 15)] {
        scrape_into(&mut store, &service_page(n, None), at, &target("a:1"));
        // The second target serves no failures: its page has no 503 series.
        let quiet =
            service_page(n, None).replace("app_http_requests_total{code=\"503\"}", "app_other_total{code=\"503\"}");
        scrape_into(&mut store, &quiet, at, &target("b:1"));
    }
    let (metas, obs) = to_observations(&clean(&service_page(0, None)).families, T0, &no_extra());
    let golden = detect(&metas, &obs);
    let derived = derive(&golden, &store, T0 + 15_000);
    let ratio: Vec<(String, f64)> = derived
        .iter()
        .filter(|d| d.name == "error_ratio")
        .map(|d| (d.labels["instance"].clone(), (d.value * 1e9).round() / 1e9))
        .collect();
    assert_eq!(ratio, [("a:1".to_string(), 0.1), ("b:1".to_string(), 0.0)]);
}

#[test]
fn the_golden_page_shows_what_was_found() {
    let (metas, obs) = to_observations(&clean(&service_page(0, None)).families, T0, &no_extra());
    let golden = detect(&metas, &obs);
    let page = page(&golden, "app", Some("instance"));
    assert_eq!((page.title.as_str(), page.select.as_deref()), ("app", Some("instance")));
    let kinds: Vec<Vec<(PanelKind, String)>> =
        page.rows.iter().map(|r| r.panels.iter().map(|p| (p.kind, p.title.clone())).collect()).collect();
    use PanelKind::*;
    assert_eq!(
        kinds,
        [
            vec![(Bignum, "req/s".into()), (Bignum, "errors".into()), (Bignum, "p99".into())],
            vec![(Chart, "Traffic".into()), (Chart, "Error ratio".into()), (Chart, "Latency".into())],
            vec![(Gauge, "cpu cores".into()), (Gauge, "open fds ratio".into())],
        ]
    );
    let errors = &page.rows[0].panels[1];
    assert_eq!((errors.unit.clone(), errors.divide_by.is_some()), (Unit::Ratio, true));
    // Every query is narrowed to the page's choice of instance.
    for p in page.rows.iter().flat_map(|r| &r.panels) {
        let q = p.query.as_ref().unwrap();
        assert_eq!(q.labels["instance"].to_string(), "$instance", "{}", p.title);
    }
    let latency = &page.rows[1].panels[2];
    assert_eq!(latency.lines.iter().map(|l| l.q).collect::<Vec<_>>(), [Some(0.5), Some(0.99)]);

    let empty = page_of_nothing();
    assert_eq!(empty.rows[0].panels[0].kind, Text);
}

fn page_of_nothing() -> crate::dashboards::spec::PageSpec {
    page(&Golden::default(), "nothing", None)
}

#[test]
fn milliseconds_are_shown_as_such() {
    let golden = Golden {
        latency: Some(QuerySpec { metric: "rpc_duration_ms".into(), ..QuerySpec::default() }),
        latency_scale: 1e-3,
        saturation: vec![Saturation {
            what: "resident_memory_bytes".into(),
            query: QuerySpec {
                metric: "process_resident_memory_bytes".into(),
                agg: Some(Agg::Sum),
                ..Default::default()
            },
            divide_by: None,
            unit: Unit::Bytes,
        }],
        ..Golden::default()
    };
    let page = page(&golden, "rpc", None);
    let p99 = &page.rows[0].panels[0];
    assert_eq!((p99.title.as_str(), p99.unit.clone(), p99.thresholds.warn), ("p99 (ms)", Unit::Count, Some(500.0)));
    assert_eq!(page.rows[2].panels[0].kind, PanelKind::Sparkline, "bytes have no full scale");
}

mod round_trip {
    use super::super::parse::{FamilyKind, parse};
    use crate::core::model::Labels;
    use proptest::prelude::*;

    /// One generated sample: labels, value, timestamp in milliseconds.
    type Gen = (Labels, f64, Option<i64>);

    fn label_value() -> impl Strategy<Value = String> {
        // Weighted towards what needs escaping or could end a token.
        prop::collection::vec(
            prop_oneof![
                3 => "[a-zA-Z0-9 _./:-]",
                1 => prop::sample::select(vec!["\"", "\\", "\n", ",", "{", "}", "=", "#", " # ", "é", "😀", "\t"])
                    .prop_map(str::to_string),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    fn labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value(), 0..5)
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => any::<f64>(),
            2 => (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(f64::NAN),
        ]
    }

    fn family() -> impl Strategy<Value = (u8, Vec<Gen>)> {
        let sample = (labels(), value(), prop::option::of(0i64..4_000_000_000_000));
        (0u8..5, prop::collection::vec(sample, 1..7))
    }

    fn number(v: f64) -> String {
        match crate::wire::special_name(v) {
            Some(name) => name.to_string(),
            None => format!("{v:?}"),
        }
    }

    fn escape(v: &str) -> String {
        v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
    }

    const KINDS: [(&str, FamilyKind); 5] = [
        ("gauge", FamilyKind::Gauge),
        ("counter", FamilyKind::Counter),
        ("untyped", FamilyKind::Unknown),
        ("histogram", FamilyKind::Histogram),
        ("summary", FamilyKind::Summary),
    ];

    /// The page as an exporter would write it; sample names as exposed.
    /// A histogram's samples take turns as a bucket (with an `le`), its sum
    /// and its count; a summary's as a quantile, its sum and its count.
    fn render(families: &[(u8, Vec<Gen>)], om: bool) -> (String, Vec<(String, Gen)>) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for (i, (kind, samples)) in families.iter().enumerate() {
            let family = format!("f{i}_m");
            let (word, _) = KINDS[*kind as usize];
            let word = if om && word == "untyped" { "unknown" } else { word };
            text.push_str(&format!("# HELP {family} Family {i}.\n# TYPE {family} {word}\n"));
            for (j, (labels, v, ts)) in samples.iter().enumerate() {
                let mut labels = labels.clone();
                let suffix = match (word, j % 3) {
                    ("counter", _) if om => "_total",
                    ("histogram", 0) => {
                        labels.insert("le".into(), ["0.5", "+Inf", "1e-3"][j / 3 % 3].into());
                        "_bucket"
                    }
                    ("summary", 0) => {
                        labels.insert("quantile".into(), ["0.5", "0.99", "1"][j / 3 % 3].into());
                        ""
                    }
                    ("histogram" | "summary", 1) => "_sum",
                    ("histogram" | "summary", _) => "_count",
                    _ => "",
                };
                let name = format!("{family}{suffix}");
                let set: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
                let stamp = match ts {
                    None => String::new(),
                    Some(ms) if om => format!(" {}.{:03}", ms / 1000, ms % 1000),
                    Some(ms) => format!(" {ms}"),
                };
                text.push_str(&format!("{name}{{{}}} {}{stamp}\n", set.join(","), number(*v)));
                expected.push((name, (labels, *v, *ts)));
            }
        }
        if om {
            text.push_str("# EOF\n");
        }
        (text, expected)
    }

    fn same(a: f64, b: f64) -> bool {
        a == b || a.is_nan() && b.is_nan()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn rendered_pages_parse_back_to_their_samples(families in prop::collection::vec(family(), 1..6), om in any::<bool>()) {
            let (text, expected) = render(&families, om);
            let p = parse(&text);
            prop_assert_eq!(p.error_count, 0, "{:?}\n{}", p.errors, text);
            prop_assert_eq!(p.openmetrics, om);
            prop_assert_eq!(p.families.len(), families.len());
            for (f, (kind, _)) in p.families.iter().zip(&families) {
                prop_assert_eq!(f.kind, KINDS[*kind as usize].1);
            }
            let got: Vec<_> = p.families.iter().flat_map(|f| &f.samples).collect();
            prop_assert_eq!(got.len(), expected.len());
            for (g, (name, (labels, v, ts))) in got.iter().zip(&expected) {
                prop_assert_eq!(&g.name, name);
                prop_assert_eq!(&g.labels, labels);
                prop_assert!(same(g.value, *v), "{} != {}", g.value, v);
                prop_assert_eq!(g.ts_ms, *ts);
            }
        }

        #[test]
        fn any_text_parses_without_panicking(text in "(\\PC|\n|\"|\\\\|\\{|\\}|#| ){0,200}") {
            let p = parse(&text);
            prop_assert!(p.errors.len() <= p.error_count);
            for e in &p.errors {
                prop_assert!(!e.reason.chars().any(char::is_control), "{:?}", e.reason);
            }
        }
    }
}

#[test]
fn the_golden_page_reads_its_values_through_the_pipeline() {
    use crate::core::model::Update;
    use crate::dashboards::Dashboard;
    use crate::tui::pipeline::{Pipeline, ViewRequest};
    use crate::tui::scene::{PanelBody, SourceInfo};
    use std::sync::Arc;

    let extra: Labels =
        [("job".to_string(), "app".to_string()), ("instance".to_string(), "app:8080".to_string())].into();
    let stats = vec![Arc::new(crate::sources::SourceStats::default())];
    let mut pipeline = Pipeline::new(SourceInfo { url: "http://app:8080/metrics".into(), demo: None }, stats);
    let mut golden = None;
    for (n, at) in [(0, T0), (15, T0 + 15_000)] {
        let (metas, obs) = to_observations(&clean(&service_page(n, None)).families, at, &extra);
        golden.get_or_insert_with(|| detect(&metas, &obs));
        let source = crate::core::model::SourceId(1);
        pipeline.apply(Update::Catalogue { metrics: metas, interval_ms: 15_000, source }, at);
        pipeline.apply(Update::Samples { observations: obs, live: true, seq: None, source }, at);
    }
    let page = page(&golden.unwrap(), "app", Some("instance"));
    pipeline.set_dashboard(Arc::new(Dashboard { extends: None, pages: vec![page] }));
    pipeline.set_view(ViewRequest { page: 0, ..ViewRequest::default() });
    let now = T0 + 15_000;
    let scene = pipeline.scene(now);
    assert_eq!(scene.page.select.as_ref().map(|s| s.value.as_str()), Some("app:8080"));
    let read = |row: usize, col: usize| match &scene.page.rows[row].panels[col].body {
        PanelBody::Number { now, .. } | PanelBody::Gauge { now, .. } => now.as_ref().map(|r| r.value).unwrap(),
        other => panic!("not a number: {other:?}"),
    };
    assert!((read(0, 0) - 10.0).abs() < 1e-9, "req/s");
    assert!((read(0, 1) - 0.1).abs() < 1e-9, "errors");
    assert!((read(0, 2) - (0.05 + 0.45 * 48.5 / 49.0)).abs() < 1e-9, "p99");
    assert!((read(2, 0) - 0.25).abs() < 1e-9, "cpu");
    assert!((read(2, 1) - 0.05).abs() < 1e-9, "fds");
    let PanelBody::Chart { lines, .. } = &scene.page.rows[1].panels[2].body else { panic!("latency is a chart") };
    assert_eq!(lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["p50", "p99"]);
    assert!(lines.iter().all(|l| !l.points.is_empty()));

    // And it draws.
    let theme = crate::tui::theme::Theme::built_in("dark").unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| crate::tui::view::render(f, &scene, &crate::tui::view::UiView::default(), &theme, now)).unwrap();
    let screen: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("req/s") && screen.contains("Latency"), "{screen}");
}
