#!/usr/bin/env python3
"""vigil and grafatui side by side on one Prometheus that answers slowly.

One Prometheus (Debian's package) scrapes the shop exporter the tests use
(tests/fixtures/shop_exporter.py). Between it and the dashboards sits a
proxy that holds every answer for --delay seconds (3 by default), so each
query is slow the way an overloaded server is. Both dashboards show the
same Grafana dashboard (scripts/compare/shop_golden.json: traffic, error
ratio, in flight, memory, p50, p99, CPU, requests by status): grafatui reads
it directly, vigil reads what `vigil import grafana` makes of it. Both
refresh every --refresh seconds (1 by default, grafatui's default).

Each runs alone in a fresh 160x48 pseudo-terminal (the pty code is
terminal_compare.py's), and we measure:

* bytes/s written to the terminal, CPU (% of one core) and peak RSS over the
  window, as terminal_compare.py does;
* what reached Prometheus through the proxy in the window: requests per
  second, the most in flight at once, and how often a query was sent while
  the same query was still out;
* keypress-to-screen latency: the time from writing a key to the pty until
  the screen shows what the key asked for. Every read is fed to a terminal
  emulator (pyte) and the screen is checked after each read. The key is
  "+" then "-" in turn (a wider, then a narrower time window), and the
  screen is done when the new window's label is on it.

Needs: prometheus on PATH (apt-get install prometheus), a Python with
prometheus_client and flask for the exporter (.ci/requirements-test.txt) and
pyte for this script (pip install pyte==0.8.2), grafatui (cargo install
grafatui --locked) and a vigil binary. See scripts/README.md.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import terminal_compare as tc  # noqa: E402  (the pty and /proc helpers)

try:
    import pyte
except ImportError:
    sys.stderr.write("prometheus_compare: needs pyte (pip install pyte==0.8.2)\n")
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARD = os.path.join(ROOT, "scripts", "compare", "shop_golden.json")
EXPORTER = os.path.join(ROOT, "tests", "fixtures", "shop_exporter.py")
SCRAPE_INTERVAL_S = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------
# The servers.

def start_exporter(python, tmp):
    """The shop exporter on a free port; returns (process, port)."""
    log = open(os.path.join(tmp, "exporter.log"), "wb")
    proc = subprocess.Popen([python, EXPORTER, "--port", "0", "--exit-with-stdin"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    line = proc.stdout.readline().decode()
    m = re.match(r"LISTENING (\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"exporter did not start (see {log.name}): {line!r}")
    return proc, int(m.group(1))


def start_prometheus(binary, tmp, exporter_port):
    """Prometheus scraping the exporter as job "shop"; returns (process, port)."""
    port = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write(f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
                f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
                "scrape_configs:\n  - job_name: shop\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{exporter_port}']\n")
    log = open(os.path.join(tmp, "prometheus.log"), "wb")
    proc = subprocess.Popen([binary, f"--config.file={conf}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    # Ready, and holding enough scrapes that rate() over 1m has an answer.
    query = urllib.parse.quote('sum(rate(http_requests_total{job="shop"}[1m]))')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited (see {log.name})")
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/query?query={query}", timeout=2) as r:
                if json.load(r)["data"]["result"]:
                    return proc, port
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("prometheus had no rate of the exporter's requests within 60 s")


class DelayProxy:
    """An HTTP proxy that holds every answer `delay` seconds, and counts what
    passes: requests, the most in flight at once, and requests for a query
    (the PromQL text) that was already in flight."""

    def __init__(self, upstream_port, delay):
        self.upstream_port = upstream_port
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = {}  # query text -> count
        self.reset()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_GET(self):
                self.forward(None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.forward(self.rfile.read(n))

            def forward(self, body):
                query = proxy.query_of(self.path, body)
                proxy.begin(self.path, query)
                try:
                    time.sleep(proxy.delay)
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() in ("content-type", "accept", "authorization")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                    conn.close()
                    self.send_response(r.status)
                    self.send_header("Content-Type", r.getheader("Content-Type") or "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout) or the server went away
                finally:
                    proxy.end(query)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def query_of(path, body):
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if body:
            params.update(urllib.parse.parse_qs(body.decode(errors="replace")))
        kind = urllib.parse.urlsplit(path).path.rsplit("/", 1)[-1]
        return kind + " " + (params.get("query") or [""])[0]

    def reset(self):
        with self.lock:
            self.requests = 0
            self.by_kind = {}
            self.most_in_flight = sum(self.in_flight.values())
            self.sent_while_out = 0

    def begin(self, path, query):
        with self.lock:
            self.requests += 1
            kind = query.split(" ", 1)[0]
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if self.in_flight.get(query):
                self.sent_while_out += 1
            self.in_flight[query] = self.in_flight.get(query, 0) + 1
            self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))

    def end(self, query):
        with self.lock:
            self.in_flight[query] -= 1

    def snapshot(self):
        with self.lock:
            return {"requests": self.requests, "by_kind": dict(self.by_kind),
                    "most_in_flight": self.most_in_flight,
                    "sent_while_same_query_out": self.sent_while_out}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------
# One dashboard in a pty, with a terminal emulator reading along.

class Screen:
    def __init__(self):
        self.screen = pyte.Screen(tc.COLS, tc.ROWS)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, data):
        self.stream.feed(data)

    def text(self):
        return "\n".join(self.screen.display)


def pump(master, cap, screen, timeout):
    """Read what is ready within timeout into the capture and the screen."""
    before = len(cap.buf)
    cap.drain(master, timeout, answer=True)
    if len(cap.buf) > before:
        screen.feed(bytes(cap.buf[before:]))
    return len(cap.buf) - before


def run(name, argv, env, args, proxy, keys):
    """Measure one dashboard; `keys` is a list of (key bytes, regex the
    screen matches once the key has taken effect)."""
    t_spawn = time.monotonic()
    pid, master = tc.spawn_in_pty(argv, env)
    cap, screen = tc.Capture(t_spawn), Screen()
    res = {"program": name, "argv": argv}
    clock = lambda: time.monotonic() - t_spawn  # noqa: E731
    try:
        while not cap.buf and not cap.eof and clock() < 15:
            pump(master, cap, screen, 0.05)
        if not cap.buf:
            res["error"] = "no output within 15 s"
            return res
        while clock() < args.warmup and not cap.eof:
            pump(master, cap, screen, 0.05)
        proxy.reset()
        cpu0, t0 = tc.tree_cpu_seconds(pid), clock()
        while clock() < t0 + args.seconds and not cap.eof:
            pump(master, cap, screen, 0.05)
        t1, cpu1 = clock(), tc.tree_cpu_seconds(pid)
        served = proxy.snapshot()
        hwm, _ = tc.tree_hwm(pid)
        if cap.eof:
            res["error"] = "exited during the window"
            return res
        wall = t1 - t0
        res.update({
            "bytes_per_s": round(cap.bytes_between(t0, t1) / wall, 1),
            "cpu_pct_one_core": round(100 * (cpu1 - cpu0) / wall, 2),
            "peak_rss_mib": round(hwm / 1024, 1),
            "requests_per_s": round(served["requests"] / wall, 2),
            "requests_by_kind": served["by_kind"],
            "most_in_flight": served["most_in_flight"],
            "sent_while_same_query_out": served["sent_while_same_query_out"],
            "screen_after_window": screen.text(),
        })
        latencies, missed = [], 0
        for i in range(args.presses):
            key, done = keys[i % len(keys)]
            settle = clock() + args.settle
            while clock() < settle:
                pump(master, cap, screen, 0.05)
            if re.search(done, screen.text()):
                res["error"] = f"the screen already matched {done!r} before the key"
                return res
            sent = time.monotonic()
            os.write(master, key)
            while True:
                left = sent + args.key_timeout - time.monotonic()
                if left <= 0:
                    missed += 1
                    break
                if pump(master, cap, screen, min(left, 0.01)) and re.search(done, screen.text()):
                    # When the bytes were read, not when the emulator was
                    # done with them: its own time is not the program's.
                    read_at = t_spawn + cap.chunks[-1][0]
                    latencies.append((read_at - sent) * 1000)
                    break
        res["keypress_ms"] = [round(x, 1) for x in latencies]
        res["keypress_missed"] = missed
        if latencies:
            res["keypress_median_ms"] = round(statistics.median(latencies), 1)
            res["keypress_max_ms"] = round(max(latencies), 1)
        return res
    finally:
        tc.stop(pid, master, cap)
        os.close(master)


def run_vigil(args, tmp, proxy_url):
    vigil = tc.resolve(args.vigil, "vigil (--vigil PATH)")
    env = tc.fresh_env(os.path.join(tmp, "home"))
    toml = os.path.join(tmp, "shop_golden.toml")
    subprocess.run([vigil, "import", "grafana", DASHBOARD, "--output", toml,
                    "--scrape-interval", f"{SCRAPE_INTERVAL_S}s"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    conf = os.path.join(tmp, "vigil.toml")
    with open(conf, "w") as f:
        f.write(f'[[source]]\nkind = "prometheus"\nurl = "{proxy_url}"\n'
                f'interval = "{args.refresh:g}s"\n')
    argv = [vigil, "--config", conf, "--dashboard", toml, "--window", "15m"]
    keys = [(b"+", r"window 1h\b"), (b"-", r"window 15m\b")]
    return run("vigil", argv, env, args, args.proxy, keys)


def run_grafatui(args, tmp, proxy_url):
    grafatui = tc.resolve(args.grafatui, "grafatui (--grafatui PATH; cargo install grafatui --locked)")
    env = tc.fresh_env(os.path.join(tmp, "home"))
    argv = [grafatui, "--prometheus-url", proxy_url, "--grafana-json", DASHBOARD,
            "--refresh-rate", str(int(args.refresh * 1000)), "--range", "15m",
            "--scrape-interval", f"{SCRAPE_INTERVAL_S}s"]
    keys = [(b"+", args.grafatui_wide), (b"-", args.grafatui_narrow)]
    return run("grafatui", argv, env, args, args.proxy, keys)


def table(results, args):
    out = [f"{tc.COLS}x{tc.ROWS} pty; every answer held {args.delay:g} s; refresh every "
           f"{args.refresh:g} s; warm-up {args.warmup:g} s, window {args.seconds:g} s; "
           f"{args.presses} key presses\n",
           "| program | CPU % (1 core) | bytes/s | peak RSS MiB | requests/s | most in flight "
           "| sent while the same query was out | keypress median ms | keypress max ms | missed |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "bytes_per_s" not in r:
            out.append(f"| {r['program']} | error: {r.get('error')} |||||||||")
            continue
        out.append(f"| {r['program']} | {r['cpu_pct_one_core']:.2f} | {r['bytes_per_s']:.0f} "
                   f"| {r['peak_rss_mib']} | {r['requests_per_s']} | {r['most_in_flight']} "
                   f"| {r['sent_while_same_query_out']} | {r.get('keypress_median_ms', 'n/a')} "
                   f"| {r.get('keypress_max_ms', 'n/a')} | {r.get('keypress_missed', 'n/a')} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", required=True, help="the vigil binary (a release build)")
    ap.add_argument("--grafatui", default="grafatui", help="grafatui binary (default: on PATH)")
    ap.add_argument("--prometheus", default="prometheus", help="prometheus binary (default: on PATH)")
    ap.add_argument("--python", default=os.environ.get("VIGIL_TEST_PYTHON", sys.executable),
                    help="a Python with prometheus_client and flask, for the exporter "
                    "(default: $VIGIL_TEST_PYTHON, else this one)")
    ap.add_argument("--only", action="append", choices=["vigil", "grafatui"])
    ap.add_argument("--delay", type=float, default=3.0, help="seconds every answer is held (3)")
    ap.add_argument("--refresh", type=float, default=1.0, help="refresh interval, seconds (1)")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds before the window (15)")
    ap.add_argument("--seconds", type=float, default=60.0, help="measurement window (60)")
    ap.add_argument("--presses", type=int, default=10, help="key presses, + and - in turn (10)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds between presses (2)")
    ap.add_argument("--key-timeout", type=float, default=15.0,
                    help="a press not on screen after this long counts as missed (15)")
    ap.add_argument("--grafatui-wide", default=r"range=30m\b",
                    help="regex grafatui's screen matches after '+' from 15m")
    ap.add_argument("--grafatui-narrow", default=r"range=15m\b",
                    help="regex grafatui's screen matches after '-' back to 15m")
    ap.add_argument("--json", metavar="FILE", help="write all figures (and final screens) as JSON")
    args = ap.parse_args()

    runners = {"vigil": run_vigil, "grafatui": run_grafatui}
    wanted = args.only or list(runners)
    tmp = tempfile.mkdtemp(prefix="vigil-prom-compare-")
    exporter = prom = None
    results = []
    try:
        exporter, exporter_port = start_exporter(args.python, tmp)
        prom, prom_port = start_prometheus(args.prometheus, tmp, exporter_port)
        args.proxy = DelayProxy(prom_port, args.delay)
        proxy_url = f"http://127.0.0.1:{args.proxy.port}"
        for key in wanted:
            print(f"[{key}] {args.warmup:g} s warm-up, {args.seconds:g} s window, "
                  f"{args.presses} presses ...", file=sys.stderr, flush=True)
            sub = os.path.join(tmp, key)
            os.makedirs(sub)
            results.append(runners[key](args, sub, proxy_url))
            # Requests the last program left behind finish before the next starts.
            time.sleep(args.delay + 1)
        args.proxy.close()
    except (tc.Missing, RuntimeError, subprocess.CalledProcessError) as e:
        print(f"prometheus_compare: {e}", file=sys.stderr)
        return 2
    finally:
        for p in (prom, exporter):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(results, args))
    for r in results:
        if "error" in r:
            print(f"\n{r['program']}: {r['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"delay_s": args.delay, "refresh_s": args.refresh,
                       "cols": tc.COLS, "rows": tc.ROWS, "results": results}, f, indent=2)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
