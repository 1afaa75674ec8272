//! The `vigil` binary's front door: config fixtures (valid ones load, each
//! invalid one fails with one line naming file, line and key) and flag errors.

use std::path::Path;
use std::process::Command;
use vigil::config::Config;

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
