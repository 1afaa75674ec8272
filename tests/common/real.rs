//! Real servers for integration tests: Prometheus, Alertmanager and the
//! Python shop exporter (`tests/fixtures/shop_exporter.py`), each with its
//! own temporary directory. Dropping a handle kills its process and removes
//! its directory, also when the test panics, so a failed test never leaves
//! a server behind.
//!
//! Every server binds loopback port 0 itself and the port it got is read
//! back: Prometheus's and Alertmanager's from the kernel's table of the
//! process's listening sockets ([`listening_ports`]), the exporter's from
//! the line it prints. No port is ever picked here and handed over, which
//! would race with anything else binding in between.
//!
//! Nothing here is skipped when a program is missing: the test fails with
//! one line that says what to install (`scripts/test` installs all of it).
//!
//! Binaries and interpreter, each overridable for a machine laid out
//! differently: `VIGIL_PROMETHEUS_BIN` (default `/usr/bin/prometheus`),
//! `VIGIL_ALERTMANAGER_BIN` (default `/usr/bin/prometheus-alertmanager`) and
//! `VIGIL_TEST_PYTHON` (default `python3`; `scripts/test` points it at its venv).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to become ready.
pub const START_WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- plumbing

/// A directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!("vigil-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The directory's own name, unique to it.
    pub fn name(&self) -> String {
        self.0.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process that is killed and reaped on drop. Its output goes to a
/// log file, whose tail is printed if the test is failing, since that is
/// usually where the reason is.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// The exit status, if the process has already ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- last lines of {} ({}):\n{}", self.name, self.log.display(), self.log_tail(20));
        }
    }
}

/// The program named by `env`, or `default`; a missing one fails the test
/// with what to install.
fn binary(env: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    if !path.is_file() {
        panic!("{} not found: install Debian's {package} (scripts/test does) or set {env} to its path", path.display());
    }
    path
}

/// The TCP ports process `pid` is listening on, from `/proc`: the inodes of
/// the sockets among its open files (`/proc/PID/fd`), joined with the
/// listening sockets of its network namespace (`/proc/PID/net/tcp` and
/// `tcp6`). Empty until it listens. Linux only, like the servers here.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = std::collections::BTreeSet::new();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    for fd in fds.flatten() {
        // A socket's link reads `socket:[INODE]`.
        if let Ok(target) = std::fs::read_link(fd.path())
            && let Some(inode) = target.to_str().and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
                continue;
            };
            // State 0A is LISTEN; the port is the hex after the colon.
            if *state == "0A"
                && inodes.contains(*inode)
                && let Some(port) = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok())
            {
                ports.push(port);
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Waits until `proc` listens on exactly one TCP port and returns it; fails
/// the test if it exits first, or after [`START_WAIT`].
async fn wait_listening(proc: &mut Proc) -> u16 {
    let deadline = Instant::now() + START_WAIT;
    loop {
        if let Some(status) = proc.exited() {
            panic!("{} exited ({status}) before listening: {}", proc.name, proc.log_tail(5));
        }
        match listening_ports(proc.child.id())[..] {
            [port] => return port,
            [] => {}
            ref several => panic!("{} listens on several ports {several:?}; expected one", proc.name),
        }
        if Instant::now() > deadline {
            panic!("{} did not listen within {START_WAIT:?}: {}", proc.name, proc.log_tail(5));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loopback port on which nothing listens, held for as long as the guard
/// lives: its socket is bound but never listens, so a connection to it is
/// refused and no other process can take the port meanwhile.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind 127.0.0.1:0");
        let port = socket.local_addr().unwrap().port();
        ClosedPort { _socket: socket, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// An HTTP client that talks to loopback directly, whatever proxy the
/// environment names.
pub fn loopback_http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Proc {
    let out = File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let err = out.try_clone().unwrap();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
    Proc { name, child, log }
}

/// How waiting for a server's readiness ended.
enum Ready {
    Yes,
    /// The process exited; its log says why.
    Exited(String),
}

/// Polls `url` until it answers 200, the process exits, or [`START_WAIT`]
/// passes (which fails the test).
async fn wait_ready(proc: &mut Proc, http: &reqwest::Client, url: &str, auth: Option<&(String, String)>) -> Ready {
    let deadline = Instant::now() + START_WAIT;
    loop {
        if let Some(status) = proc.exited() {
            return Ready::Exited(format!("{} exited ({status}): {}", proc.name, proc.log_tail(5)));
        }
        let mut req = http.get(url).timeout(Duration::from_secs(2));
        if let Some((user, password)) = auth {
            req = req.basic_auth(user, Some(password));
        }
        if let Ok(resp) = req.send().await
            && resp.status().is_success()
        {
            return Ready::Yes;
        }
        if Instant::now() > deadline {
            panic!("{} was not ready at {url} within {START_WAIT:?}: {}", proc.name, proc.log_tail(5));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a server that binds a port of its own choosing: waits until it
/// listens, reads the port back, then waits until `ready_path` answers.
async fn start_on_port_zero(
    name: &'static str,
    dir: &TempDir,
    http: &reqwest::Client,
    ready_path: &str,
    auth: Option<&(String, String)>,
    cmd: Command,
) -> (Proc, u16) {
    let mut proc = spawn(name, cmd, dir.path().join(format!("{name}.log")));
    let port = wait_listening(&mut proc).await;
    match wait_ready(&mut proc, http, &format!("http://127.0.0.1:{port}{ready_path}"), auth).await {
        Ready::Yes => (proc, port),
        Ready::Exited(why) => panic!("{why}"),
    }
}

/// Writes `text` to `path`, failing the test if it cannot.
fn write_file(path: &Path, text: &str) {
    let mut f = File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    f.write_all(text.as_bytes()).unwrap();
}

/// A string as a YAML scalar: JSON's quoted strings are valid YAML.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A duration as Prometheus writes one.
fn prom_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

// -------------------------------------------------------------- Prometheus

/// What a test Prometheus scrapes and evaluates.
#[derive(Debug, Clone, Copy)]
pub struct PrometheusOptions<'a> {
    /// `(job, "host:port", metrics path)`; targets of one job share its path.
    pub targets: &'a [(&'a str, &'a str, &'a str)],
    /// Scrape and rule evaluation interval (and scrape timeout).
    pub scrape_interval: Duration,
    /// A rule file's YAML, if any.
    pub rules: Option<&'a str>,
    /// An Alertmanager to send alerts to, as `host:port`.
    pub alertmanager: Option<&'a str>,
}

/// A Prometheus server of its own.
pub struct Prometheus {
    proc: Proc,
    port: u16,
    http: reqwest::Client,
    external_url: String,
    _dir: TempDir,
}

impl Prometheus {
    /// Scrapes `scrape_targets` (`(job, "host:port", path)`) every `scrape_interval`.
    pub async fn start(scrape_targets: &[(&str, &str, &str)], scrape_interval: Duration) -> Prometheus {
        Prometheus::start_with(PrometheusOptions {
            targets: scrape_targets,
            scrape_interval,
            rules: None,
            alertmanager: None,
        })
        .await
    }

    pub async fn start_with(opts: PrometheusOptions<'_>) -> Prometheus {
        let bin = binary("VIGIL_PROMETHEUS_BIN", "/usr/bin/prometheus", "prometheus");
        let dir = TempDir::new("prometheus");
        let config = dir.path().join("prometheus.yml");
        write_file(&config, &prometheus_config(&opts, dir.path()));
        let http = loopback_http();
        let data = dir.path().join("data");
        // Links Prometheus hands out (alerts' generator URLs) name this
        // instance, not the machine's host name. Its port is not known
        // before it starts, so the name is one of its own, that nothing
        // resolves: the tests only compare it.
        let external_url = format!("http://{}.invalid/", dir.name());
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg(format!("--web.external-url={external_url}"));
        let (proc, port) = start_on_port_zero("prometheus", &dir, &http, "/-/ready", None, cmd).await;
        Prometheus { proc, port, http, external_url, _dir: dir }
    }

    /// The external URL it was started with, which its links begin with.
    pub fn external_url(&self) -> &str {
        &self.external_url
    }

    /// The base URL, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs an instant query and returns the answer's `data`
    /// (`resultType` and `result`); an error answer fails the test.
    pub async fn query(&self, promql: &str) -> Value {
        let url = format!("{}/api/v1/query", self.url());
        let resp = self
            .http
            .get(&url)
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {promql:?}: {e}"));
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or_else(|e| panic!("query {promql:?}: unreadable answer: {e}"));
        if !status.is_success() || body["status"] != "success" {
            panic!("query {promql:?} failed ({status}): {body}");
        }
        body["data"].clone()
    }

    /// The first sample's value of `promql` evaluated at `at_ms`, or
    /// `None` when the result is empty; an error answer fails the test.
    pub async fn query_value_at(&self, promql: &str, at_ms: i64) -> Option<f64> {
        let url = format!("{}/api/v1/query", self.url());
        let time = format!("{:.3}", at_ms as f64 / 1000.0);
        let resp = self.http.get(&url).query(&[("query", promql), ("time", &time)]).send().await;
        let body: Value = resp.unwrap_or_else(|e| panic!("query {promql:?}: {e}")).json().await.unwrap();
        assert_eq!(body["status"], "success", "query {promql:?} at {time}: {body}");
        body["data"]["result"].get(0)?.get("value")?.get(1)?.as_str()?.parse().ok()
    }

    /// Requests Prometheus has answered on `handler` (such as
    /// `/api/v1/query_range`), all status codes, from its own `/metrics`.
    pub async fn requests_on(&self, handler: &str) -> f64 {
        let text = self.http.get(format!("{}/metrics", self.url())).send().await.unwrap().text().await.unwrap();
        let wanted = format!("handler=\"{handler}\"");
        text.lines()
            .filter(|l| l.starts_with("prometheus_http_requests_total{") && l.contains(&wanted))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The first sample's value of an instant query (a vector's first
    /// element, or a scalar), or `None` when the result is empty.
    pub async fn query_value(&self, promql: &str) -> Option<f64> {
        let data = self.query(promql).await;
        let value = match data["resultType"].as_str() {
            Some("vector") => data["result"].get(0)?.get("value")?.clone(),
            Some("scalar") => data["result"].clone(),
            other => panic!("query {promql:?}: result type {other:?} is not a vector or scalar"),
        };
        value.get(1)?.as_str()?.parse().ok()
    }

    /// Waits until `promql` has a value that `accept` takes, and returns
    /// it; fails the test, with the last value seen, after `timeout`.
    pub async fn wait_for_value(&self, promql: &str, timeout: Duration, accept: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            last = self.query_value(promql).await.or(last);
            if let Some(v) = last
                && accept(v)
            {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{promql:?} had no acceptable value within {timeout:?}; last: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until every target of `job` is up (`up == 1`).
    pub async fn wait_for_target_up(&self, job: &str, timeout: Duration) {
        let promql = format!("min(up{{job={}}})", yaml_str(job));
        self.wait_for_value(&promql, timeout, |v| v == 1.0).await;
    }

    /// The server's log so far (for a failure message).
    pub fn log(&self) -> String {
        self.proc.log_tail(usize::MAX)
    }

    /// Every query it has run so far, from its query log: PromQL that did
    /// not parse is answered with an error before it is run, and is not
    /// in it. A query is logged before its answer is sent.
    pub fn queries(&self) -> Vec<LoggedQuery> {
        let text = std::fs::read_to_string(self._dir.path().join(QUERY_LOG)).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|entry| {
                let params = &entry["params"];
                let time = |field: &str| params[field].as_str().and_then(vigil::wire::parse_time);
                Some(LoggedQuery {
                    query: params["query"].as_str()?.to_string(),
                    start_ms: time("start")?,
                    end_ms: time("end")?,
                    step_s: params["step"].as_f64()?,
                })
            })
            .collect()
    }
}

/// The query log's file name, in the server's directory.
const QUERY_LOG: &str = "queries.log";

/// One query Prometheus ran: an instant query has no step, and its
/// evaluation time as both start and end.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedQuery {
    pub query: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_s: f64,
}

impl LoggedQuery {
    /// The evaluation time of an instant query.
    pub fn instant_ms(&self) -> Option<i64> {
        (self.step_s == 0.0 && self.start_ms == self.end_ms).then_some(self.end_ms)
    }
}

fn prometheus_config(opts: &PrometheusOptions<'_>, dir: &Path) -> String {
    let every = prom_duration(opts.scrape_interval);
    let mut out =
        format!("global:\n  scrape_interval: {every}\n  scrape_timeout: {every}\n  evaluation_interval: {every}\n");
    // Every query it runs, with its parameters: what the tests count.
    let log = dir.join(QUERY_LOG);
    out.push_str(&format!("  query_log_file: {}\n", yaml_str(&log.display().to_string())));
    if let Some(rules) = opts.rules {
        let path = dir.join("rules.yml");
        write_file(&path, rules);
        out.push_str(&format!("rule_files:\n  - {}\n", yaml_str(&path.display().to_string())));
    }
    if let Some(am) = opts.alertmanager {
        out.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]\n",
            yaml_str(am)
        ));
    }
    // Prometheus refuses two scrape configs with one job name, so targets
    // are grouped by job.
    let mut jobs: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
    for &(job, addr, path) in opts.targets {
        let entry = jobs.entry(job).or_insert((path, Vec::new()));
        assert_eq!(entry.0, path, "targets of job {job:?} must share one metrics path");
        entry.1.push(addr);
    }
    out.push_str("scrape_configs:\n");
    if jobs.is_empty() {
        out.push_str("  []\n");
    }
    for (job, (path, addrs)) in jobs {
        let targets: Vec<String> = addrs.iter().map(|a| yaml_str(a)).collect();
        out.push_str(&format!(
            "  - job_name: {}\n    metrics_path: {}\n    static_configs:\n      - targets: [{}]\n",
            yaml_str(job),
            yaml_str(path),
            targets.join(", ")
        ));
    }
    out
}

// ------------------------------------------------------------ Alertmanager

/// An Alertmanager of its own, clustering off, routing everything to a
/// receiver that sends nothing.
pub struct Alertmanager {
    proc: Proc,
    port: u16,
    http: reqwest::Client,
    basic: Option<(String, String)>,
    _dir: TempDir,
}

const ALERTMANAGER_CONFIG: &str = "\
route:
  receiver: \"null\"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: \"null\"
";

impl Alertmanager {
    pub async fn start() -> Alertmanager {
        Alertmanager::launch(None).await
    }

    /// Requires HTTP basic auth: `bcrypt_hash` is `password`'s bcrypt hash,
    /// as Alertmanager's web config wants it. The handle's own requests
    /// authenticate.
    pub async fn start_with_basic_auth(user: &str, password: &str, bcrypt_hash: &str) -> Alertmanager {
        Alertmanager::launch(Some((user, password, bcrypt_hash))).await
    }

    async fn launch(basic: Option<(&str, &str, &str)>) -> Alertmanager {
        let bin = binary("VIGIL_ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager", "prometheus-alertmanager");
        let dir = TempDir::new("alertmanager");
        let config = dir.path().join("alertmanager.yml");
        write_file(&config, ALERTMANAGER_CONFIG);
        let web_config = basic.map(|(user, _, hash)| {
            let path = dir.path().join("web.yml");
            write_file(&path, &format!("basic_auth_users:\n  {}: {}\n", yaml_str(user), yaml_str(hash)));
            path
        });
        let creds = basic.map(|(user, password, _)| (user.to_string(), password.to_string()));
        let http = loopback_http();
        let data = dir.path().join("data");
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", data.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            // An empty address turns clustering off: no gossip port to
            // collide on or to tell from the web port, and no waiting for
            // peers to settle.
            .arg("--cluster.listen-address=");
        if let Some(web) = &web_config {
            cmd.arg(format!("--web.config.file={}", web.display()));
        }
        let (proc, port) = start_on_port_zero("alertmanager", &dir, &http, "/-/ready", creds.as_ref(), cmd).await;
        Alertmanager { proc, port, http, basic: creds, _dir: dir }
    }

    /// The base URL, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.url()));
        match &self.basic {
            Some((user, password)) => req.basic_auth(user, Some(password)),
            None => req,
        }
    }

    /// Posts alerts (a JSON array of postable alerts) to `/api/v2/alerts`.
    pub async fn post_alerts(&self, alerts: &Value) {
        let resp = self
            .request(reqwest::Method::POST, "/api/v2/alerts")
            .json(alerts)
            .send()
            .await
            .unwrap_or_else(|e| panic!("post alerts: {e}"));
        let status = resp.status();
        if !status.is_success() {
            panic!("post alerts: {status}: {}", resp.text().await.unwrap_or_default());
        }
    }

    /// Posts a silence to `/api/v2/silences` and returns its ID.
    pub async fn post_silence(&self, silence: &Value) -> String {
        let resp = self
            .request(reqwest::Method::POST, "/api/v2/silences")
            .json(silence)
            .send()
            .await
            .unwrap_or_else(|e| panic!("post silence: {e}"));
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!("post silence: {status}: {body}");
        }
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("post silence: {e}: {body}"));
        v["silenceID"].as_str().unwrap_or_else(|| panic!("post silence: no silenceID in {body}")).to_string()
    }

    /// The server's log so far (for a failure message).
    pub fn log(&self) -> String {
        self.proc.log_tail(usize::MAX)
    }
}

// ---------------------------------------------------------------- exporter

/// The Python shop exporter (`tests/fixtures/shop_exporter.py`).
pub struct Exporter {
    proc: Proc,
    port: u16,
    _dir: TempDir,
}

impl Exporter {
    /// Starts the exporter with `args` (such as `["--rate", "200"]`) on a
    /// free port it picks itself.
    pub async fn start(args: &[&str]) -> Exporter {
        let python = std::env::var_os("VIGIL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop_exporter.py");
        let dir = TempDir::new("exporter");
        let log = dir.path().join("exporter.log");
        let err = File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut cmd = Command::new(&python);
        // The pipe on stdin is held by this process: when it ends, however
        // it ends, the exporter sees the pipe close and exits.
        cmd.arg(&script)
            .args(["--port", "0", "--exit-with-stdin"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): install Python 3 and run scripts/test, or set VIGIL_TEST_PYTHON",
                Path::new(&python).display()
            )
        });
        let mut proc = Proc { name: "shop exporter", child, log };
        let stdout = proc.child.stdout.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Reads the port line, then keeps draining so the exporter never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("LISTENING ").and_then(|p| p.trim().parse::<u16>().ok())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let port = match tokio::time::timeout(START_WAIT, rx).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => {
                let _ = proc.child.wait();
                let why = proc.log_tail(1);
                panic!("the shop exporter exited before listening: {why}");
            }
            Err(_) => panic!("the shop exporter did not listen within {START_WAIT:?}: {}", proc.log_tail(5)),
        };
        Exporter { proc, port, _dir: dir }
    }

    /// `127.0.0.1:PORT`, as a scrape target.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The base URL, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The exporter's stderr so far.
    pub fn log(&self) -> String {
        self.proc.log_tail(usize::MAX)
    }
}
