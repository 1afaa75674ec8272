#!/usr/bin/env python3
"""Side-by-side terminal cost of vigil, bottom (btm) and btop in a 160x48 pty.

For each scenario the program runs alone in a fresh pseudo-terminal with a
throw-away HOME, and we measure what a remote user pays for it: bytes the
terminal must receive per second, CPU, peak memory, how soon the first frame
appears, and which terminal queries it sends (each one is an SSH round trip).
Stdlib only, so it runs on any box that has the programs. See README.md.
"""

import argparse
import codecs
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unicodedata

COLS, ROWS = 160, 48
# "First full frame" proxy: a frame that paints >= 90% of the cells needs at
# least about one byte per cell once escape sequences are counted, so the
# first moment the cumulative output reaches COLS*ROWS bytes approximates it
# without having to emulate a terminal.
FULL_FRAME_BYTES = COLS * ROWS
QUERY_WINDOW_S = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# Sequences that ask the terminal to answer. Names are what the report shows.
# Each regex matches the whole request so that lookalike output (e.g. the
# CSI 8;r;c t resize, or SGR) is not mistaken for a query.
QUERY_PATTERNS = [
    ("CPR (CSI 6n)", rb"\x1b\[\??6n"),
    ("DSR status (CSI 5n)", rb"\x1b\[5n"),
    ("DA1 (CSI c)", rb"\x1b\[0?c"),
    ("DA2 (CSI >c)", rb"\x1b\[>0?c"),
    ("DA3 (CSI =c)", rb"\x1b\[=0?c"),
    ("XTVERSION (CSI >q)", rb"\x1b\[>0?q"),
    ("kitty keyboard query (CSI ?u)", rb"\x1b\[\?u"),
    ("DECRQM (CSI ?Ps$p)", rb"\x1b\[\??\d+\$p"),
    ("XTQMODKEYS (CSI ?Ps m)", rb"\x1b\[\?\d*m"),
    ("OSC colour/palette query", rb"\x1b\]\d+(?:;[^;\x07\x1b]*)*;\?(?:\x07|\x1b\\)"),
    ("XTGETTCAP (DCS +q)", rb"\x1bP\+q[0-9A-Fa-f;]*\x1b\\"),
    ("DECRQSS (DCS $q)", rb"\x1bP\$q[^\x1b]*\x1b\\"),
    ("XTWINOPS report (CSI Ps t)", rb"\x1b\[(?:11|13|14|15|16|18|19|20|21)(?:;\d+)?t"),
]
QUERY_RES = [(name, re.compile(rx)) for name, rx in QUERY_PATTERNS]

# Minimal replies for --answer-queries: only what every terminal answers, so
# that a program blocking on CPR or DA1 sees a normal terminal. We do not
# claim optional features (kitty keyboard, colours), which would change what
# the program draws.
ANSWERS = [
    (re.compile(rb"\x1b\[\??6n"), lambda: b"\x1b[1;1R"),
    (re.compile(rb"\x1b\[0?c"), lambda: b"\x1b[?62;22c"),
]


class Missing(Exception):
    """A program (or the vigil path) needed by a scenario is not there."""


# ----------------------------------------------------------------------------
# /proc helpers: the measured program may be multi-threaded (all counted by
# /proc/PID/stat) and may fork (btop can), so we follow the whole tree.

def read_stat(pid):
    """Return (ppid, utime+stime+cutime+cstime ticks) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm is in parentheses and may itself contain spaces or ')', so split
    # on the last ')'; fields after it start at field 3 (state).
    rest = data[data.rindex(b")") + 2:].split()
    ppid = int(rest[1])
    # utime, stime, cutime, cstime = fields 14..17; cutime/cstime hold the
    # CPU of children the process has already reaped.
    ticks = sum(int(x) for x in rest[11:15])
    return ppid, ticks


def process_tree(root):
    """PIDs of root and every live descendant."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = read_stat(int(name))
        if st:
            children.setdefault(st[0], []).append(int(name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root):
    total = 0
    for pid in process_tree(root):
        st = read_stat(pid)
        if st:
            total += st[1]
    return total / CLK_TCK


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def tree_hwm(root):
    """Sum of VmHWM over the live tree (KiB) and the per-process figures.

    Summing peaks over-states the tree's true joint peak if the processes
    peaked at different times; for a single process it is exact.
    """
    per = {}
    for pid in process_tree(root):
        hwm = status_kib(pid, "VmHWM")
        if hwm is not None:
            per[pid] = hwm
    return sum(per.values()), per


# ----------------------------------------------------------------------------
# Running one program in a pty.

def spawn_in_pty(argv, env):
    """Fork argv on a new pty of COLS x ROWS; return (pid, master_fd).

    pty.fork() gives the child a new session with the pty as controlling
    terminal, which programs need to open /dev/tty for input.
    """
    pid, master = pty.fork()
    if pid == 0:
        try:
            # Size the terminal before exec so the very first frame is drawn
            # at 160x48 (no resize redraw to pollute the figures).
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execve(argv[0], argv, env)
        except BaseException as e:  # never return into the parent's code
            os.write(2, f"exec {argv[0]} failed: {e}\n".encode())
        os._exit(127)
    # Non-blocking so a read never stalls the clock we keep.
    fl = fcntl.fcntl(master, fcntl.F_GETFL)
    fcntl.fcntl(master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    return pid, master


class Capture:
    """Everything read from the master, with the time of each read."""

    def __init__(self, t_spawn, marks=()):
        self.t_spawn = t_spawn
        self.buf = bytearray()
        self.chunks = []  # (t relative to spawn, start offset, length)
        self.eof = False
        # The screen as the output leaves it, and when each frame ended.
        self.screen = Screen(COLS, ROWS, on_frame=self._frame_ended)
        self.frame_times = []
        self._t_read = None
        # name -> (compiled regex, row or None for the whole screen); the
        # time of the first frame that shows each goes into seen[name].
        self.marks = dict(marks)
        self.seen = {}

    def drain(self, master, timeout, answer=False):
        """Read whatever is ready within timeout; return bytes read."""
        try:
            ready, _, _ = select.select([master], [], [], timeout)
        except InterruptedError:
            return 0
        if not ready:
            return 0
        got = 0
        while True:
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                break
            except OSError:  # EIO: the slave side is closed, program gone
                self.eof = True
                break
            if not data:
                self.eof = True
                break
            t = time.monotonic() - self.t_spawn
            self.chunks.append((t, len(self.buf), len(data)))
            self.buf += data
            got += len(data)
            self._t_read = t
            self.screen.feed(data)
            if answer:
                self._answer(master, data)
        return got

    def _frame_ended(self, screen):
        """A frame is complete: note when, and which marks it shows."""
        t = self._t_read
        self.frame_times.append(t)
        for name, (rx, row) in self.marks.items():
            if name in self.seen:
                continue
            text = screen.line(row) if row is not None else screen.text()
            if rx.search(text):
                self.seen[name] = t

    def watch(self, name, rx, row=None):
        """From now on, note the first frame whose screen matches rx."""
        self.seen.pop(name, None)
        self.marks[name] = (re.compile(rx), row)

    def _answer(self, master, data):
        # Queries split across two reads are not answered; programs retry or
        # time out, and the common libraries write each query in one call.
        for rx, reply in ANSWERS:
            for _ in rx.finditer(data):
                try:
                    os.write(master, reply())
                except OSError:
                    pass

    def time_at_offset(self, off):
        for t, start, n in self.chunks:
            if start <= off < start + n:
                return t
        return None

    def first_time_reaching(self, nbytes):
        for t, start, n in self.chunks:
            if start + n >= nbytes:
                return t
        return None

    def bytes_between(self, t0, t1):
        return sum(n for t, _, n in self.chunks if t0 <= t < t1)

    def slice_between(self, t0, t1):
        out = bytearray()
        for t, start, n in self.chunks:
            if t0 <= t < t1:
                out += self.buf[start:start + n]
        return bytes(out)


# ----------------------------------------------------------------------------
# Just enough of a terminal to read frames back: the cursor moves, erases and
# text a full-screen program writes, and the synchronized-update marks that
# close a frame. Colours are ignored; only the characters matter here.

SCREEN_TOKEN_RE = re.compile(
    "\x1b\\[([0-?]*)[ -/]*([@-~])"              # CSI params intermediates final
    "|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)"      # OSC ... BEL/ST
    "|\x1b[P_^X][^\x1b]*\x1b\\\\"               # DCS/APC/PM/SOS ... ST
    # Other ESC sequences; not the introducers above, so that a CSI or OSC
    # cut in two by a read is held back whole instead of misread.
    "|\x1b[ -/]*[0-9:;<=>?@A-OQ-WYZ\\\\`a-~]"
    "|([\x00-\x1a\x1c-\x1f\x7f])"               # C0 controls
    "|([^\x00-\x1f\x7f]+)")                     # text
SYNC_END = "?2026"


def cell_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Screen:
    """A COLS x ROWS grid of characters, fed the program's output in reads
    as they came. Sequences cut across reads wait for the rest. Every end of
    a synchronized update (CSI ?2026l) calls on_frame(self), so a caller can
    look at the screen exactly as each frame left it."""

    def __init__(self, cols, rows, on_frame=None):
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.wrap_next = False
        self.pending = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.on_frame = on_frame
        self.frames = 0
        # Cells written per row since the last reset_writes(): where the
        # bytes of a steady screen go.
        self.writes = [0] * rows

    def line(self, row):
        return "".join(self.grid[row])

    def text(self):
        return "\n".join(self.line(r) for r in range(self.rows))

    def reset_writes(self):
        self.writes = [0] * self.rows

    def feed(self, data):
        s = self.pending + self.decoder.decode(data)
        pos, n = 0, len(s)
        while pos < n:
            m = SCREEN_TOKEN_RE.match(s, pos)
            if m is None:
                if s[pos] == "\x1b" and n - pos < 256:
                    break  # the rest of this sequence is in the next read
                pos += 1  # a stray byte: skip it
                continue
            pos = m.end()
            if m.group(2) is not None:
                self._csi(m.group(1), m.group(2))
            elif m.group(3) is not None:
                self._control(m.group(3))
            elif m.group(4) is not None:
                self._text(m.group(4))
        self.pending = s[pos:]

    def _csi(self, params, final):
        if params.startswith("?"):
            if final == "l" and SYNC_END[1:] in params[1:].split(";"):
                self.frames += 1
                if self.on_frame:
                    self.on_frame(self)
            elif final == "h" and "1049" in params[1:].split(";"):
                self._erase(0, 0, self.rows, 0)
            return
        nums = [int(x) if x.isdigit() else 0 for x in params.split(";")] if params else []
        first = nums[0] if nums else 0
        n = first or 1
        self.wrap_next = False
        if final in "Hf":
            self.row = (first or 1) - 1
            self.col = (nums[1] if len(nums) > 1 and nums[1] else 1) - 1
        elif final == "A":
            self.row -= n
        elif final == "B":
            self.row += n
        elif final == "C":
            self.col += n
        elif final == "D":
            self.col -= n
        elif final == "G":
            self.col = n - 1
        elif final == "d":
            self.row = n - 1
        elif final == "J":
            if first == 0:
                self._erase(self.row, self.col, self.rows, 0)
            elif first == 1:
                self._erase(0, 0, self.row, self.col + 1)
            elif first in (2, 3):
                self._erase(0, 0, self.rows, 0)
        elif final == "K":
            start = {0: self.col, 1: 0, 2: 0}.get(first, self.col)
            end = {0: self.cols, 1: self.col + 1, 2: self.cols}.get(first, self.cols)
            for c in range(max(0, start), min(self.cols, end)):
                self.grid[self.row][c] = " "
        self.row = min(max(self.row, 0), self.rows - 1)
        self.col = min(max(self.col, 0), self.cols - 1)

    def _erase(self, r0, c0, r1, c1):
        """Blanks from (r0, c0) up to, not including, (r1, c1)."""
        for r in range(max(r0, 0), min(r1 + 1, self.rows)):
            start = c0 if r == r0 else 0
            end = c1 if r == r1 else self.cols
            for c in range(max(start, 0), min(end, self.cols)):
                self.grid[r][c] = " "

    def _control(self, c):
        if c == "\r":
            self.col, self.wrap_next = 0, False
        elif c == "\n":
            self.row = min(self.row + 1, self.rows - 1)
        elif c == "\b":
            self.col, self.wrap_next = max(self.col - 1, 0), False

    def _text(self, text):
        for ch in text:
            w = cell_width(ch)
            if w == 0:
                continue
            if self.wrap_next or self.col + w > self.cols:
                self.col, self.wrap_next = 0, False
                self.row = min(self.row + 1, self.rows - 1)
            self.grid[self.row][self.col] = ch
            if w == 2 and self.col + 1 < self.cols:
                self.grid[self.row][self.col + 1] = ""
            self.writes[self.row] += 1
            self.col += w
            if self.col >= self.cols:
                self.col, self.wrap_next = self.cols - 1, True


def find_queries(cap):
    """All terminal queries in the output, each with its time since spawn."""
    found = []
    for name, rx in QUERY_RES:
        for m in rx.finditer(cap.buf):
            t = cap.time_at_offset(m.start())
            found.append({"query": name, "bytes": m.group().decode("latin-1"),
                          "t_s": round(t, 3) if t is not None else None})
    found.sort(key=lambda q: (q["t_s"] is None, q["t_s"]))
    return found


# Keys typed after the warm-up, and the screen that shows they took: the
# window starts KEY_SETTLE_S after a frame first shows `shows` (a regex) on
# row `row`, or the run fails when none does within KEY_TIMEOUT_S.
KEY_SETTLE_S = 1.0
KEY_TIMEOUT_S = 10.0


def measure(name, argv, env, args, note="", marks=(), keys=None):
    """Run one program and return its figures (a dict).

    marks: (name, regex, row) triples; the time from spawn to the first
    frame whose screen matches each is reported as NAME_ms.
    keys: (bytes, regex, row, what) typed after the warm-up (see above).
    """
    t_spawn = time.monotonic()
    pid, master = spawn_in_pty(argv, env)
    cap = Capture(t_spawn, {m: (re.compile(rx), row) for m, rx, row in marks})
    res = {"program": name, "argv": argv, "note": note}
    try:
        # Wait for the first byte; a program that waits forever for a query
        # answer, or fails to start, gives up here instead of hanging us.
        deadline = t_spawn + args.first_output_timeout
        while not cap.buf and not cap.eof and time.monotonic() < deadline:
            cap.drain(master, 0.05, args.answer_queries)
        if not cap.buf:
            res["error"] = ("exited before any output" if cap.eof else
                            f"no output within {args.first_output_timeout}s")
            return res
        t_first = cap.chunks[0][0]

        # Warm-up starts at the first output (not at spawn) so a slow start
        # does not eat into the settling time; keep draining through it.
        w0 = t_first + args.warmup
        while time.monotonic() - t_spawn < w0 and not cap.eof:
            cap.drain(master, 0.05, args.answer_queries)
        if cap.eof:
            res["error"] = "exited during warm-up"
            return res
        if keys is not None:
            typed, shows, row, what = keys
            cap.watch("keys", shows, row)
            os.write(master, typed)
            t_typed = time.monotonic() - t_spawn
            end = t_typed + KEY_TIMEOUT_S
            while "keys" not in cap.seen and time.monotonic() - t_spawn < end and not cap.eof:
                cap.drain(master, 0.05, args.answer_queries)
            if "keys" not in cap.seen:
                res["error"] = f"{typed!r} typed, but no frame showed {what} within {KEY_TIMEOUT_S:g}s"
                return res
            res["keys_typed"] = typed.decode("latin-1")
            res["keys_shown_ms"] = round((cap.seen["keys"] - t_typed) * 1000, 1)
            settle = cap.seen["keys"] + KEY_SETTLE_S
            while time.monotonic() - t_spawn < settle and not cap.eof:
                cap.drain(master, 0.05, args.answer_queries)

        cpu0 = tree_cpu_seconds(pid)
        cap.screen.reset_writes()
        t0 = time.monotonic() - t_spawn
        w1 = t0 + args.seconds
        while time.monotonic() - t_spawn < w1 and not cap.eof:
            cap.drain(master, min(0.05, max(0.0, w1 - (time.monotonic() - t_spawn))),
                      args.answer_queries)
        t1 = time.monotonic() - t_spawn
        cpu1 = tree_cpu_seconds(pid)
        # VmHWM read just before stopping: a program's exit path must not
        # count, and /proc/PID/status is gone once it exits.
        hwm_total, hwm_per = tree_hwm(pid)
        tree = process_tree(pid)
        if cap.eof:
            res["error"] = "exited during the measurement window"
        elif keys is not None and not re.search(keys[1], cap.screen.line(keys[2])):
            res["error"] = f"the screen no longer showed {keys[3]} at the end of the window"

        wall = t1 - t0
        nbytes = cap.bytes_between(t0, t1)
        per_second = [cap.bytes_between(t0 + i, t0 + i + 1) for i in range(int(wall))]
        t_full = cap.first_time_reaching(FULL_FRAME_BYTES)
        # A program that marks its frames (synchronized updates) says when
        # the first one is complete; for the others, the byte count stands in.
        if cap.frame_times:
            t_frame, frame_by = cap.frame_times[0], "end of the first synchronized update"
        else:
            t_frame, frame_by = t_full, f"output reached {FULL_FRAME_BYTES} bytes"
        queries = find_queries(cap)
        res.update({
            "window_s": round(wall, 3),
            "bytes": nbytes,
            "bytes_per_s": round(nbytes / wall, 1),
            "bytes_per_second_series": per_second,
            # The typical second, which a one-off change does not move.
            "bytes_per_s_median": sorted(per_second)[len(per_second) // 2] if per_second else None,
            "cpu_s": round(cpu1 - cpu0, 3),
            "cpu_pct_one_core": round(100.0 * (cpu1 - cpu0) / wall, 2),
            "peak_rss_kib": hwm_total,
            "peak_rss_mib": round(hwm_total / 1024, 1),
            "peak_rss_per_pid_kib": hwm_per,
            "process_count": len(tree),
            "first_byte_ms": round(t_first * 1000, 1),
            "first_full_frame_ms": round(t_full * 1000, 1) if t_full is not None else None,
            "first_frame_ms": round(t_frame * 1000, 1) if t_frame is not None else None,
            "first_frame_by": frame_by,
            "frames_in_window": sum(1 for t in cap.frame_times if t0 <= t < t1),
            "cells_written_by_row": {r + 1: n for r, n in enumerate(cap.screen.writes) if n},
            "screen_at_end": cap.screen.text().splitlines(),
            "queries_first_2s": [q for q in queries
                                 if q["t_s"] is not None and q["t_s"] <= QUERY_WINDOW_S],
            "queries_later": [q for q in queries
                              if q["t_s"] is None or q["t_s"] > QUERY_WINDOW_S],
            "total_bytes_captured": len(cap.buf),
        })
        # A one-second slice from the middle of the window, kept raw for
        # --sample-dir so a renderer's steady-state output can be inspected.
        mid = t0 + wall / 2
        res["_sample"] = cap.slice_between(mid, mid + 1.0)
        for mark, _, _ in marks:
            t = cap.seen.get(mark)
            res[f"{mark}_ms"] = round(t * 1000, 1) if t is not None else None
        res["_raw"] = bytes(cap.buf)
        return res
    finally:
        rusage = stop(pid, master, cap)
        if rusage is not None:
            # Whole-life CPU from wait4(), a cross-check on /proc: it
            # includes warm-up and shutdown, so it is not the headline. Its
            # ru_maxrss is not kept: it counts the forked Python before exec,
            # whereas VmHWM restarts at exec.
            res["wait4_cpu_s_whole_run"] = round(rusage.ru_utime + rusage.ru_stime, 3)
        os.close(master)


def stop(pid, master, cap):
    """SIGTERM, then SIGKILL after 3 s; keep draining so exit can't block."""
    descendants = [p for p in process_tree(pid) if p != pid]
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        end = time.monotonic() + grace
        while time.monotonic() < end:
            cap.drain(master, 0.05)
            done, status, rusage = os.wait4(pid, os.WNOHANG)
            if done == pid:
                # Anything the program forked and left behind: only PIDs we
                # saw in its tree, never by name.
                for d in descendants:
                    try:
                        os.kill(d, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return rusage
    return None


# ----------------------------------------------------------------------------
# Scenarios.

def fresh_env(root, extra=None):
    """Environment with no user config or saved state: every config, cache,
    data and state dir points into root, and nothing else is inherited except
    PATH (so e.g. NO_COLOR, COLORTERM, TMUX or VIGIL_TOKEN can't change what
    a program draws)."""
    dirs = {k: os.path.join(root, k.lower()) for k in
            ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
             "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "VIGIL_CACHE_DIR")}
    for d in dirs.values():
        os.makedirs(d, mode=0o700, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "COLUMNS": str(COLS), "LINES": str(ROWS)}
    env.update(dirs)
    env.update(extra or {})
    return env


def resolve(path_or_name, what):
    if not path_or_name:
        raise Missing(f"{what}: no path given")
    if path_or_name and os.sep in path_or_name:
        if os.path.isfile(path_or_name) and os.access(path_or_name, os.X_OK):
            return os.path.abspath(path_or_name)
        raise Missing(f"{what}: {path_or_name} is not an executable file")
    found = shutil.which(path_or_name) if path_or_name else None
    if not found:
        raise Missing(f"{what}: '{path_or_name}' not found on PATH")
    return found


# vigil's status bar (the last row) says "no data yet" until the first live
# data is in the scene it draws, and "data 0.2s old" and the like from then
# on, whatever the page shows. Its first frame with that text is the first
# with live data.
VIGIL_DATA = [("first_data", r"\bdata \S+ old\b", ROWS - 1)]
# `p` pauses; the header (first row) then shows the instant frozen,
# "AT 12:34:56 UTC (-3s)", where it showed "LIVE".
VIGIL_PAUSE = (b"p", r"\bAT \d\d:\d\d:\d\d UTC\b", 0, "the paused header (AT hh:mm:ss UTC)")


def run_vigil_demo(args, tmp):
    vigil = resolve(args.vigil, "vigil (--vigil)")
    env = fresh_env(tmp)
    return measure("vigil (demo)", [vigil], env, args,
                   note="embedded demo gateway, data every 1 s", marks=VIGIL_DATA)


def run_btm(args, tmp):
    btm = resolve(args.btm, "bottom (--btm; cargo install bottom --locked)")
    env = fresh_env(tmp)
    return measure("bottom", [btm, "--rate", "1000"], env, args,
                   note="btm --rate 1000 (ms)")


def run_btop(args, tmp):
    btop = resolve(args.btop, "btop (--btop; apt-get install btop)")
    env = fresh_env(tmp)
    conf_dir = os.path.join(env["XDG_CONFIG_HOME"], "btop")
    os.makedirs(conf_dir, exist_ok=True)
    # btop reads only the keys it is given and defaults the rest.
    with open(os.path.join(conf_dir, "btop.conf"), "w") as f:
        f.write("update_ms = 1000\n")
    return measure("btop", [btop], env, args, note="btop.conf update_ms = 1000")


# The gateway ticks on whole multiples of its interval in wall-clock time
# (src/gateway/serve/ticker.rs), so "1h" would still send a frame at every hh:00:00;
# 24h puts the only tick at 00:00 UTC, which run_vigil_idle checks for.
IDLE_INTERVAL_S = 86400


def run_vigil_idle(args, tmp):
    """vigil against its own gateway set to tick once a day, so after the
    initial snapshot no data changes: only the clock and the age labels
    should be redrawn."""
    return run_vigil_with_gateway(args, tmp, f"{IDLE_INTERVAL_S // 3600}h", "vigil (idle data)", idle=True)


def run_vigil_client(args, tmp):
    """vigil against a gateway in a process of its own sending data every
    second: the dashboard's own cost, comparable with a system monitor's,
    without the simulator and gateway that the demo runs in-process."""
    return run_vigil_with_gateway(args, tmp, "1s", "vigil (client, 1 s data)", idle=False)


def run_vigil_paused(args, tmp):
    """As vigil-client, with `p` typed after the warm-up: data keeps
    arriving every second, but the picture is paused, so only the clock and
    the age labels should be redrawn. The gateway runs the calm scenario:
    an alert changing state is news a paused screen still shows, and the
    default tour has incidents every few minutes."""
    return run_vigil_with_gateway(args, tmp, "1s", "vigil (paused, 1 s data)", idle=False,
                                  keys=VIGIL_PAUSE, scenario="calm")


def run_vigil_with_gateway(args, tmp, interval, label, idle, keys=None, scenario=None):
    vigil = resolve(args.vigil, "vigil (--vigil)")
    genv = fresh_env(os.path.join(tmp, "gateway"))
    log_path = os.path.join(tmp, "gateway.log")
    # Port 0: the kernel picks a free port (no probe-then-bind race); we read
    # the chosen one from the gateway's startup line. Output goes to a file,
    # not a pipe, so a chatty gateway can never block on a full pipe.
    with open(log_path, "wb") as log:
        extra = ["--scenario", scenario] if scenario else []
        gw = subprocess.Popen([vigil, "serve", "--bind", "127.0.0.1:0",
                               "--interval", interval] + extra,
                              stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, env=genv)
    try:
        url, deadline = None, time.monotonic() + 15
        while url is None and time.monotonic() < deadline and gw.poll() is None:
            with open(log_path, "rb") as f:
                m = re.search(rb"stream (ws://127\.0\.0\.1:\d+/\S+?)\)", f.read())
            if m:
                url = m.group(1).decode()
            else:
                time.sleep(0.1)
        if url is None:
            with open(log_path, "rb") as f:
                tail = f.read()[-500:].decode(errors="replace")
            return {"program": label,
                    "error": f"gateway did not report its address: {tail}"}
        env = fresh_env(os.path.join(tmp, "client"))
        gw_cpu0 = tree_cpu_seconds(gw.pid)
        wall0 = time.time()
        typed = f"; {keys[0].decode()!r} typed after the warm-up" if keys else ""
        res = measure(label, [vigil, "--url", url], env, args,
                      note=f"vigil serve --interval {interval} {' '.join(extra)}; client --url {url}{typed}",
                      marks=VIGIL_DATA, keys=keys)
        if idle and int(wall0 // IDLE_INTERVAL_S) != int(time.time() // IDLE_INTERVAL_S):
            # A real data frame arrived mid-run: the idle figure is invalid.
            res["error"] = "run crossed the gateway's 00:00 UTC tick; run it again"
        # The gateway is a separate process here (in the demo it is inside
        # vigil), so its cost is reported apart from the client's.
        res["gateway_cpu_s_whole_run"] = round(tree_cpu_seconds(gw.pid) - gw_cpu0, 3)
        return res
    finally:
        gw.terminate()
        try:
            gw.wait(timeout=5)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait()


SCENARIOS = [
    ("vigil", run_vigil_demo),
    ("btm", run_btm),
    ("btop", run_btop),
    ("vigil-client", run_vigil_client),
    ("vigil-idle", run_vigil_idle),
    ("vigil-paused", run_vigil_paused),
]


# ----------------------------------------------------------------------------
# Decoding a byte sample into readable escape sequences and drawn cells.

CSI_NAMES = {"H": "CUP", "f": "CUP", "m": "SGR", "K": "EL", "J": "ED",
             "A": "CUU", "B": "CUD", "C": "CUF", "D": "CUB", "G": "CHA",
             "d": "VPA", "r": "DECSTBM", "X": "ECH", "P": "DCH", "@": "ICH",
             "L": "IL", "M": "DL", "S": "SU", "T": "SD", "h": "SM", "l": "RM"}
TOKEN_RE = re.compile(
    rb"\x1b\[([0-?]*)([ -/]*)([@-~])"          # CSI params intermediates final
    rb"|\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\)"    # OSC ... BEL/ST
    rb"|\x1b[P_^X]([^\x1b]*)\x1b\\"             # DCS/APC/PM/SOS ... ST
    rb"|\x1b([ -/]*[0-~])"                      # other ESC sequences
    rb"|([\x00-\x1a\x1c-\x1f\x7f])"             # C0 controls
    rb"|([^\x00-\x1f\x7f]+)")                   # text (UTF-8)


def decode(sample):
    """Lines describing each sequence, with the cursor position of text runs
    (cursor followed approximately: one cell per character, no wide-char or
    autowrap handling), plus a summary of where the bytes went."""
    lines, row, col = [], 1, 1
    stats = {"csi_bytes": 0, "sgr_bytes": 0, "cursor_bytes": 0,
             "text_bytes": 0, "text_cells": 0, "other_bytes": 0}
    runs = []
    for m in TOKEN_RE.finditer(sample):
        whole = m.group()
        if m.group(3) is not None:
            params, final = m.group(1).decode(), m.group(3).decode()
            name = CSI_NAMES.get(final, "CSI " + final)
            if params.startswith("?") and final in "hl":
                name = "DECSET" if final == "h" else "DECRST"
            nums = [int(x) if x.isdigit() else 0 for x in params.split(";")] if params else []
            n = nums[0] if nums and nums[0] else 1
            if final in "Hf":
                row = nums[0] if nums and nums[0] else 1
                col = nums[1] if len(nums) > 1 and nums[1] else 1
            elif final == "A":
                row -= n
            elif final == "B":
                row += n
            elif final == "C":
                col += n
            elif final == "D":
                col -= n
            elif final == "G":
                col = n
            elif final == "d":
                row = n
            stats["csi_bytes"] += len(whole)
            if final == "m":
                stats["sgr_bytes"] += len(whole)
            elif final in "HfABCDGd":
                stats["cursor_bytes"] += len(whole)
            lines.append(f"{name:8} {params}{m.group(2).decode()}")
        elif m.group(8) is not None:
            text = m.group(8).decode("utf-8", errors="replace")
            runs.append((row, col, text))
            lines.append(f"TEXT     @{row},{col} {text!r} ({len(whole)} B, {len(text)} cells)")
            col += len(text)
            stats["text_bytes"] += len(whole)
            stats["text_cells"] += len(text)
        elif m.group(7) is not None:
            c = whole[0]
            if c == 0x0D:
                col = 1
            elif c == 0x0A:
                row += 1
            elif c == 0x08:
                col -= 1
            stats["other_bytes"] += 1
            lines.append(f"CTRL     0x{c:02x}")
        else:
            stats["other_bytes"] += len(whole)
            lines.append(f"ESC      {whole!r}")
    stats["total_bytes"] = len(sample)
    return lines, stats, runs


# ----------------------------------------------------------------------------
# Output.

def fmt(v, spec="{:.1f}"):
    return "n/a" if v is None else spec.format(v)


def table(results):
    head = ("| program | bytes/s | CPU % (1 core) | peak RSS MiB | first byte ms "
            "| first frame ms | first data ms | terminal queries (first 2 s) |")
    out = [head, "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        if "error" in r and "bytes_per_s" not in r:
            out.append(f"| {r['program']} | error: {r['error']} |||||||")
            continue
        qs = r["queries_first_2s"]
        qtext = "none" if not qs else ", ".join(
            f"{q['query']} @{q['t_s']}s" for q in qs)
        name = r["program"] + (" (!)" if "error" in r else "")
        frame = fmt(r["first_frame_ms"], "{:.0f}")
        if r["first_frame_ms"] is not None and r["first_frame_by"].startswith("output"):
            frame += " (bytes)"
        out.append(f"| {name} | {fmt(r['bytes_per_s'])} | {fmt(r['cpu_pct_one_core'], '{:.2f}')} "
                   f"| {fmt(r['peak_rss_mib'])} | {fmt(r['first_byte_ms'], '{:.0f}')} "
                   f"| {frame} | {fmt(r.get('first_data_ms'), '{:.0f}')} | {qtext} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", help="path to the vigil binary to measure (required "
                    "for the vigil scenarios)")
    ap.add_argument("--btm", default="btm", help="bottom binary (default: btm on PATH)")
    ap.add_argument("--btop", default="btop", help="btop binary (default: btop on PATH)")
    ap.add_argument("--only", action="append", choices=[n for n, _ in SCENARIOS],
                    help="run only this scenario (repeatable); default all")
    ap.add_argument("--seconds", type=float, default=30.0, help="measurement window (30)")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds after the first output before measuring (5)")
    ap.add_argument("--first-output-timeout", type=float, default=15.0,
                    help="give up on a program silent this long after spawn (15)")
    ap.add_argument("--answer-queries", action="store_true",
                    help="reply to CPR and DA1 like a terminal would (off: a "
                    "program is measured as if the answer never came)")
    ap.add_argument("--skip-missing", action="store_true",
                    help="skip programs that are not installed instead of failing")
    ap.add_argument("--json", metavar="FILE", help="write all figures as JSON")
    ap.add_argument("--sample-dir", metavar="DIR",
                    help="save each program's raw output and a decoded one-second "
                    "slice from the middle of its window")
    args = ap.parse_args()
    if args.vigil is None:
        args.vigil = ""  # resolve() then reports it missing

    wanted = args.only or [n for n, _ in SCENARIOS]
    results, skipped = [], []
    # Check every program before measuring anything, so a missing one fails
    # in a second rather than after the others' minutes of runs.
    needs = {"vigil": (args.vigil, "vigil (--vigil PATH)"),
             "vigil-idle": (args.vigil, "vigil (--vigil PATH)"),
             "vigil-client": (args.vigil, "vigil (--vigil PATH)"),
             "vigil-paused": (args.vigil, "vigil (--vigil PATH)"),
             "btm": (args.btm, "bottom (--btm; cargo install bottom --locked)"),
             "btop": (args.btop, "btop (--btop; apt-get install btop)")}
    for key in list(wanted):
        try:
            resolve(*needs[key])
        except Missing as e:
            if not args.skip_missing:
                print(f"terminal_compare: missing program: {e} "
                      "(install it, pass its path, or use --skip-missing)", file=sys.stderr)
                return 2
            print(f"[{key}] skipped: {e}", file=sys.stderr)
            skipped.append({"scenario": key, "reason": str(e)})
            wanted.remove(key)
    for key, fn in SCENARIOS:
        if key not in wanted:
            continue
        print(f"[{key}] measuring {args.warmup:g}s warm-up + {args.seconds:g}s ...",
              file=sys.stderr, flush=True)
        tmp = tempfile.mkdtemp(prefix=f"vigil-compare-{key}-")
        try:
            res = fn(args, tmp)
        except Missing as e:  # vanished since the check above
            print(f"terminal_compare: missing program: {e}", file=sys.stderr)
            return 2
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        res["scenario"] = key
        sample, raw = res.pop("_sample", b""), res.pop("_raw", b"")
        if args.sample_dir:
            os.makedirs(args.sample_dir, exist_ok=True)
            with open(os.path.join(args.sample_dir, f"{key}.raw"), "wb") as f:
                f.write(raw)
            lines, stats, _ = decode(sample)
            with open(os.path.join(args.sample_dir, f"{key}.1s.txt"), "w") as f:
                f.write(f"# {res['program']}: one second from mid-window, "
                        f"{len(sample)} bytes\n# {json.dumps(stats)}\n")
                f.write("\n".join(lines) + "\n")
            res["sample_stats"] = stats
        results.append(res)

    print(f"\n{COLS}x{ROWS} pty, TERM=xterm-256color, warm-up {args.warmup:g}s from first "
          f"output, window {args.seconds:g}s\n")
    print(table(results))
    for r in results:
        rows = r.get("cells_written_by_row")
        if rows is not None:
            where = ", ".join(f"{row}: {n}" for row, n in rows.items()) or "none"
            print(f"\n{r['program']}: {r['frames_in_window']} frames in the window, "
                  f"median second {r['bytes_per_s_median']} B; "
                  f"cells written by row (row: cells): {where}")
    for r in results:
        if "error" in r:
            print(f"\n{r['program']}: {r['error']}")
    for s in skipped:
        print(f"\nskipped {s['scenario']}: {s['reason']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cols": COLS, "rows": ROWS, "warmup_s": args.warmup,
                       "window_s": args.seconds, "answer_queries": args.answer_queries,
                       "full_frame_bytes": FULL_FRAME_BYTES,
                       "results": results, "skipped": skipped}, f, indent=2)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
