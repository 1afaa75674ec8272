use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn clean(text: &str) -> Parsed {
    let p = parse(text);
    assert_eq!(p.errors, [], "{text}");
    p
}

fn only_sample(text: &str) -> RawSample {
    let p = clean(text);
    assert_eq!(p.samples, 1, "{p:?}");
    p.families[0].samples[0].clone()
}

#[test]
fn declarations_make_families() {
    let p = clean(
        "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n\
         http_requests_total{code=\"200\"} 1027\n\n# a plain comment\n#HELP not a declaration\n\
         # TYPE temp gauge\ntemp 21.5\n",
    );
    assert!(!p.openmetrics);
    assert_eq!(p.families.len(), 2);
    let f = &p.families[0];
    assert_eq!(
        (f.name.as_str(), f.kind, f.help.as_str()),
        ("http_requests_total", FamilyKind::Counter, "Requests served.")
    );
    assert_eq!(f.samples[0].labels, labels(&[("code", "200")]));
    assert_eq!(f.samples[0].value, 1027.0);
    assert_eq!((p.families[1].kind, p.families[1].samples[0].value), (FamilyKind::Gauge, 21.5));
}

#[test]
fn help_text_is_unescaped() {
    let p = clean("# HELP m Two\\nlines, a \\\\ and a \\\"quote\\\".\n# TYPE m gauge\nm 1\n");
    assert_eq!(p.families[0].help, "Two\nlines, a \\ and a \"quote\".");
    // A HELP line with no text at all.
    assert_eq!(clean("# HELP m\nm 1\n").families[0].help, "");
}

#[test]
fn label_values_keep_what_the_escapes_stand_for() {
    let s = only_sample(r#"m{a="x\\y",b="say \"hi\"",c="two\nlines",d="a,b{c}=d",e="",f="\t"} 1"#);
    assert_eq!(
        s.labels,
        labels(&[("a", "x\\y"), ("b", "say \"hi\""), ("c", "two\nlines"), ("d", "a,b{c}=d"), ("e", ""), ("f", "\\t")])
    );
    let s = only_sample("m{path=\"/caf\u{e9} \u{1f600}\"} 1");
    assert_eq!(s.labels["path"], "/caf\u{e9} \u{1f600}");
}

#[test]
fn label_sets_may_be_empty_have_a_trailing_comma_or_blanks() {
    assert_eq!(only_sample("m{} 1").labels, Labels::new());
    assert_eq!(only_sample("m{a=\"1\",} 1").labels, labels(&[("a", "1")]));
    assert_eq!(only_sample("m{ a = \"1\" , b=\"2\" } 1").labels, labels(&[("a", "1"), ("b", "2")]));
    assert_eq!(only_sample("m{a=\"1\"}2").value, 2.0);
    assert_eq!(only_sample("  m \t 3").value, 3.0);
}

#[test]
fn names_may_hold_colons_and_underscores() {
    let s = only_sample("job:http_requests:rate5m{_hidden=\"x\"} 4");
    assert_eq!((s.name.as_str(), s.labels["_hidden"].as_str()), ("job:http_requests:rate5m", "x"));
    assert_eq!(only_sample("_m 1").name, "_m");
}

#[test]
fn values_in_every_spelling() {
    let cases = [
        ("1", 1.0),
        ("-7", -7.0),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ("-1.5E-3", -0.0015),
        ("1.7958505430523198e+09", 1.7958505430523198e9),
        ("+Inf", f64::INFINITY),
        ("Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
        (".5", 0.5),
    ];
    for (text, want) in cases {
        assert_eq!(only_sample(&format!("m {text}")).value, want, "{text}");
    }
    assert!(only_sample("m NaN").value.is_nan());
}

#[test]
fn timestamps_become_milliseconds_in_both_formats() {
    assert_eq!(only_sample("m 1 1767323045500").ts_ms, Some(1_767_323_045_500));
    assert_eq!(only_sample("m 1 -1000").ts_ms, Some(-1000));
    assert_eq!(only_sample("m 1").ts_ms, None);
    let om = |ts: &str| {
        let p = parse(&format!("# TYPE m gauge\nm 1 {ts}\n# EOF\n"));
        assert!(p.openmetrics && p.errors.is_empty(), "{ts}: {p:?}");
        p.families[0].samples[0].ts_ms
    };
    assert_eq!(om("1767323045.5"), Some(1_767_323_045_500));
    assert_eq!(om("1767323045"), Some(1_767_323_045_000));
    assert_eq!(om("1767323045.123999"), Some(1_767_323_045_123));
    assert_eq!(om("1.5e9"), Some(1_500_000_000_000));
    assert_eq!(om("-0.25"), Some(-250));
    // The text format's timestamps are whole milliseconds.
    assert_eq!(parse("m 1 1.5").error_count, 1);
    assert_eq!(parse("# TYPE m gauge\nm 1 soon\n# EOF\n").error_count, 1);
}

#[test]
fn exemplars_are_skipped() {
    let p = clean(
        "# TYPE foo counter\nfoo_total{a=\"1\"} 17 # {trace_id=\"oHg5SJ#YRHA0\"} 9.5 1520879607.789\n\
         # TYPE h histogram\nh_bucket{le=\"+Inf\"} 3 1520879607.7 # {id=\"x\"} 1\nh_count 3\n# EOF\n",
    );
    assert_eq!(p.families[0].samples[0].value, 17.0);
    assert_eq!(p.families[1].samples[0].ts_ms, Some(1_520_879_607_700));
}

#[test]
fn samples_without_a_type_are_each_their_own_family() {
    let p = clean("a 1\na_bucket{le=\"1\"} 2\nb_total 3\nb_total{x=\"y\"} 4\n");
    let fams: Vec<(&str, FamilyKind, usize)> =
        p.families.iter().map(|f| (f.name.as_str(), f.kind, f.samples.len())).collect();
    assert_eq!(
        fams,
        [("a", FamilyKind::Unknown, 1), ("a_bucket", FamilyKind::Unknown, 1), ("b_total", FamilyKind::Unknown, 2)]
    );
    let p = clean("# TYPE u untyped\nu 1\n");
    assert_eq!(p.families[0].kind, FamilyKind::Unknown);
}

#[test]
fn openmetrics_counters_own_their_total_and_created_samples() {
    let p = clean(
        "# TYPE req counter\n# UNIT req requests\n# HELP req Requests.\nreq_total{a=\"1\"} 5\nreq_created{a=\"1\"} 1.7e9\n\
         req_total{a=\"2\"} 6\n# EOF\n",
    );
    assert!(p.openmetrics);
    assert_eq!(p.families.len(), 1);
    let f = &p.families[0];
    assert_eq!((f.kind, f.unit.as_str(), f.help.as_str()), (FamilyKind::Counter, "requests", "Requests."));
    let names: Vec<&str> = f.samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["req_total", "req_created", "req_total"]);
}

#[test]
fn histogram_summary_and_gauge_histogram_samples_find_their_family() {
    let text = "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 0.3\nlat_count 2\n\
                lat_created 1.7e9\n# TYPE q summary\nq{quantile=\"0.5\"} 0.2\nq{quantile=\"0.99\"} 0.9\nq_sum 4\nq_count 9\n\
                # TYPE g gaugehistogram\ng_bucket{le=\"1\"} 3\ng_bucket{le=\"+Inf\"} 4\ng_gcount 4\ng_gsum 2\n\
                # TYPE i info\ni_info{version=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n";
    let p = clean(text);
    let fams: Vec<(&str, FamilyKind, usize)> =
        p.families.iter().map(|f| (f.name.as_str(), f.kind, f.samples.len())).collect();
    assert_eq!(
        fams,
        [
            ("lat", FamilyKind::Histogram, 5),
            ("q", FamilyKind::Summary, 4),
            ("g", FamilyKind::GaugeHistogram, 4),
            ("i", FamilyKind::Info, 1),
            ("s", FamilyKind::StateSet, 2),
        ]
    );
}

#[test]
fn samples_out_of_order_still_find_their_family() {
    let p = clean("# TYPE a counter\n# TYPE b gauge\nb 1\na_total 2\nb 3\na_created 4\n");
    assert_eq!(p.families[0].samples.iter().map(|s| s.value).collect::<Vec<_>>(), [2.0, 4.0]);
    assert_eq!(p.families[1].samples.iter().map(|s| s.value).collect::<Vec<_>>(), [1.0, 3.0]);
}

#[test]
fn a_suffix_the_family_does_not_take_makes_a_family_of_its_own() {
    // A gauge has no `_sum`: this is another metric.
    let p = clean("# TYPE g gauge\ng 1\ng_sum 2\n");
    assert_eq!(p.families.len(), 2);
    assert_eq!((p.families[1].name.as_str(), p.families[1].kind), ("g_sum", FamilyKind::Unknown));
}

#[test]
fn bad_lines_are_skipped_and_the_rest_kept() {
    let text = "# TYPE h histogram\n\
                ok 1\n\
                9bad 1\n\
                bad-name 1\n\
                m{a=\"unterminated} 1\n\
                m{a=\"1\",a=\"2\"} 1\n\
                m{a=\"1\" b=\"2\"} 1\n\
                m{1a=\"x\"} 1\n\
                m{a=x} 1\n\
                m{a=\"1\" 1\n\
                m one\n\
                m\n\
                m 1 2 3\n\
                h_bucket 1\n\
                h_bucket{le=\"high\"} 1\n\
                h 1\n\
                # TYPE x sometype\n\
                also_ok{b=\"2\"} 2\n";
    let p = parse(text);
    let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, (3..=17).collect::<Vec<_>>(), "{:#?}", p.errors);
    assert_eq!(p.error_count, 15);
    assert_eq!(p.samples, 2);
    let names: Vec<&str> = p.families.iter().flat_map(|f| &f.samples).map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ok", "also_ok"]);
    let reasons: Vec<&str> = p.errors.iter().map(|e| e.reason.as_str()).collect();
    assert!(reasons[0].contains("invalid metric name \"9bad\""), "{reasons:?}");
    assert!(reasons[2].contains("no closing quote"), "{reasons:?}");
    assert!(reasons[3].contains("appears twice"), "{reasons:?}");
    assert!(reasons[8].contains("not a number"), "{reasons:?}");
    assert!(reasons[11].contains("no le label"), "{reasons:?}");
}

#[test]
fn a_name_declared_again_starts_a_new_family() {
    // As a Go program's OpenMetrics page has it: a gauge, then a counter
    // whose family name is the same once `_total` is taken off.
    let p = clean(
        "# HELP mem Bytes in use.\n# TYPE mem gauge\nmem 5\n# HELP mem Bytes ever.\n# TYPE mem counter\n\
         mem_total 9\n# EOF\n",
    );
    let fams: Vec<(&str, FamilyKind, &str, &str)> =
        p.families.iter().map(|f| (f.name.as_str(), f.kind, f.help.as_str(), f.samples[0].name.as_str())).collect();
    assert_eq!(
        fams,
        [("mem", FamilyKind::Gauge, "Bytes in use.", "mem"), ("mem", FamilyKind::Counter, "Bytes ever.", "mem_total")]
    );
    // Declared after its samples: the samples that follow take the type.
    let p = clean("late 1\n# TYPE late counter\nlate 2\n");
    assert_eq!(p.families.iter().map(|f| f.kind).collect::<Vec<_>>(), [FamilyKind::Unknown, FamilyKind::Counter]);
    // The same declaration twice before any sample: the second wins.
    let p = clean("# TYPE m gauge\n# TYPE m counter\nm 1\n");
    assert_eq!(p.families.last().unwrap().kind, FamilyKind::Counter);
}

#[test]
fn error_reasons_are_safe_to_print_and_short() {
    let hostile = "m\u{1b}]0;pwned\u{7}{a=\"1\"} 1\nm{a=\"1\"} \u{1b}[2J\n";
    let p = parse(hostile);
    assert_eq!(p.error_count, 2);
    for e in &p.errors {
        assert!(!e.reason.chars().any(|c| c.is_control()), "{:?}", e.reason);
    }
    let long = format!("{} 1", "x-".repeat(500));
    let reason = &parse(&long).errors[0].reason;
    assert!(reason.chars().count() < 120, "{reason}");
}

#[test]
fn only_the_first_errors_are_kept_but_all_counted() {
    let text = "bad-line 1\n".repeat(50) + "good 1\n";
    let p = parse(&text);
    assert_eq!((p.errors.len(), p.error_count, p.samples), (MAX_ERRORS_KEPT, 50, 1));
}

#[test]
fn long_lines_and_too_many_samples_are_bounded() {
    let long = format!("m{{a=\"{}\"}} 1\nok 1\n", "x".repeat(MAX_LINE_BYTES));
    let p = parse(&long);
    assert_eq!((p.error_count, p.samples), (1, 1));
    assert!(p.errors[0].reason.contains("64 KiB"));

    let many = "a 1\nb 2\nc 3\nd 4\n";
    let p = parse_capped(many, false, 2, MAX_PAGE_BYTES);
    assert!(p.truncated);
    assert_eq!((p.samples, p.error_count, p.errors[0].line), (2, 1, 3));

    // Cut in the middle of `c 3`: the whole lines before it are read.
    let p = parse_capped(many, false, MAX_SAMPLES, 10);
    assert!(p.truncated);
    assert_eq!((p.samples, p.error_count, p.errors[0].line), (2, 1, 3));
    assert_eq!(parse_capped(many, false, MAX_SAMPLES, many.len()).error_count, 0);
}

#[test]
fn too_many_labels_are_refused() {
    let set: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}=\"v\"")).collect();
    let p = parse(&format!("m{{{}}} 1\n", set.join(",")));
    assert_eq!((p.samples, p.error_count), (0, 1));
}

#[test]
fn nothing_may_follow_eof() {
    let p = parse("# TYPE m gauge\nm 1\n# EOF\nm 2\n");
    assert!(!p.openmetrics, "the last line is not # EOF");
    assert_eq!((p.samples, p.error_count, p.errors[0].line), (1, 1, 4));
    let p = parse("m 1\n# EOF\n\n");
    assert!(p.openmetrics && p.errors.is_empty());
}

#[test]
fn windows_line_ends_are_read() {
    let p = clean("# TYPE m gauge\r\nm{a=\"1\"} 2\r\n# EOF\r\n");
    assert!(p.openmetrics);
    assert_eq!(p.families[0].samples[0].labels["a"], "1");
}

#[test]
fn the_format_can_be_named_by_the_caller() {
    // Seconds when told it is OpenMetrics, even without `# EOF`.
    let p = parse_as("m 1 1700000000\n", true);
    assert_eq!(p.families[0].samples[0].ts_ms, Some(1_700_000_000_000));
    let p = parse_as("m 1 1700000000\n", false);
    assert_eq!(p.families[0].samples[0].ts_ms, Some(1_700_000_000));
}

#[test]
fn quoted_names_are_read_as_prometheus_3_writes_them() {
    // The metric's name alone in the braces, with labels, and not first.
    let s = only_sample(r#"{"my.metric"} 3"#);
    assert_eq!((s.name.as_str(), s.labels.len(), s.value), ("my.metric", 0, 3.0));
    let s = only_sample(r#"{"http.server.requests", "http.method"="GET", code="200"} 171"#);
    assert_eq!(s.name, "http.server.requests");
    assert_eq!(s.labels, labels(&[("http.method", "GET"), ("code", "200")]));
    let s = only_sample(r#"{code="200","my.metric",} 5 1700000000000"#);
    assert_eq!((s.name.as_str(), s.labels["code"].as_str(), s.ts_ms), ("my.metric", "200", Some(1_700_000_000_000)));
    // A classic name may be quoted too, and a classic metric may carry a
    // quoted label name.
    assert_eq!(only_sample(r#"{"plain_name"} 1"#).name, "plain_name");
    assert_eq!(only_sample(r#"m{"k8s.pod"="api-1"} 1"#).labels, labels(&[("k8s.pod", "api-1")]));
    // Any text, escapes undone.
    let s = only_sample(r#"{"café \"q\" a\\b\nc", "ünï cødé"="v"} 2"#);
    assert_eq!(s.name, "caf\u{e9} \"q\" a\\b\nc");
    assert_eq!(s.labels, labels(&[("ünï cødé", "v")]));
}

#[test]
fn quoted_names_are_declared_and_find_their_family() {
    let p = clean(
        "# HELP \"http.server.duration\" Time to \\\"serve\\\".\n# TYPE \"http.server.duration\" histogram\n\
         # UNIT \"http.server.duration\" seconds\n\
         {\"http.server.duration_bucket\",le=\"0.5\"} 3\n{\"http.server.duration_bucket\",le=\"+Inf\"} 4\n\
         {\"http.server.duration_sum\"} 1.5\n{\"http.server.duration_count\"} 4\n\
         # TYPE \"jobs.done\" counter\n{\"jobs.done_total\",\"queue.name\"=\"mail\"} 12\n# EOF\n",
    );
    assert!(p.openmetrics);
    let f = &p.families[0];
    assert_eq!(
        (f.name.as_str(), f.kind, f.help.as_str(), f.unit.as_str(), f.samples.len()),
        ("http.server.duration", FamilyKind::Histogram, "Time to \"serve\".", "seconds", 4)
    );
    assert_eq!(f.samples[0].labels, labels(&[("le", "0.5")]));
    let f = &p.families[1];
    assert_eq!(
        (f.name.as_str(), f.kind, f.samples[0].name.as_str()),
        ("jobs.done", FamilyKind::Counter, "jobs.done_total")
    );
    // A quoted declaration with nothing after its name.
    assert_eq!(clean("# HELP \"a.b\"\n{\"a.b\"} 1\n").families[0].samples.len(), 1);
}

#[test]
fn bad_quoted_names_are_skipped_with_a_reason() {
    let text = "ok 1\n\
                m{\"other.name\"} 1\n\
                {\"a.b\",\"c.d\"} 1\n\
                {\"\"} 1\n\
                {\"never closed} 1\n\
                {code=\"200\"} 1\n\
                {\"a.b\" 1\n\
                {\"a.b\"=} 1\n\
                # TYPE \"no.close counter\n\
                # TYPE \"x.y\"counter\n\
                {\"also.ok\"} 2\n";
    let p = parse(text);
    let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, (2..=10).collect::<Vec<_>>(), "{:#?}", p.errors);
    let names: Vec<&str> = p.families.iter().flat_map(|f| &f.samples).map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ok", "also.ok"]);
    let reasons: Vec<&str> = p.errors.iter().map(|e| e.reason.as_str()).collect();
    assert!(reasons[0].contains("named again"), "{reasons:?}");
    assert!(reasons[1].contains("named twice"), "{reasons:?}");
    assert!(reasons[2].contains("invalid quoted name"), "{reasons:?}");
    assert!(reasons[4].contains("invalid metric name"), "{reasons:?}");
    // A name longer than the limit is refused like an unquoted one.
    let long = format!("{{\"{}\"}} 1\n", "é".repeat(MAX_NAME_BYTES));
    assert_eq!(parse(&long).error_count, 1);
}

#[test]
fn quoted_names_in_error_reasons_are_safe_to_print() {
    let hostile = "{\"evil\u{1b}[2J\\n\u{9b}\"} notanumber\n\
                   {\"evil\u{1b}]0;x\u{7}\"=\"1\" 2\n\
                   # TYPE \"evil\u{1b}[31m\" sometype\n\
                   # TYPE \"h.h\" histogram\n{\"h.h\u{1b}_bucket\"} 1\n{\"h.h_bucket\"} 1\n";
    let p = parse(hostile);
    assert_eq!(p.error_count, 4, "{:#?}", p.errors);
    for e in &p.errors {
        assert!(!e.reason.chars().any(|c| c.is_control()), "{:?}", e.reason);
    }
}
