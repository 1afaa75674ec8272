use super::*;
use crate::core::units::Unit;
use crate::dashboards::{Dashboard, PanelKind, PanelSpec};
use serde_json::{Value, json};
use std::path::Path;

const GOLDEN: &str = include_str!("../../../../tests/fixtures/grafana/golden-signals.json");
const OLD: &str = include_str!("../../../../tests/fixtures/grafana/old-rows.json");

fn run(json: &str) -> (Translation, Dashboard) {
    let t = translate(json, &Options::default()).unwrap();
    let d = Dashboard::parse(&t.toml, Path::new("imported.toml")).unwrap_or_else(|e| panic!("{e}\n---\n{}", t.toml));
    (t, d)
}

/// A dashboard of `panels` and template `vars`.
fn board(panels: Value, vars: Value) -> String {
    json!({ "title": "T", "schemaVersion": 39, "templating": { "list": vars }, "panels": panels }).to_string()
}

fn prom(kind: &str, title: &str, targets: Value, defaults: Value) -> Value {
    json!({
        "type": kind, "title": title, "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 },
        "datasource": { "type": "prometheus", "uid": "p" },
        "fieldConfig": { "defaults": defaults }, "targets": targets
    })
}

fn only_panel(d: &Dashboard) -> &PanelSpec {
    &d.pages[0].rows[0].panels[0]
}

fn promql(p: &PanelSpec) -> &str {
    p.query.as_ref().and_then(|q| q.promql.as_deref()).unwrap_or("")
}

fn panel<'d>(d: &'d Dashboard, title: &str) -> &'d PanelSpec {
    d.pages
        .iter()
        .flat_map(|p| &p.rows)
        .flat_map(|r| &r.panels)
        .find(|p| p.title == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"))
}

#[test]
fn the_golden_signals_dashboard_translates() {
    let (t, d) = run(GOLDEN);
    let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Service golden signals", "Saturation", "Business"]);
    let main = &d.pages[0];
    assert_eq!(main.select.as_deref(), Some("job"));
    assert_eq!(main.select_query.as_deref(), Some("group by (job) (up)"));
    assert_eq!(main.window, Some(3_600_000), "the dashboard's time range became the page's window");
    // Rows by y: the text, the four stats, the two charts, table and heatmap.
    let widths: Vec<Vec<u16>> = main.rows.iter().map(|r| r.panels.iter().map(|p| p.width).collect()).collect();
    assert_eq!(widths, [vec![1], vec![1, 1, 1, 1], vec![1, 1], vec![1, 1]]);
    let heights: Vec<Option<u16>> = main.rows.iter().map(|r| r.height).collect();
    assert_eq!(heights, [Some(6), Some(8), None, None], "1.5 lines a unit; charts share the rest");

    let rps = panel(&d, "Requests / s");
    assert_eq!(rps.kind, PanelKind::Bignum);
    assert_eq!(rps.unit, Unit::PerSecond);
    assert_eq!(promql(rps), r#"sum(rate(http_requests_total{job="$job", instance=~".+"}[1m]))"#);
    assert_eq!((rps.thresholds.warn, rps.thresholds.crit, rps.thresholds.below), (Some(800.0), Some(1200.0), false));

    let errors = panel(&d, "Error ratio");
    assert_eq!(errors.unit, Unit::Ratio);
    assert!(promql(errors).contains("\n/\n"), "multi-line PromQL is kept: {}", promql(errors));
    assert_eq!((errors.thresholds.warn, errors.thresholds.crit), (Some(0.01), Some(0.05)));

    let cpu = panel(&d, "CPU");
    assert_eq!((cpu.kind, cpu.unit.clone(), cpu.max), (PanelKind::Gauge, Unit::Percent, Some(100.0)));
    assert_eq!((cpu.thresholds.warn, cpu.thresholds.crit), (Some(80.0), Some(90.0)), "percentage steps");

    let mem = panel(&d, "Memory by instance");
    assert_eq!((mem.kind, mem.by.as_deref()), (PanelKind::Table, Some("instance")));
    let col = &mem.columns[0];
    assert_eq!(col.unit, Unit::Bytes);
    assert_eq!(
        col.query().promql.as_deref(),
        Some(r#"(process_resident_memory_bytes{job="$job"} / 1024 / 1024) * 1048576"#)
    );
    assert_eq!((col.max, col.crit), (Some(2048.0 * 1048576.0), Some(1800.0 * 1048576.0)));
    assert_eq!(col.show, crate::dashboards::spec::Show::Bar);
    assert_eq!((col.title.as_str(), &mem.unit), ("value", &Unit::Count), "the column has the unit");

    let latency = panel(&d, "Latency ($job)");
    assert_eq!((latency.kind, latency.unit.clone()), (PanelKind::Chart, Unit::Seconds));
    let lines: Vec<&str> = latency.lines.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(lines, ["p50", "p90", "chosen quantile"], "the hidden query is left out");
    let chosen = latency.lines[2].query.as_deref().unwrap();
    assert!(chosen.starts_with("(histogram_quantile(0.99, ") && chosen.ends_with(") / 1000"), "{chosen}");
    assert_eq!((latency.thresholds.warn, latency.thresholds.crit), (Some(0.25), Some(0.5)), "ms became s");

    let traffic = panel(&d, "Traffic by status");
    assert_eq!(traffic.by.as_deref(), Some("status"));
    assert!(promql(traffic).contains(r#"path=~"/api/.+\\.json""#), "{}", promql(traffic));

    let instances = panel(&d, "Instances");
    assert_eq!(instances.by.as_deref(), Some("instance"));
    let cols: Vec<&str> = instances.columns.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(cols, ["up", "restarts"], "titles from the organize transformation");

    let heat = panel(&d, "Latency distribution");
    assert_eq!((heat.kind, heat.unit.clone()), (PanelKind::Chart, Unit::Seconds));
    let p99 = heat.lines[2].query.as_deref().unwrap();
    assert_eq!(
        p99,
        r#"histogram_quantile(0.99, sum(increase(http_request_duration_seconds_bucket{job="$job"}[1m])) by (le))"#
    );

    let about = panel(&d, "About \\u{1b}[31mthis\\u{1b}[0m board");
    let text = about.text.as_deref().unwrap();
    assert!(text.starts_with("Golden signals for $job\n"), "{text}");
    assert!(text.contains("See the runbook.") && !text.contains("script") && !text.contains("alert(1)"), "{text}");

    // The collapsed row's page: bits became bytes, and low availability is bad.
    let sat = &d.pages[1];
    assert_eq!(sat.select.as_deref(), Some("job"), "its availability stat uses $job");
    let net = panel(&d, "Network out");
    assert_eq!(net.unit, Unit::BytesPerSecond);
    assert!(promql(net).ends_with(") / 8"), "{}", promql(net));
    let avail = panel(&d, "Availability");
    assert_eq!((avail.thresholds.crit, avail.thresholds.warn, avail.thresholds.below), (Some(99.0), Some(99.9), true));
    assert!(promql(avail).contains("[1h]"), "$__range is the window: {}", promql(avail));
    let conns = panel(&d, "Open connections");
    assert_eq!((conns.max, conns.thresholds.crit), (Some(500.0), Some(500.0)));

    assert_eq!(panel(&d, "Revenue / min").unit, Unit::Money("$".into()));
    assert_eq!(t.translated, 14);
    let skipped: Vec<(&str, &str)> = t.skipped.iter().map(|s| (s.title.as_str(), s.kind.as_str())).collect();
    assert_eq!(
        skipped,
        [
            ("Error logs", "logs"),
            ("Log lines / s", "timeseries"),
            ("Requests by route", "piechart"),
            ("Checkout shared", "stat")
        ]
    );
    assert!(t.skipped[1].reason.contains("loki"), "{:?}", t.skipped[1]);
    let notes = t.notes.join("\n");
    for needle in [
        "`$job` became the page's choice of `job`",
        "`$instance` was replaced by `.+`, its \"All\"",
        "`$quantile` was replaced by `0.99`, its saved value",
        "became 1m",
        "`celsius`",
        "p50, p90 and p99",
    ] {
        assert!(notes.contains(needle), "no {needle:?} in\n{notes}");
    }
}

#[test]
fn the_api_wrapper_and_the_old_rows_layout() {
    let (t, d) = run(OLD);
    let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Legacy API", "Old graphite panels"]);
    let main = &d.pages[0];
    assert_eq!(main.select.as_deref(), Some("service"), "`$svc` lists `service` values");
    assert_eq!(main.select_query.as_deref(), Some("group by (service) (http_requests_total)"));
    assert_eq!(main.window, Some(6 * 3_600_000));
    let heights: Vec<Option<u16>> = main.rows.iter().map(|r| r.height).collect();
    assert_eq!(heights, [None, None], "rows with charts share the screen");
    let widths: Vec<u16> = main.rows[0].panels.iter().map(|p| p.width).collect();
    assert_eq!(widths, [2, 1], "spans 8 and 4");

    let reqs = panel(&d, "Requests of $service");
    assert_eq!((reqs.kind, reqs.by.as_deref(), reqs.unit.clone()), (PanelKind::Chart, Some("code"), Unit::PerSecond));
    assert_eq!(
        promql(reqs),
        r#"sum(rate(http_requests_total{service="$service",env=~"(prod|staging)",cluster="eu-west-1"}[5m])) by (code)"#
    );
    assert_eq!((reqs.thresholds.warn, reqs.thresholds.crit), (Some(400.0), Some(900.0)));

    let budget = panel(&d, "Error budget left");
    assert_eq!((budget.kind, budget.unit.clone(), budget.max), (PanelKind::Gauge, Unit::Ratio, Some(1.0)));
    assert_eq!(
        (budget.thresholds.crit, budget.thresholds.warn, budget.thresholds.below),
        (Some(0.1), Some(0.25), true)
    );

    let p99 = panel(&d, "p99 latency");
    assert!(promql(p99).ends_with(") / 1000000"), "µs became s: {}", promql(p99));
    assert_eq!(panel(&d, "Requests today").kind, PanelKind::Bignum);
    let notes = panel(&d, "Notes").text.as_deref().unwrap();
    assert_eq!(notes, "On call\nEscalate to #api-oncall & the wiki.\n\n- restart pods\n- scale out");

    let disk = panel(&d, "Disk I/O");
    assert_eq!(disk.unit, Unit::BytesPerSecond);
    assert_eq!(disk.lines.len(), 2);
    assert_eq!(t.translated, 6);
    assert_eq!(t.skipped.len(), 1);
    assert!(t.skipped[0].reason.contains("graphite"), "{:?}", t.skipped);
    let notes = t.notes.join("\n");
    assert!(notes.contains("queries of the default datasource were taken to be PromQL"), "{notes}");
    assert!(!notes.contains("\"Prometheus\""), "a datasource called Prometheus is one: {notes}");
}

#[test]
fn with_and_without_the_wrapper_alike() {
    let inner: Value = serde_json::from_str::<Value>(OLD).unwrap()["dashboard"].clone();
    let a = translate(OLD, &Options::default()).unwrap();
    let b = translate(&inner.to_string(), &Options::default()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_source_is_named_on_every_query() {
    let opts = Options { source: Some("eu \"west\"".into()), ..Options::default() };
    let t = translate(GOLDEN, &opts).unwrap();
    let d = Dashboard::parse(&t.toml, Path::new("x.toml")).unwrap();
    assert_eq!(d.pages[0].select_source.as_deref(), Some("eu \"west\""));
    for p in d.pages.iter().flat_map(|p| &p.rows).flat_map(|r| &r.panels) {
        let sources = p
            .query
            .iter()
            .map(|q| q.source.clone())
            .chain(p.lines.iter().map(|l| l.source.clone()))
            .chain(p.columns.iter().map(|c| c.source.clone()));
        for s in sources {
            assert_eq!(s.as_deref(), Some("eu \"west\""), "{}", p.title);
        }
    }
}

#[test]
fn variables_of_every_kind() {
    let vars = json!([
        { "name": "cluster_name", "type": "query", "query": "label_values(cluster)", "current": { "value": "a" } },
        { "name": "ns", "type": "query", "query": "label_values(kube_pod_info{cluster=\"$cluster_name\"}, namespace)",
          "multi": true, "current": { "value": ["a.b", "c"] } },
        { "name": "pod", "type": "query", "query": "label_values(kube_pod_info, pod)", "includeAll": true,
          "current": { "value": "$__all" }, "options": [{ "value": "$__all" }, { "value": "web-1" }, { "value": "web-2" }] },
        { "name": "job", "type": "query", "query": "query_result(up)", "current": {} },
        { "name": "step", "type": "interval", "query": "1m,5m", "current": { "value": "$__auto_interval_step" } },
        { "name": "team", "type": "textbox", "query": "core" }
    ]);
    let expr = "sum(rate(x{cluster=\"${cluster_name}\", ns=~\"${ns:regex}\", pod=~\"[[pod]]\", job=~\"$job\", team=\"$team\"}[$step])) / $__range_s + $nope";
    let panels = json!([prom("timeseries", "On $cluster_name", json!([{ "expr": expr, "refId": "A" }]), json!({}))]);
    let (t, d) = run(&board(panels, vars));
    let page = &d.pages[0];
    assert_eq!(page.select.as_deref(), Some("cluster"));
    assert_eq!(page.select_query.as_deref(), Some(r#"group by (cluster) ({cluster!=""})"#));
    assert_eq!(page.title, "T");
    let p = only_panel(&d);
    assert_eq!(p.title, "On $cluster");
    assert_eq!(
        promql(p),
        r#"sum(rate(x{cluster="$cluster", ns=~"(a\\.b|c)", pod=~"(web-1|web-2)", job=~".*", team="core"}[1m])) / 900 + $nope"#
    );
    let notes = t.notes.join("\n");
    assert!(notes.contains("`$nope` is not a variable of this dashboard"), "{notes}");
    assert!(notes.contains("`$job` was replaced by `.*`, a match-anything regex"), "{notes}");
}

#[test]
fn a_query_result_variable_with_a_label_regex_is_a_select() {
    let vars = json!([{ "name": "svc", "type": "query", "query": "query_result(count by (service) (up))",
        "regex": "/.*service=\"([^\"]+)\".*/" }]);
    let panels = json!([prom("stat", "up", json!([{ "expr": "sum(up{service=\"$svc\"})", "refId": "A" }]), json!({}))]);
    let (_, d) = run(&board(panels, vars));
    assert_eq!(d.pages[0].select.as_deref(), Some("service"));
    assert_eq!(d.pages[0].select_query.as_deref(), Some("count by (service) (up)"));
    assert_eq!(promql(only_panel(&d)), r#"sum(up{service="$service"})"#);
}

#[test]
fn the_scrape_interval_sets_the_rate_interval() {
    let panels = json!([prom("stat", "r", json!([{ "expr": "rate(x[$__rate_interval])", "refId": "A" }]), json!({}))]);
    let opts = Options { scrape_interval: std::time::Duration::from_secs(30), ..Options::default() };
    let t = translate(&board(panels, json!([])), &opts).unwrap();
    assert!(t.toml.contains("query = \"rate(x[2m])\""), "{}", t.toml);
    assert!(t.toml.contains("# `$__rate_interval` became 2m"), "{}", t.toml);
    assert_eq!(duration_text(45), "45s");
    assert_eq!(duration_text(7200), "2h");
}

#[test]
fn thresholds_by_colour_and_direction() {
    let steps = |s: Value| json!({ "thresholds": { "mode": "absolute", "steps": s } });
    let cases = [
        (json!([{ "color": "green", "value": null }, { "color": "red", "value": 5 }]), (None, Some(5.0), false)),
        (
            json!([{ "color": "#73BF69", "value": null }, { "color": "#FF9830", "value": 1 }, { "color": "#F2495C", "value": 2 }]),
            (Some(1.0), Some(2.0), false),
        ),
        (
            json!([{ "color": "semi-dark-red", "value": null }, { "color": "green", "value": 3 }]),
            (None, Some(3.0), true),
        ),
        (
            json!([{ "color": "yellow", "value": null }, { "color": "super-light-green", "value": 10 }]),
            (Some(10.0), None, true),
        ),
        // Warning past critical cannot be said in vigil: the warning goes.
        (
            json!([{ "color": "green", "value": null }, { "color": "red", "value": 5 }, { "color": "yellow", "value": 9 }]),
            (None, Some(5.0), false),
        ),
        (json!([{ "color": "blue", "value": null }, { "color": "purple", "value": 4 }]), (None, None, false)),
    ];
    for (s, (warn, crit, below)) in cases {
        let panels = json!([prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), steps(s.clone()))]);
        let (_, d) = run(&board(panels, json!([])));
        let th = only_panel(&d).thresholds;
        assert_eq!((th.warn, th.crit, th.below), (warn, crit, below), "{s}");
    }
    // Percentages need a range.
    let pct = json!({ "unit": "short", "thresholds": { "mode": "percentage", "steps": [{ "color": "green" }, { "color": "red", "value": 50 }] } });
    let panels = json!([prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), pct)]);
    let (t, d) = run(&board(panels, json!([])));
    assert_eq!(only_panel(&d).thresholds.crit, None);
    assert!(t.notes.iter().any(|n| n.contains("percentages of a range")), "{:?}", t.notes);
}

#[test]
fn thresholds_grafana_does_not_draw_are_left_behind() {
    let steps =
        json!({ "mode": "absolute", "steps": [{ "color": "green", "value": null }, { "color": "red", "value": 80 }] });
    let crit = |kind: &str, defaults: Value, options: Value| {
        let mut p = prom(kind, "p", json!([{ "expr": "x", "legendFormat": "{{a}}", "refId": "A" }]), defaults);
        p["options"] = options;
        let (_, d) = run(&board(json!([p]), json!([])));
        let p = only_panel(&d);
        p.thresholds.crit.or(p.columns.first().and_then(|c| c.crit))
    };
    let chart = |style: Value| json!({ "thresholds": steps.clone(), "custom": { "thresholdsStyle": style } });
    assert_eq!(crit("timeseries", chart(json!({ "mode": "off" })), json!({})), None);
    assert_eq!(crit("timeseries", json!({ "thresholds": steps.clone() }), json!({})), None);
    assert_eq!(crit("timeseries", chart(json!({ "mode": "dashed" })), json!({})), Some(80.0));
    assert_eq!(crit("stat", json!({ "thresholds": steps.clone() }), json!({ "colorMode": "none" })), None);
    assert_eq!(crit("stat", json!({ "thresholds": steps.clone() }), json!({ "colorMode": "background" })), Some(80.0));
    let cells = |ty: &str| json!({ "thresholds": steps.clone(), "custom": { "cellOptions": { "type": ty } } });
    assert_eq!(crit("table", cells("auto"), json!({})), None);
    assert_eq!(crit("table", cells("color-background"), json!({})), Some(80.0));
    assert_eq!(crit("gauge", json!({ "thresholds": steps.clone() }), json!({})), Some(80.0));
}

#[test]
fn units_map_and_scale() {
    for (id, unit, query) in [
        ("s", Unit::Seconds, "x"),
        ("ns", Unit::Seconds, "(x) / 1000000000"),
        ("m", Unit::Seconds, "(x) * 60"),
        ("decbytes", Unit::Bytes, "x"),
        ("gbytes", Unit::Bytes, "(x) * 1073741824"),
        ("Bps", Unit::BytesPerSecond, "x"),
        ("Mbits", Unit::BytesPerSecond, "(x) * 125000"),
        ("ops", Unit::PerSecond, "x"),
        ("rpm", Unit::PerMinute, "x"),
        ("currencyEUR", Unit::Money("€".into()), "x"),
        ("percent", Unit::Percent, "x"),
        ("none", Unit::Count, "x"),
        ("lengthm", Unit::Count, "x"),
    ] {
        let panels = json!([prom("timeseries", "u", json!([{ "expr": "x", "refId": "A" }]), json!({ "unit": id }))]);
        let (_, d) = run(&board(panels, json!([])));
        let p = only_panel(&d);
        assert_eq!((&p.unit, promql(p)), (&unit, query), "{id}");
    }
}

#[test]
fn split_by_label_from_a_legend_or_an_aggregation() {
    let one = |expr: &str, legend: &str| {
        let t = json!([{ "expr": expr, "legendFormat": legend, "refId": "A" }]);
        let (_, d) = run(&board(json!([prom("timeseries", "c", t, json!({}))]), json!([])));
        only_panel(&d).by.clone()
    };
    assert_eq!(one("sum by (route) (rate(x[1m]))", ""), Some("route".into()));
    assert_eq!(one("sum(rate(x[1m])) by (route)", ""), Some("route".into()));
    assert_eq!(one("sum(rate(x[1m])) by (route, code)", ""), None);
    assert_eq!(one("rate(x[1m])", "{{ pod }} / {{container}}"), Some("pod".into()));
    assert_eq!(one("sum by (route) (rate(x[1m]))", "all routes"), None, "a fixed legend names one line");
    // A stat with a series per label value becomes a table of them.
    let t = json!([{ "expr": "up", "legendFormat": "{{instance}}", "refId": "A" }]);
    let (_, d) = run(&board(json!([prom("stat", "Up", t, json!({}))]), json!([])));
    let p = only_panel(&d);
    assert_eq!((p.kind, p.by.as_deref()), (PanelKind::Table, Some("instance")));
    // A stat of the range's mean still shows the newest value, and says so.
    let mut stat = prom("stat", "Mean", json!([{ "expr": "up", "refId": "A" }]), json!({}));
    stat["options"] = json!({ "reduceOptions": { "calcs": ["mean"] } });
    let (t, _) = run(&board(json!([stat]), json!([])));
    assert!(t.notes.iter().any(|n| n.contains("shows the `mean` of the time range")), "{:?}", t.notes);
    assert_eq!(p.columns[0].show, crate::dashboards::spec::Show::Spark);
}

#[test]
fn a_stat_of_several_queries_is_several_big_numbers() {
    let t = json!([{ "expr": "a", "legendFormat": "in", "refId": "A" }, { "expr": "b", "refId": "B" }]);
    let mut p = prom("stat", "Flow", t, json!({}));
    p["gridPos"]["w"] = json!(12);
    let other = prom("gauge", "G", json!([{ "expr": "c", "refId": "A" }]), json!({ "unit": "percent" }));
    let mut other = other;
    other["gridPos"] = json!({ "x": 12, "y": 0, "w": 12, "h": 4 });
    let (t, d) = run(&board(json!([p, other]), json!([])));
    let row = &d.pages[0].rows[0];
    let names: Vec<(&str, u16)> = row.panels.iter().map(|p| (p.title.as_str(), p.width)).collect();
    assert_eq!(names, [("Flow in", 1), ("Flow B", 1), ("G", 2)]);
    assert_eq!(row.height, Some(12), "the taller panel's 8 units");
    assert_eq!(t.translated, 2);
}

#[test]
fn mixed_datasources_keep_their_prometheus_queries() {
    let p = json!({
        "type": "timeseries", "title": "Mixed", "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 },
        "datasource": { "type": "datasource", "uid": "-- Mixed --" },
        "targets": [
            { "datasource": { "type": "prometheus", "uid": "p" }, "expr": "up", "refId": "A" },
            { "datasource": { "type": "loki", "uid": "l" }, "expr": "count_over_time({a=\"b\"}[1m])", "refId": "B" },
            { "datasource": { "type": "__expr__", "uid": "__expr__" }, "expression": "$A * 2", "refId": "C" }
        ]
    });
    let (t, d) = run(&board(json!([p]), json!([])));
    assert_eq!(promql(only_panel(&d)), "up");
    assert!(
        t.notes.iter().any(|n| n.contains("\"Mixed\": its queries for Grafana expressions, loki were dropped")),
        "{:?}",
        t.notes
    );
    // The panel's own (here the default) counts only for queries naming none.
    let mut p = prom(
        "timeseries",
        "D",
        json!([{ "datasource": { "type": "prometheus" }, "expr": "up", "refId": "A" }]),
        json!({}),
    );
    p["datasource"] = Value::Null;
    let (t, _) = run(&board(json!([p.clone()]), json!([])));
    assert!(!t.notes.iter().any(|n| n.contains("default datasource")), "{:?}", t.notes);
    p["targets"][0]["datasource"] = Value::Null;
    let (t, _) = run(&board(json!([p]), json!([])));
    assert!(
        t.notes.iter().any(|n| n.contains("queries of the default datasource were taken to be PromQL")),
        "{:?}",
        t.notes
    );
    // A datasource named by a variable of Loki's plugin.
    let vars = json!([{ "name": "logs", "type": "datasource", "query": "loki" }]);
    let mut p = prom("timeseries", "L", json!([{ "expr": "{a=\"b\"}", "refId": "A" }]), json!({}));
    p["datasource"] = json!("$logs");
    let (t, _) = run(&board(json!([p]), vars));
    assert_eq!(t.translated, 0);
    assert!(t.skipped[0].reason.contains("loki"), "{:?}", t.skipped);
}

#[test]
fn nothing_translated_is_still_a_dashboard() {
    let p = json!({ "type": "news", "title": "News", "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 } });
    let (t, d) = run(&board(json!([p]), json!([])));
    assert_eq!(t.translated, 0);
    assert_eq!(t.skipped[0].reason, "vigil has no panel like Grafana's `news`");
    assert_eq!(only_panel(&d).kind, PanelKind::Text);
    let (t, _) = run(&board(json!([]), json!([])));
    assert_eq!((t.translated, t.skipped.len()), (0, 0));
}

#[test]
fn bad_input_is_an_error_with_a_position() {
    let e = translate("{\n  \"panels\": [,]\n}", &Options::default()).unwrap_err();
    match &e {
        ImportError::Json { line, column, message } => {
            assert_eq!((*line, *column), (2, 14));
            assert!(!message.contains("line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().starts_with("2:14: not valid JSON: "), "{e}");
    let e = translate("[1, 2]", &Options::default()).unwrap_err();
    assert_eq!(e, ImportError::NotADashboard("the JSON is not an object".into()));
    let e = translate("{\"title\": \"x\"}", &Options::default()).unwrap_err();
    assert!(e.to_string().contains("neither `panels` nor `rows`"), "{e}");
}

#[test]
fn hostile_titles_and_text_stay_inside_their_strings() {
    let title = "a\"b'c\\d\n[[page]]\ntitle = \"x\"\u{7}\u{202e}";
    let mut p = prom("stat", title, json!([{ "expr": "up{a=\"'\\\\\"}", "refId": "A" }]), json!({}));
    p["gridPos"]["h"] = json!(100);
    let text = json!({ "type": "text", "title": "t", "gridPos": { "x": 0, "y": 1, "w": 24, "h": 1 },
        "options": { "mode": "markdown", "content": "'''\n\"\"\"\n\u{1b}]0;x\u{7}\n# [[page]]" } });
    let (_, d) = run(&board(json!([p, text]), json!([])));
    assert_eq!(d.pages.len(), 1);
    let p = only_panel(&d);
    assert!(!p.title.chars().any(char::is_control) && !p.title.contains('\u{202e}'), "{:?}", p.title);
    assert_eq!(promql(p), "up{a=\"'\\\\\"}");
    assert_eq!(d.pages[0].rows[0].height, Some(30), "tall panels are capped");
    // The old layout's rows are in pixels: 250 px is six and a half units.
    let old = json!({ "title": "O", "rows": [{ "height": "250px", "panels": [
        { "type": "singlestat", "span": 6, "targets": [{ "expr": "a" }] },
        { "type": "singlestat", "span": 6, "targets": [{ "expr": "b" }] },
        { "type": "singlestat", "span": 4, "targets": [{ "expr": "c" }] }
    ] }] });
    let (_, od) = run(&old.to_string());
    let rows: Vec<(Option<u16>, usize)> = od.pages[0].rows.iter().map(|r| (r.height, r.panels.len())).collect();
    assert_eq!(rows, [(Some(10), 2), (Some(10), 1)], "past 12 columns a panel wraps");
    assert_eq!(d.pages[0].rows[1].height, Some(3), "short ones get room for a line");
    let text = d.pages[0].rows[1].panels[0].text.as_deref().unwrap();
    assert_eq!(text, "'''\n\"\"\"\n\\u{1b}]0;x\\u{7}\n[[page]]");
}

#[test]
fn repeated_keys_and_empty_row_titles() {
    let row =
        |title: &str, y: i64| json!({ "type": "row", "title": title, "gridPos": { "x": 0, "y": y, "w": 24, "h": 1 } });
    let stat = |y: i64| {
        let mut p = prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), json!({}));
        p["gridPos"]["y"] = json!(y);
        p
    };
    let panels = json!([stat(0), row("t", 1), stat(2), row("", 3), stat(4)]);
    let (_, d) = run(&board(panels, json!([])));
    let keys: Vec<String> = d.pages.iter().map(|p| p.key()).collect();
    assert_eq!(keys, ["t", "t 2", "row 2"]);
}

mod props;
