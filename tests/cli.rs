//! The `vigil` binary's front door: config fixtures (valid ones load, each
//! invalid one fails with one line naming file, line and key), flag errors,
//! `vigil import grafana` on its fixtures, and what packaging ships: the
//! version with its commit, shell completions and the man page.

use std::path::Path;
use std::process::Command;
use vigil::config::Config;
use vigil::dashboards::{Dashboard, PanelKind};

fn vigil(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigil")).args(args).env_remove("VIGIL_TOKEN").output().expect("vigil runs")
}

#[test]
fn valid_configs_load() {
    for entry in std::fs::read_dir("tests/configs/valid").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = Config::parse(&text, &path) {
            panic!("{} should be valid: {e}", path.display());
        }
    }
    let text = std::fs::read_to_string("tests/configs/valid/remote.toml").unwrap();
    let c = Config::parse(&text, Path::new("remote.toml")).unwrap();
    assert_eq!(c.ui.fps, 10);
    assert_eq!(c.ui.debounce, std::time::Duration::from_millis(250));
}

/// (fixture, line, key) the error must name.
const INVALID: [(&str, usize, &str); 7] = [
    ("unknown_key.toml", 3, "refresh"),
    ("wrong_type.toml", 3, "demo.seed"),
    ("bad_scenario.toml", 3, "demo.scenario"),
    ("bad_url.toml", 2, "url"),
    ("bad_duration.toml", 2, "ui.debounce"),
    ("fps_zero.toml", 2, "ui.fps"),
    ("broken_syntax.toml", 1, ""),
];

#[test]
fn invalid_configs_fail_with_file_line_and_key() {
    let files = std::fs::read_dir("tests/configs/invalid").unwrap().count();
    assert_eq!(files, INVALID.len(), "every invalid fixture is listed here");
    for (file, line, key) in INVALID {
        let path = format!("tests/configs/invalid/{file}");
        let out = vigil(&["--config", &path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{file}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{file}: not one line: {stderr}");
        assert!(stderr.contains(&format!("{path}:{line}:")), "{file}: no file:line in {stderr}");
        assert!(stderr.contains(key), "{file}: key {key:?} not named in {stderr}");
        assert!(out.stdout.is_empty(), "{file}: wrote to stdout");
    }
}

#[test]
fn a_missing_config_file_is_one_clear_line() {
    let out = vigil(&["--config", "tests/configs/nope.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("tests/configs/nope.toml") && stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_before_the_screen_starts() {
    let out = vigil(&["--url", "http://x/api/v1/metrics/stream"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with ws:// or wss://"));
    let out = vigil(&["serve", "--scenario", "chaos", "--bind", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown scenario") && stderr.contains("error-burst"), "{stderr}");
    let out = vigil(&["--token-file", "/nonexistent/token"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read token file /nonexistent/token"));
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn import_grafana_prints_a_dashboard_and_reports_what_it_left_out() {
    let out = vigil(&["import", "grafana", "tests/fixtures/grafana/golden-signals.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let toml = String::from_utf8(out.stdout).unwrap();
    let d = Dashboard::parse(&toml, Path::new("imported.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Service golden signals", "Saturation", "Business"]);
    assert_eq!(d.pages[0].select.as_deref(), Some("job"));
    let kinds: Vec<PanelKind> = d.pages[0].rows[1].panels.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PanelKind::Bignum, PanelKind::Bignum, PanelKind::Gauge, PanelKind::Table]);

    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], "vigil: translated 14 of 18 panels of tests/fixtures/grafana/golden-signals.json");
    for needle in [
        "  skipped \"Error logs\" (logs): vigil has no panel like Grafana's `logs`",
        "  skipped \"Log lines / s\" (timeseries): its queries are for loki, not Prometheus",
        "  skipped \"Requests by route\" (piechart):",
        "  skipped \"Checkout shared\" (stat): a library panel",
        "  note: `$job` became the page's choice of `job`",
        "  note: heatmap \"Latency distribution\" became a chart of its p50, p90 and p99",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(needle)), "no {needle:?} in\n{stderr}");
    }
}

#[test]
fn import_grafana_writes_a_file_only_once_unless_forced() {
    let dir = scratch("import-output");
    let path = dir.join("legacy.toml");
    let target = path.to_str().unwrap();
    let fixture = "tests/fixtures/grafana/old-rows.json";
    let out = vigil(&["import", "grafana", fixture, "--output", target, "--source", "eu"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "the dashboard went to the file, not stdout");
    let d = Dashboard::load(&path).unwrap();
    assert_eq!(d.pages[0].select_source.as_deref(), Some("eu"));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("skipped \"Graphite load\" (graph): its queries are for graphite")
    );

    std::fs::write(&path, "# mine\n").unwrap();
    let out = vigil(&["import", "grafana", fixture, "--output", target]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.trim_end().ends_with(&format!("vigil: {target} exists; add --force to replace it")), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n", "left as it was");

    let out = vigil(&["import", "grafana", fixture, "--output", target, "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(Dashboard::load(&path).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_grafana_fails_in_one_line_on_bad_input() {
    let dir = scratch("import-bad");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\n  \"panels\": [,]\n}\n").unwrap();
    let bad = bad.to_str().unwrap();
    let out = vigil(&["import", "grafana", bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("vigil: {bad}:2:14: not valid JSON: expected value")), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = vigil(&["import", "grafana", "tests/fixtures/grafana/nope.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.starts_with("vigil: cannot read tests/fixtures/grafana/nope.json"), "{stderr}");

    // Valid, but nothing vigil can draw: the report, then a failure, and no file.
    let only_logs = dir.join("logs.json");
    let json = r#"{"title": "Logs", "panels": [{"type": "logs", "title": "All", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8}}]}"#;
    std::fs::write(&only_logs, json).unwrap();
    let out = vigil(&["import", "grafana", only_logs.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("skipped \"All\" (logs)") && stderr.contains("nothing in"), "{stderr}");
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The commit the checkout is at, as build.rs names it; None outside a git
/// checkout of this crate.
fn checkout_commit() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok()?;
    (Path::new(&top).canonicalize().ok()? == here).then(|| git(&["rev-parse", "--short=12", "HEAD"]))?
}

#[test]
fn version_names_the_release_and_the_commit_it_was_built_from() {
    let out = vigil(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.trim_end();
    let prefix = format!("vigil {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line.strip_prefix(&prefix).and_then(|r| r.strip_suffix(')')).unwrap_or_else(|| panic!("{line:?}"));
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    match checkout_commit() {
        Some(head) => assert_eq!(hash, head, "{line:?}"),
        None => assert_eq!(commit, "unknown", "{line:?}"),
    }
}

#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let out = vigil(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).unwrap();
    for word in ["serve", "tail", "check", "import", "completions", "--prometheus", "--scrape", "--kiosk"] {
        assert!(script.contains(word), "{word} not in the bash script");
    }
    // Load the script into bash and ask it, as the shell would on Tab.
    let dir = scratch("bash-completion");
    let path = dir.join("vigil.bash");
    std::fs::write(&path, &script).unwrap();
    // The words typed so far; the last is the one being completed.
    let ask = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let probe = format!(
            r#"source "$1"; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
            _vigil vigil "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; printf '%s\n' "${{COMPREPLY[@]}}""#,
            quoted.join(" "),
            words.len() - 1
        );
        let out = Command::new("bash").args(["-c", &probe, "probe"]).arg(&path).output().expect("bash runs");
        assert!(out.status.success(), "{words:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(ask(&["vigil", "se"]), ["serve"]);
    let tail = ask(&["vigil", "tail", "--a"]);
    assert!(tail.contains(&"--alerts".to_string()) && tail.contains(&"--alertmanager".to_string()), "{tail:?}");
    assert_eq!(ask(&["vigil", "tail", "--format", ""]), ["jsonl", "text"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zsh_and_fish_completions_are_for_vigil() {
    let out = vigil(&["completions", "zsh"]);
    assert_eq!(out.status.code(), Some(0));
    let zsh = String::from_utf8(out.stdout).unwrap();
    assert!(zsh.starts_with("#compdef vigil"), "{}", &zsh[..zsh.len().min(200)]);
    assert!(zsh.contains("--alertmanager") && zsh.contains("serve"));

    let out = vigil(&["completions", "fish"]);
    assert_eq!(out.status.code(), Some(0));
    let fish = String::from_utf8(out.stdout).unwrap();
    assert!(fish.lines().any(|l| l.starts_with("complete -c vigil") && l.contains("-a \"serve\"")), "{fish}");
    assert!(fish.contains("-l prometheus"), "{fish}");
}

#[test]
fn completions_for_an_unknown_shell_are_refused_with_the_known_ones() {
    let out = vigil(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tcsh") && stderr.contains("bash") && stderr.contains("fish"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_is_roff_naming_the_version_commands_and_options() {
    let out = vigil(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let page = String::from_utf8(out.stdout).unwrap();
    let th = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or_else(|| panic!("no .TH in\n{page}"));
    assert!(th.starts_with(".TH vigil 1") && th.contains(env!("CARGO_PKG_VERSION")), "{th}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} missing");
    }
    // roff writes a flag's dashes as \-.
    for flag in ["prometheus", "scrape", "alertmanager", "dashboard", "kiosk", "ascii"] {
        assert!(page.contains(&format!("\\-\\-{flag}")), "--{flag} missing");
    }
    for sub in ["vigil\\-serve(1)", "vigil\\-tail(1)", "vigil\\-check(1)", "vigil\\-completions(1)", "vigil\\-man(1)"] {
        assert!(page.contains(sub), "{sub} missing");
    }
    assert!(!page.contains("vigil\\-help"), "help has no page of its own");
}

#[test]
fn man_dir_writes_a_page_for_every_subcommand_the_main_page_lists() {
    let dir = scratch("man-dir").join("man1");
    let out = vigil(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    let expected = [
        "vigil-check.1",
        "vigil-completions.1",
        "vigil-import-grafana.1",
        "vigil-import.1",
        "vigil-man.1",
        "vigil-serve.1",
        "vigil-tail.1",
        "vigil.1",
    ];
    assert_eq!(files, expected);
    let version = format!("vigil {}", env!("CARGO_PKG_VERSION"));
    let main = std::fs::read_to_string(dir.join("vigil.1")).unwrap();
    assert_eq!(main, String::from_utf8(vigil(&["man"]).stdout).unwrap(), "the same page as on stdout");
    // Each subcommand's own flags are on its own page.
    for (file, flags) in [
        ("vigil-serve.1", &["bind", "token\\-file", "interval"][..]),
        ("vigil-tail.1", &["metric", "since", "query"]),
        ("vigil-check.1", &["timeout", "format"]),
        ("vigil-import-grafana.1", &["output", "scrape\\-interval"]),
    ] {
        let page = std::fs::read_to_string(dir.join(file)).unwrap();
        let th = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or_else(|| panic!("{file}: no .TH"));
        let name = file.strip_suffix(".1").unwrap();
        assert!(th.starts_with(&format!(".TH {name} 1")) && th.contains(&version), "{file}: {th}");
        for flag in flags {
            assert!(page.contains(&format!("\\-\\-{flag}")), "{file}: --{flag} missing");
        }
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
