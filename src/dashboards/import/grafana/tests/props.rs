//! Any JSON at all, and Grafana-shaped JSON with odd fields, gives a
//! dashboard vigil reads, or an error; never a panic or a broken file.

use super::super::translate;
use crate::dashboards::Dashboard;
use crate::dashboards::import::Options;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

/// Any JSON value, leaning on Grafana's keys and on awkward text.
fn any_json() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just("prometheus".to_string()),
        Just("loki".to_string()),
        Just("${DS_PROMETHEUS}".to_string()),
        Just("-- Mixed --".to_string()),
        Just("label_values(up, job)".to_string()),
        Just("#F2495Cé".to_string()),
        Just("$__all".to_string()),
        "[a-z{}$\\[\\]()\"'\\\\:.,=~_ \n\u{1b}\u{202e}é#-]{0,24}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        (-30i64..60).prop_map(|n| json!(n)),
        text.prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("type"),
        Just("title"),
        Just("gridPos"),
        Just("x"),
        Just("y"),
        Just("w"),
        Just("h"),
        Just("panels"),
        Just("targets"),
        Just("expr"),
        Just("legendFormat"),
        Just("datasource"),
        Just("fieldConfig"),
        Just("defaults"),
        Just("unit"),
        Just("thresholds"),
        Just("steps"),
        Just("color"),
        Just("value"),
        Just("max"),
        Just("min"),
        Just("options"),
        Just("content"),
        Just("mode"),
        Just("span"),
        Just("rows"),
        Just("height"),
        Just("collapse"),
        Just("hide"),
        Just("templating"),
        Just("list"),
        Just("name"),
        Just("query"),
        Just("current"),
        Just("regex"),
        Just("yaxes"),
        Just("format"),
        Just("colors"),
        Just("gauge"),
        Just("repeat"),
        Just("time"),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// A panel of Grafana's shape whose every field may be odd.
fn grafana_panel() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("timeseries"),
        Just("graph"),
        Just("stat"),
        Just("singlestat"),
        Just("gauge"),
        Just("bargauge"),
        Just("table"),
        Just("heatmap"),
        Just("text"),
        Just("row"),
        Just("logs"),
    ];
    let expr = "[a-z_{}()\\[\\]$\"=~,. 0-9\n]{0,30}|sum by \\(le\\) \\(rate\\(x_bucket\\[\\$__rate_interval\\]\\)\\)";
    let target = (expr, "[a-z{} $]{0,10}", any::<bool>(), any_json()).prop_map(
        |(e, l, hide, ds)| json!({ "expr": e, "legendFormat": l, "hide": hide, "datasource": ds, "refId": "A" }),
    );
    let unit = prop_oneof![Just("ms"), Just("percent"), Just("percentunit"), Just("bytes"), Just("celsius"), Just("")];
    let colour =
        prop_oneof![Just("green"), Just("red"), Just("orange"), Just("blue"), Just("#EAB839"), Just("rgba(1,2,3")];
    let step = (
        colour,
        prop_oneof![Just(Value::Null), any::<f64>().prop_map(|f| json!(f)), (0i64..200).prop_map(|n| json!(n))],
    )
        .prop_map(|(c, v)| json!({ "color": c, "value": v }));
    let mode = prop_oneof![Just("absolute"), Just("percentage")];
    let defaults = (unit, prop::collection::vec(step, 0..4), mode, any_json(), any_json())
        .prop_map(|(u, steps, m, max, min)| json!({ "unit": u, "max": max, "min": min, "thresholds": { "mode": m, "steps": steps } }));
    let grid =
        (-2i64..40, -2i64..40, -2i64..30, -2i64..40).prop_map(|(x, y, w, h)| json!({ "x": x, "y": y, "w": w, "h": h }));
    (kind, any_json(), grid, prop::collection::vec(target, 0..4), defaults, any_json(), any_json()).prop_map(
        |(k, title, grid, targets, defaults, options, panels)| {
            json!({ "type": k, "title": title, "gridPos": grid, "targets": targets,
                    "fieldConfig": { "defaults": defaults }, "options": options, "panels": panels })
        },
    )
}

/// A template variable of Grafana's shape.
fn grafana_var() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("query"),
        Just("custom"),
        Just("constant"),
        Just("interval"),
        Just("datasource"),
        Just("adhoc")
    ];
    let query = prop_oneof![
        Just("label_values(up, job)".to_string()),
        Just("label_values(instance)".to_string()),
        Just("query_result(up)".to_string()),
        "[a-z_(){},\" :$]{0,20}",
    ];
    (kind, "[a-z_]{1,6}", query, any_json()).prop_map(
        |(k, name, q, current)| json!({ "type": k, "name": name, "query": q, "current": { "value": current } }),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    #[test]
    fn any_dashboard_json_gives_a_dashboard_or_an_error(
        panels in any_json(), vars in any_json(), rows in any_json(),
        shaped in prop::collection::vec(grafana_panel(), 0..8),
        shaped_vars in prop::collection::vec(grafana_var(), 0..4),
        old in any::<bool>(),
    ) {
        let board = if old {
            json!({ "title": "P", "panels": panels, "rows": rows, "templating": { "list": vars } })
        } else {
            json!({ "title": "P", "panels": shaped, "templating": { "list": shaped_vars } })
        };
        if let Ok(t) = translate(&board.to_string(), &Options::default()) {
            let parsed = Dashboard::parse(&t.toml, Path::new("p.toml"));
            proptest::prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), t.toml);
            let report = format!("{:?}{:?}", t.skipped, t.notes);
            proptest::prop_assert!(!report.contains('\u{1b}') && !report.contains('\u{202e}'), "{report}");
        }
    }
}
