#!/usr/bin/env python3
"""Writes the prometheus_client fixtures of the scrape parser's tests.

One registry with a metric of every kind the client offers, fed fixed
values (so the tests can check numbers), rendered twice: in the Prometheus
text format and in OpenMetrics. Label values carry quotes, backslashes,
newlines, commas, braces and `=`, which the parser must read back whole.

    python3 scripts/exposition_fixture.py tests/fixtures/exposition

A second registry holds names outside the classic character set, as
OpenTelemetry names metrics (`http.server.requests`), rendered with the
`allow-utf-8` escaping a Prometheus 3 scrape asks for: such names are
written quoted, the metric's own inside the braces.

With `--openmetrics IN OUT` it instead reads a text-format page and writes
the same families with prometheus_client's OpenMetrics writer, for servers
that only speak the text format.
"""

import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.exposition import ALLOWUTF8
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics


def registry():
    reg = CollectorRegistry()

    requests = Counter(
        "shop_http_requests", "HTTP requests served.", ["method", "status", "path"], registry=reg
    )
    requests.labels("GET", "200", "/cart").inc(1027)
    # The exemplar shows only in OpenMetrics, after the sample.
    requests.labels("GET", "503", "/cart").inc(3, exemplar={"trace_id": "4bf92f35"})
    requests.labels("POST", "500", "/checkout").inc(2)
    # Awkward label values: each must come back exactly as set.
    requests.labels("GET", "200", 'say "hi"').inc(1)
    requests.labels("GET", "200", "C:\\temp\\x").inc(1)
    requests.labels("GET", "200", "two\nlines").inc(1)
    requests.labels("GET", "200", "a,b{c}=d").inc(1)

    latency = Histogram(
        "shop_http_request_duration_seconds",
        "Time to serve a request.",
        ["method"],
        buckets=(0.005, 0.05, 0.5, 5.0),
        registry=reg,
    )
    for v in [0.001] * 120 + [0.03] * 780 + [0.3] * 90 + [3.0] * 9:
        latency.labels("GET").observe(v)
    latency.labels("GET").observe(9.0, exemplar={"trace_id": "slow1"})

    queue = Summary("shop_queue_wait_seconds", "Time a job waits in the queue.", registry=reg)
    for v in (0.5, 1.5, 2.0):
        queue.observe(v)

    in_flight = Gauge("shop_http_requests_in_flight", "Requests being served.", registry=reg)
    in_flight.set(7)

    # With a unit: OpenMetrics announces it on a `# UNIT` line.
    temperature = Gauge("shop_fridge_temperature", "Fridge temperature.", unit="celsius", registry=reg)
    temperature.set(-3.25)

    build = Info("shop_build", "Build information.", registry=reg)
    build.info({"version": "1.4.2", "commit": "abc123"})

    state = Enum(
        "shop_state", "Lifecycle state.", states=["starting", "running", "stopping"], registry=reg
    )
    state.state("running")

    reg.register(Stamped())
    return reg


def utf8_registry():
    reg = CollectorRegistry()
    requests = Counter(
        "http.server.requests",
        "Requests served, named as OpenTelemetry names them.",
        ["http.request.method", "http.response.status_code"],
        registry=reg,
    )
    requests.labels("GET", "200").inc(171)
    requests.labels("POST", "500").inc(3)

    duration = Histogram(
        "http.server.request.duration",
        'Time to "serve" a request.',
        ["http.route"],
        unit="seconds",
        buckets=(0.05, 0.5, 5.0),
        registry=reg,
    )
    for v in (0.01, 0.2, 0.3, 2.0):
        duration.labels("/cart").observe(v)

    # A name holding a line break: data to draw safely, never to trust.
    odd = Gauge("queue depth\n(jobs)", "A name with a line break in it.", registry=reg)
    odd.set(7)

    # A classic name with a label name that needs quotes.
    temperature = Gauge("temperature_celsius", "A classic name beside the others.", ["région"], registry=reg)
    temperature.labels("Île-de-France").set(21.5)
    return reg


class Stamped:
    """A collector whose sample carries its own time, as a federating or
    pushing exporter's would: 2026-01-02T03:04:05.5Z."""

    def collect(self):
        g = GaugeMetricFamily("shop_last_backup_size_bytes", "Size of the last backup.", labels=["disk"])
        g.add_metric(["sda"], 123456789.0, timestamp=1767323045.5)
        yield g


class Replay:
    """A collector that hands back families read from a page."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def reexpose(src, dst):
    from prometheus_client.parser import text_string_to_metric_families

    reg = CollectorRegistry()
    reg.register(Replay(list(text_string_to_metric_families(Path(src).read_text()))))
    Path(dst).write_bytes(generate_openmetrics(reg))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--openmetrics":
        return reexpose(sys.argv[2], sys.argv[3])
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    reg = registry()
    (out / "python_client.txt").write_bytes(generate_latest(reg))
    (out / "python_client.om.txt").write_bytes(generate_openmetrics(reg))
    utf8 = utf8_registry()
    (out / "python_client_utf8.txt").write_bytes(generate_latest(utf8, escaping=ALLOWUTF8))
    (out / "python_client_utf8.om.txt").write_bytes(generate_openmetrics(utf8, escaping=ALLOWUTF8))


if __name__ == "__main__":
    main()
