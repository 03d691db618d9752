#!/usr/bin/env python3
"""Benchmark runner for xwsk and its peers (stdlib only).

Runs every contender server against the same load client (bench-load), interleaved in
rounds with the contender order shuffled, and reports per-round paired ratios against the
baselines, server CPU-microseconds per message (getrusage, via the server's stats lines)
and system calls per message (perf or strace in a separate short pass).

  bench/run.py --smoke                 # CI: every contender x every case, ~0.2 s each
  bench/run.py                         # full: 7 rounds, writes results + docs/benchmarks.*
  bench/run.py --report results/X.json # regenerate docs from an existing result file

See bench/README.md for the protocol and the JSON schema.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import html
import json
import math
import os
import platform
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCHEMA = "xwsk-bench/1"


# ---------------------------------------------------------------------------------------
# The contender table. Adding an xwsk server is one line: a binary that takes
# `--port P --mode echo|sink` (plus the extra args here), prints "listening on HOST:PORT",
# echoes TCP and UDP on that port, and prints a stats line on SIGUSR1 and on SIGTERM.
# `binary` (or the first of several alternative names that is built) is looked up in
# --build-dir, its bin/ and bench/ folders, then anywhere below it.
# `vs` lists the contenders this one gets paired ratios against.


@dataclass
class Contender:
    name: str
    binary: str | tuple[str, ...]  # a name, or alternative names: the first one built wins
    args: list[str] = field(default_factory=list)
    vs: list[str] = field(default_factory=list)
    label: str = ""


CONTENDERS = [
    Contender("E", "bench-server-epoll", [], [], "raw epoll (baseline)"),
    Contender("U", "bench-server-libuv", [], ["E"], "libuv 1.44"),
    Contender("A", "bench-server-asio", [], ["E", "U"], "asio 1.22"),
    Contender("R", "bench-server-uring", [], ["E"],
              "raw io_uring (liburing 2.3: multishot accept and recv, provided buffer ring, "
              "registered files, batched submission)"),
    # bench/server_xwsk.cpp linked against one backend each: bench-server-xwsk-<backend>.
    Contender("xwsk-posix-epoll",
              ("bench-server-xwsk-posix_epoll", "bench-server-xwsk-posix-epoll"), [],
              ["E", "U", "A"], "xwsk, POSIX backend, epoll engine"),
    Contender("xwsk-posix-poll",
              ("bench-server-xwsk-posix_poll", "bench-server-xwsk-posix-poll"), [],
              ["E", "U", "A"], "xwsk, POSIX backend, poll engine"),
    Contender("xwsk-uv", ("bench-server-xwsk-uv",), [], ["E", "U", "A"], "xwsk, libuv backend"),
    Contender("xwsk-posix-uring",
              ("bench-server-xwsk-posix_uring", "bench-server-xwsk-posix-uring"), [],
              ["E", "R", "U", "A"], "xwsk, POSIX backend, io_uring engine"),
    # The same server over xwsk's WSK backend, built natively over umwsk's user-mode WSK provider
    # (which runs on the posix-epoll backend): the cost of the WSK layer, as a ratio to it.
    Contender("xwsk-wsk-um", ("bench-server-xwsk-wsk_um",), [], ["xwsk-posix-epoll", "E"],
              "xwsk, WSK backend over umwsk (posix-epoll beneath)"),
]

# Cases run by default: the headline cases of the targets, i.e. every TCP case (xwsk vs E, U,
# A) plus xwsk as the UDP client (send_messages vs send_to, below), so that 6 contenders x 7
# rounds fit in ~10 minutes on 2 CPUs (arithmetic in bench/README.md). The server-side UDP
# cases and the *_mmsg variants (bench-load --list) run in the smoke mode or with --cases.
DEFAULT_CASES = [
    "tcp_pingpong_1",
    "tcp_echo_c50_64",
    "tcp_echo_c1000_64",
    "tcp_echo_pipelined_c10_d16_64",
    "tcp_block_pingpong_c100_16k",
    "tcp_pump_1_64k",
    "tcp_pump_100_8k",
    "tcp_churn_c100",
    "tcp_churn_udp_flood_c10",
]
ALL_SERVER_CASES_NOTE = "udp_pingpong_64, udp_blast_{64,1200}_{single,batched,mmsg}"

# xwsk as the UDP client (bench/blast_xwsk.cpp, bench-blast-xwsk-<backend>) blasting at E in
# sink mode: one case per backend and datagram size, two "contenders" per case (the send
# method), paired per round: send_messages / send_to. E counts what it received (udp_rx).
BLAST_SERVER = "E"
BLAST_BACKENDS = [  # (case suffix, binary alternatives, in the default full run)
    ("posix_epoll", ("bench-blast-xwsk-posix_epoll",), True),
    ("posix_poll", ("bench-blast-xwsk-posix_poll",), False),
    ("posix_uring", ("bench-blast-xwsk-posix_uring",), False),
    ("uv", ("bench-blast-xwsk-uv",), True),
]
BLAST_SIZES = [64, 1200]
BLAST_METHODS = [
    Contender("send_to", "", ["--method", "send_to", "--window", "32"], [],
              "one send_to per datagram, 32 requests in flight"),
    Contender("send_messages", "", ["--method", "send_messages", "--batch", "32",
                                    "--window", "4"], ["send_to", "raw_gso"],
              "send_messages, BufList of 32 datagrams, 4 requests in flight"),
    # The kernel's own ratios, measured in the same rounds: bench-load's raw senders at the
    # same sink (args: the bench-load case, udp_blast_<size>_<suffix>).
    Contender("raw_send", "", ["single"], [], "raw: one send() per datagram (bench-load)"),
    Contender("raw_sendmmsg", "", ["mmsg"], ["raw_send"], "raw: sendmmsg x32 (bench-load)"),
    Contender("raw_gso", "", ["gso32"], ["raw_send"],
              "raw: UDP GSO x32, one send() of 32 segments (bench-load)"),
]
RAW_METHODS = ("raw_send", "raw_sendmmsg", "raw_gso")
# xwsk's send_messages as the client (against send_to, the raw senders and their ratio):
TARGET_BATCH_REL = 0.95  # (send_messages / send_to) / (raw sendmmsg / raw send)
TARGET_BATCH_GSO = 2.5   # send_messages / send_to
TARGET_BATCH_VS_GSO = 0.9  # send_messages / raw GSO x32


def client_case_name(size: int, backend: str) -> str:
    return f"xwsk_client_udp_blast_{size}_{backend}"

RUN_OVERHEAD_S = 0.35  # server start, connection set-up, process teardown (measured)
DEFAULT_WARMUP_S = 0.3
SYSCALL_MEASURE_S = 0.5
SYSCALL_WARMUP_S = 0.2
# The syscall pass repeats every (case, contender) run this many times, interleaved, and
# reports the median: one short run's count swings by up to 20% with timing (how much data
# or how many events one wake-up finds), which hid real differences in earlier reports.
SYSCALL_REPS = 3


def repo_path(path: str) -> str:
    """@p path relative to the repository when it lies inside it (what a result file records:
    nothing in it points outside the repository); other paths unchanged."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return path if rel.startswith("..") else rel


def dump_result(result: dict, f) -> None:
    """The result file: one JSON document, one record a line (each top-level field, and each
    element of a top-level list such as a run, on a line of its own, without indentation)."""
    items = list(result.items())
    f.write("{\n")
    for i, (key, value) in enumerate(items):
        end = ",\n" if i + 1 < len(items) else "\n"
        if isinstance(value, list) and value:
            rows = ",\n".join(json.dumps(v, separators=(",", ":")) for v in value)
            f.write(f"{json.dumps(key)}:[\n{rows}\n]{end}")
        else:
            f.write(f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))}{end}")
    f.write("}\n")


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------
# Machine state


def read_proc_stat() -> list[int]:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return [int(x) for x in fields[1:]]


def cpu_delta(a: list[int], b: list[int]) -> dict:
    d = [y - x for x, y in zip(a, b)]
    total = sum(d[:8]) or 1  # user nice system idle iowait irq softirq steal
    hz = os.sysconf("SC_CLK_TCK")
    # Process time only: the loopback stack runs much of the traffic in softirq, which the
    # kernel accounts to no process, so irq/softirq would look like someone else's load.
    return {
        "steal_frac": d[7] / total,
        "busy_us": (d[0] + d[1] + d[2]) * 1_000_000 // hz,
        "total_us": total * 1_000_000 // hz,
    }


def wait_idle(limit_s: float, busy_max: float = 0.10) -> float:
    """Waits (at most limit_s) until other processes use < busy_max of the machine for a
    1 s sample; returns the busy share of the last sample."""
    deadline = time.monotonic() + limit_s
    while True:
        a = read_proc_stat()
        time.sleep(1.0)
        d = cpu_delta(a, read_proc_stat())
        busy = d["busy_us"] / max(1, d["total_us"])
        if busy < busy_max or time.monotonic() >= deadline:
            return busy


def pin(cpu: int, nice: int = 0):
    """preexec_fn: pin to one CPU (if cpu >= 0), renice, and die with the runner
    (PR_SET_PDEATHSIG = SIGTERM)."""
    def fn():
        try:
            if cpu >= 0:
                os.sched_setaffinity(0, {cpu})
            if nice:
                os.nice(nice)
        except OSError:
            pass
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    return fn


def syscall_tool() -> str | None:
    if shutil.which("perf"):
        r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "true"],
                           capture_output=True, text=True)
        if r.returncode == 0 and "raw_syscalls" in r.stderr:
            return "perf"
    if shutil.which("strace"):
        return "strace"
    return None


# ---------------------------------------------------------------------------------------
# One server process


class Server:
    def __init__(self, binary: str, args: list[str], mode: str, cpu: int, nice: int = 0):
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--mode", mode, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=pin(cpu, nice), start_new_session=True)
        self.port = 0
        self.lines: list[str] = []
        deadline = time.monotonic() + 5
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        m = re.match(r"listening on ([0-9.]+):(\d+)", line or "")
        if not m:
            self.stop()
            raise RuntimeError(f"{binary}: no 'listening on' line (got {line!r}); "
                               f"stderr: {self.stderr.strip()[:300]}")
        self.port = int(m.group(2))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int:
        self.stderr = ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.lines += out.splitlines()
        self.stderr = err
        return self.proc.returncode

    def stats(self) -> list[dict]:
        res = []
        for ln in self.lines:
            if ln.startswith("{"):
                try:
                    res.append(json.loads(ln)["stats"])
                except (ValueError, KeyError):
                    pass
        return res


STAT_KEYS = ["user_us", "sys_us", "tcp_accepts", "tcp_rx_bytes", "tcp_tx_bytes", "tcp_reads",
             "udp_rx", "udp_tx", "udp_drops", "heap_fallbacks"]


def stats_delta(a: dict, b: dict) -> dict:
    return {k: b.get(k, 0) - a.get(k, 0) for k in STAT_KEYS if k in b}


# ---------------------------------------------------------------------------------------
# One measurement: a fresh server, one client run, the server's window stats.


def run_one(load: str, cont: Contender, binary: str, case: dict, warmup: float,
            measure: float, cfg, syscall_tool_name: str | None = None) -> dict:
    rec: dict = {"case": case["case"], "contender": cont.name, "ok": False, "problems": []}
    server_args = [] if "client_binary" in case else cont.args
    try:
        srv = Server(binary, server_args, case["server_mode"], cfg.server_cpu, cfg.nice)
    except (RuntimeError, OSError) as e:
        rec["problems"].append(str(e))
        return rec
    tracer = None
    trace_out = None
    if syscall_tool_name:
        trace_out = tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False)
        trace_out.close()
        if syscall_tool_name == "perf":
            cmd = ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", trace_out.name,
                   "-p", str(srv.pid)]
        else:
            cmd = ["strace", "-c", "-f", "-o", trace_out.name, "-p", str(srv.pid)]
        tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=pin(cfg.client_cpu))
        time.sleep(0.3)
    st0 = read_proc_stat()
    t0 = time.monotonic()
    cmd = [load, "--host", "127.0.0.1", "--port", str(srv.port), "--case", case["case"],
           "--warmup", f"{warmup:g}", "--measure", f"{measure:g}", "--cpu", str(cfg.client_cpu),
           "--server-pid", str(srv.pid)]
    if "client_binary" in case and cont.name in RAW_METHODS:  # the raw sender, bench-load
        cmd[cmd.index("--case") + 1] = f"udp_blast_{case['size']}_{cont.args[0]}"
    elif "client_binary" in case:  # xwsk as the client: its own binary, the method's arguments
        cmd[0] = os.path.join(REPO, case["client_binary"])  # recorded relative to the repo
        cmd += ["--size", str(case["size"]), *case["client_args"][cont.name]]
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=warmup + measure + 30,
                            preexec_fn=pin(-1, cfg.nice))
        client_out, client_err, client_rc = cp.stdout, cp.stderr, cp.returncode
    except subprocess.TimeoutExpired:
        client_out, client_err, client_rc = "", "client timed out", -1
    wall = time.monotonic() - t0
    if case.get("kind") == "udp_blast":
        time.sleep(0.05)  # the sink drains its socket, so its final count is all it will get
    st1 = read_proc_stat()
    if tracer:
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
    rc = srv.stop()
    rec["wall_s"] = round(wall, 3)
    client = None
    for ln in client_out.splitlines():
        if ln.startswith("{"):
            client = json.loads(ln)
    if client is None:
        rec["problems"].append(f"client produced no result (rc={client_rc}): "
                               f"{client_err.strip()[:300]}")
        return rec
    rec["client"] = client
    if client.get("skipped"):
        rec["skipped"] = client["skipped"]
        rec["ok"] = True
        return rec
    if not client.get("ok"):
        rec["problems"].append("client: " + "; ".join(client.get("error_detail", [])))
    if rc != 0:
        rec["problems"].append(f"server exit code {rc}: {srv.stderr.strip()[:300]}")
    stats = srv.stats()
    windows = [s for s in stats if s.get("reason") == "usr1"]
    final = [s for s in stats if s.get("reason") == "exit"]
    if len(windows) < 2:
        # Two SIGUSR1 merge into one when the server did not run between them: it was
        # starved for the whole window, so the run says nothing (full mode retries it).
        rec["problems"].append(f"server printed {len(windows)} SIGUSR1 stats lines, expected 2")
        rec["retryable"] = only_starved(rec["problems"])
        return rec
    win = stats_delta(windows[0], windows[1])
    rec["server_window"] = win
    if final:
        rec["server_final"] = final[-1]
    secs = client.get("measure_s") or measure
    kind = client["kind"]
    # Headline rate, and what one "message" is for the per-message costs.
    if kind == "udp_blast":
        msgs = win.get("udp_rx", 0)
        rec["rate"] = msgs / secs
        sent = client.get("messages", 0)
        rec["loss"] = max(0.0, 1 - msgs / sent) if sent else None
        total_msgs = final[-1].get("udp_rx", 0) if final else msgs
        if msgs <= 0:
            rec["problems"].append("server received no datagram in the window")
        if final and final[-1].get("udp_rx", 0) > client.get("total_messages", 0):
            rec["problems"].append("server counted more datagrams than were sent")
        if final:  # the whole run: what was sent and never reached the sink's counter
            rec["lost"] = max(0, client.get("total_messages", 0) - final[-1].get("udp_rx", 0))
    elif kind == "tcp_pump":
        msgs = client.get("messages", 0)
        rec["rate"] = win.get("tcp_rx_bytes", 0) * 8 / secs / 1e9
        rec["client_gbit_per_s"] = client.get("gbit_per_s")
        total_msgs = client.get("total_messages", 0)
        if win.get("tcp_rx_bytes", 0) <= 0:
            rec["problems"].append("sink received no byte in the window")
        if final and final[-1].get("tcp_rx_bytes", 0) > client.get("total_bytes", 0):
            rec["problems"].append("sink counted more bytes than were sent")
    else:
        msgs = client.get("messages", 0)
        rec["rate"] = client.get("rate", 0.0)
        total_msgs = client.get("total_messages", 0)
    cpu_us = win.get("user_us", 0) + win.get("sys_us", 0)
    rec["server_cpu_us"] = cpu_us
    rec["messages"] = msgs
    rec["cpu_us_per_msg"] = cpu_us / msgs if msgs else None
    for k in ("p50_us", "p99_us"):
        if k in client:
            rec[k] = client[k]
    if final and final[-1].get("heap_fallbacks", 0) > 0:
        rec["warnings"] = [f"server made {final[-1]['heap_fallbacks']} per-operation heap "
                           "allocations"]
    d = cpu_delta(st0, st1)
    rec["steal_frac"] = round(d["steal_frac"], 4)
    own = client.get("client_cpu_us", 0) + ((final[-1]["user_us"] + final[-1]["sys_us"])
                                            if final else cpu_us)
    rec["foreign_cpu_frac"] = round(max(0, d["busy_us"] - own) / max(1, d["total_us"]), 4)
    if tracer and trace_out:
        rec["syscalls"] = parse_trace(syscall_tool_name, trace_out.name)
        rec["syscall_messages"] = total_msgs
        os.unlink(trace_out.name)
    rec["ok"] = not rec["problems"]
    rec["retryable"] = only_starved(rec["problems"])
    return rec


STARVED = ("client: no message completed in the measurement window",
           "SIGUSR1 stats lines, expected 2")


def only_starved(problems: list[str]) -> bool:
    """True when every problem is a sign that a process got no CPU for the whole window
    (a busy machine), not that the contender misbehaved: such runs are retried."""
    return bool(problems) and all(any(p.endswith(x) for x in STARVED) for p in problems)


def parse_trace(tool: str, path: str) -> int | None:
    try:
        text = open(path).read()
    except OSError:
        return None
    if tool == "perf":
        for ln in text.splitlines():
            parts = ln.split(",")
            if len(parts) > 2 and "raw_syscalls:sys_enter" in ln:
                try:
                    return int(parts[0])
                except ValueError:
                    return None
        return None
    m = re.search(r"^\S+\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total\s*$", text, re.M)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------
# Statistics and reporting


def median(xs):
    return statistics.median(xs) if xs else None


def verdict(ratios: list[float]) -> str:
    n = len(ratios)
    if n < 7:
        return f"n/a ({n} rounds < 7)"
    need = n - n // 7  # 6 of 7, 12 of 14, ...
    if sum(r >= 1 for r in ratios) >= need:
        return "ahead"
    if sum(r <= 1 for r in ratios) >= need:
        return "behind"
    return "even"


def summarize(result: dict) -> dict:
    dropped = {d["round"] for d in result.get("dropped_rounds", [])}
    runs = [r for r in result["runs"]
            if r.get("ok") and not r.get("skipped") and r["round"] not in dropped]
    by = {}
    for r in runs:
        by.setdefault(r["case"], {}).setdefault(r["contender"], {})[r["round"]] = r
    table = {c.name: c for c in contenders_from(result) + client_contenders_from(result)}
    sys_by = {(s["case"], s["contender"]): s for s in result.get("syscalls", [])}
    summary = {}
    for case, per in by.items():
        cs = {}
        for name, rounds in per.items():
            rates = [r["rate"] for r in rounds.values()]
            cpu = [r["cpu_us_per_msg"] for r in rounds.values() if r.get("cpu_us_per_msg")]
            e = {
                "rounds": len(rates),
                "rate_median": median(rates), "rate_min": min(rates), "rate_max": max(rates),
                "cpu_us_per_msg_median": median(cpu),
                "p50_us_median": median([r["p50_us"] for r in rounds.values() if "p50_us" in r]),
                "p99_us_median": median([r["p99_us"] for r in rounds.values() if "p99_us" in r]),
                "loss_median": median([r["loss"] for r in rounds.values()
                                       if r.get("loss") is not None]),
                "foreign_cpu_median": median([r.get("foreign_cpu_frac", 0)
                                              for r in rounds.values()]),
            }
            ccpu = [r["client"]["client_cpu_us_per_msg"] for r in rounds.values()
                    if r.get("client", {}).get("client_cpu_us_per_msg")]
            if ccpu:
                e["client_cpu_us_per_msg_median"] = median(ccpu)
            s = sys_by.get((case, name))
            if s and s.get("syscalls_per_msg") is not None:
                e["syscalls_per_msg"] = s["syscalls_per_msg"]
            ratios = {}
            c = table.get(name)
            for base in (c.vs if c else []):
                if base not in per:
                    continue
                paired = [rounds[k]["rate"] / per[base][k]["rate"]
                          for k in sorted(rounds) if k in per[base] and per[base][k]["rate"] > 0]
                cpu_paired = [per[base][k]["cpu_us_per_msg"] / rounds[k]["cpu_us_per_msg"]
                              for k in sorted(rounds)
                              if k in per[base] and rounds[k].get("cpu_us_per_msg")
                              and per[base][k].get("cpu_us_per_msg")]
                if paired:
                    ratios[base] = {
                        "median": median(paired), "min": min(paired), "max": max(paired),
                        "n": len(paired), "n_ge_1": sum(x >= 1 for x in paired),
                        "verdict": verdict(paired), "per_round": paired,
                        "cpu_efficiency_median": median(cpu_paired),
                    }
            e["ratios"] = ratios
            cs[name] = e
        summary[case] = cs
    return summary


# The issue's targets: (contender, baselines (the better of them per round), minimum ratio,
# the cases it applies to (None: every TCP case)).
ECHO_CASES = ("tcp_echo_c50_64", "tcp_echo_c1000_64", "tcp_echo_pipelined_c10_d16_64")
BULK_CASES = ("tcp_block_pingpong_c100_16k", "tcp_pump_1_64k", "tcp_pump_100_8k",
              "tcp_churn_c100", "tcp_churn_udp_flood_c10")  # bound by the TCP stack
TARGETS_TCP = [
    ("xwsk-posix-epoll", ("E",), 0.95, None),
    ("xwsk-posix-epoll", ("U", "A"), 1.0, None),
    ("xwsk-posix-poll", ("E",), 0.95, None),
    ("xwsk-posix-poll", ("U", "A"), 1.0, None),
    ("xwsk-uv", ("U",), 0.95, None),
    # The io_uring engine: ahead of the readiness model where syscalls per message bound it,
    # no regression where the TCP stack does, and at the raw io_uring server R everywhere.
    ("xwsk-posix-uring", ("E",), 1.15, ECHO_CASES),
    ("xwsk-posix-uring", ("E",), 1.3, ECHO_CASES),  # the stretch
    ("xwsk-posix-uring", ("E",), 0.95, BULK_CASES),
    ("xwsk-posix-uring", ("R",), 0.95, None),
]
# Server CPU per message, paired per round (baseline CPU-µs/msg / the contender's).
TARGETS_CPU = [("xwsk-posix-uring", "E", 1.3, ECHO_CASES)]
# Syscalls per message at most this share of E's (from the syscall pass).
TARGETS_SYSCALLS = [("xwsk-posix-uring", 0.5, ECHO_CASES)]
# Null contenders (--null): E run again under these names, paired against E, to show how far
# two identical servers measure apart in one run (the noise floor of every paired ratio). R,
# when it runs, gets one null copy of its own (R#2).
NULL_NAMES = ("E#2", "E#3")
NULL_R = "R#2"
NULL_ALL = NULL_NAMES + (NULL_R,)
SYSCALL_TIE = 0.01  # syscalls/msg within 1% of E count as "no more than E"
SYSCALL_COLUMNS = ("E", "R", "xwsk-posix-epoll", "xwsk-posix-poll", "xwsk-uv",
                   "xwsk-posix-uring")


def target_cell(paired: list[float], target: float) -> dict | None:
    if not paired:
        return None
    n = len(paired)
    k = sum(x >= target for x in paired)
    med = median(paired)
    if n < 7:
        v = f"n/a ({n} rounds)"
    elif med >= target and k >= n - n // 7:
        v = "met"
    elif med >= target:
        v = "met (median; not 6 of 7)"
    else:
        v = "missed"
    return {"target": target, "median": med, "min": min(paired), "max": max(paired), "n": n,
            "n_ge_target": k, "verdict": v, "per_round": paired}


def target_key(cont: str, bases: tuple[str, ...], t: float) -> str:
    """The key of a TCP target in targets.tcp[case]: `cont/base` (plus `@t` where the same
    pair has more than one target, e.g. the stretch)."""
    key = f"{cont}/{'|'.join(bases)}"
    if sum(1 for c, b, _, _ in TARGETS_TCP if c == cont and b == bases) > 1:
        key += f"@{t:g}"
    return key


def paired_vs_best(per: dict, cont: str, bases: tuple[str, ...]) -> list[float]:
    """Per-round ratios of cont to the best of bases in the same round (rounds all ran)."""
    if cont not in per or not all(b in per for b in bases):
        return []
    return [per[cont][k] / max(per[b][k] for b in bases) for k in sorted(per[cont])
            if all(k in per[b] for b in bases)]


# Latency under a UDP flood (tcp_churn_udp_flood_c10): a contender's connect + echo p99 at most
# this many times E's, per round. Reported as E's p99 / the contender's, so that, as in every
# other table, higher is better and the bar is 1 / TARGET_FLOOD_P99.
LATENCY_CASES = ("tcp_churn_udp_flood_c10",)
TARGET_FLOOD_P99 = 1.2


def compute_targets(result: dict) -> dict:
    """Paired per-round ratios against the issue's targets (see TARGETS_TCP)."""
    dropped = {d["round"] for d in result.get("dropped_rounds", [])}
    by: dict = {}
    p99: dict = {}
    for r in result["runs"]:
        if r.get("ok") and not r.get("skipped") and r["round"] not in dropped and r.get("rate"):
            by.setdefault(r["case"], {}).setdefault(r["contender"], {})[r["round"]] = r["rate"]
            if r.get("p99_us"):
                p99.setdefault(r["case"], {}).setdefault(r["contender"], {})[r["round"]] = \
                    r["p99_us"]
    cpu: dict = {}
    for r in result["runs"]:
        if r.get("ok") and not r.get("skipped") and r["round"] not in dropped \
                and r.get("cpu_us_per_msg"):
            cpu.setdefault(r["case"], {}).setdefault(r["contender"], {})[r["round"]] = \
                r["cpu_us_per_msg"]
    out: dict = {"tcp": {}, "batch": {}, "syscalls": {}, "null": {}, "latency": {}}
    for case in LATENCY_CASES:
        per = p99.get(case, {})
        row = {}
        for cont in ("xwsk-posix-epoll", "xwsk-posix-poll", "xwsk-uv", "xwsk-wsk-um",
                     "xwsk-posix-uring", "R", "U", "A"):
            if cont in per and "E" in per:
                paired = [per["E"][k] / per[cont][k] for k in sorted(per[cont])
                          if k in per["E"] and per[cont][k] > 0]
                cell = target_cell(paired, 1 / TARGET_FLOOD_P99)
                if cell:
                    row[cont] = cell
        if row:
            out["latency"][case] = row
    sys_by = {(s["case"], s["contender"]): s.get("syscalls_per_msg")
              for s in result.get("syscalls", [])}
    for case in result["config"]["cases"]:
        if not case.startswith("tcp_") or case not in by:
            continue
        per = by[case]
        row = {}
        for cont, bases, t, only in TARGETS_TCP:
            if only is not None and case not in only:
                continue
            cell = target_cell(paired_vs_best(per, cont, bases), t)
            if cell:
                row[target_key(cont, bases, t)] = cell
        for cont, base, t, only in TARGETS_CPU:
            if case not in only or cont not in cpu.get(case, {}) or base not in cpu[case]:
                continue
            pc, pb = cpu[case][cont], cpu[case][base]
            cell = target_cell([pb[k] / pc[k] for k in sorted(pc) if k in pb and pc[k] > 0], t)
            if cell:
                row[f"cpu:{cont}/{base}"] = cell
        out["tcp"][case] = row
        # The noise floor: E again against E, and E against the better of two more copies of
        # itself, which is what an equal server scores against "the better of U and A"; R again
        # against R.
        nrow = {}
        for cont, bases in (("E#2", ("E",)), ("E", NULL_NAMES), (NULL_R, ("R",))):
            cell = target_cell(paired_vs_best(per, cont, bases), 1.0)
            if cell:
                nrow[f"{cont}/{'|'.join(bases)}"] = cell
        if nrow:
            out["null"][case] = nrow
        srow = {}
        for cont in SYSCALL_COLUMNS:
            if sys_by.get((case, cont)) is not None:
                srow[cont] = sys_by[(case, cont)]
        if "E" in srow:
            for cont in ("xwsk-posix-epoll", "xwsk-posix-poll"):
                if cont in srow:
                    # One short counted run each: counts within 1% of E are a tie.
                    srow[f"{cont}_ok"] = srow[cont] <= srow["E"] * (1 + SYSCALL_TIE)
            for cont, share, only in TARGETS_SYSCALLS:
                if cont in srow and case in only:
                    srow[f"{cont}_ok"] = srow[cont] <= srow["E"] * share
        out["syscalls"][case] = srow
    lost: dict = {}
    for r in result["runs"]:
        if r.get("ok") and r["round"] not in dropped and r.get("lost") is not None:
            lost.setdefault(r["case"], {}).setdefault(r["contender"], {})[r["round"]] = r["lost"]
    for case in result["config"].get("client_cases", []):
        per = by.get(case, {})
        sm, st = per.get("send_messages", {}), per.get("send_to", {})
        row = {}
        ks = [k for k in sorted(sm) if k in st]
        cell = target_cell([sm[k] / st[k] for k in ks], TARGET_BATCH_GSO)
        if cell:
            row["send_messages/send_to"] = cell
        mm, rs, gso = per.get("raw_sendmmsg", {}), per.get("raw_send", {}), per.get("raw_gso", {})
        cell = target_cell([(sm[k] / st[k]) / (mm[k] / rs[k]) for k in ks
                            if k in mm and k in rs], TARGET_BATCH_REL)
        if cell:
            row["relative"] = cell
        cell = target_cell([sm[k] / gso[k] for k in sorted(sm) if k in gso], TARGET_BATCH_VS_GSO)
        if cell:
            row["send_messages/raw_gso"] = cell
        for name in ("raw_sendmmsg", "raw_gso"):
            cell = target_cell([per[name][k] / rs[k] for k in sorted(per.get(name, {}))
                                if k in rs], 1.0)
            if cell:
                row[f"{name}/raw_send"] = cell
        ls = lost.get(case, {}).get("send_messages", {})
        if ls:
            row["send_messages_lost"] = {"per_round": [ls[k] for k in sorted(ls)],
                                         "n": len(ls), "n_zero": sum(v == 0 for v in ls.values()),
                                         "max": max(ls.values())}
        if row:
            out["batch"][case] = row
    return out


def contenders_from(result: dict) -> list[Contender]:
    return [Contender(c["name"], c["binary"], c.get("args", []), c.get("vs", []),
                      c.get("label", "")) for c in result["config"]["contenders"]]


def client_contenders_from(result: dict) -> list[Contender]:
    return [Contender(c["name"], "", c.get("args", []), c.get("vs", []), c.get("label", ""))
            for c in result["config"].get("client_contenders", [])]


def fmt_rate(x: float | None, metric: str) -> str:
    if x is None:
        return "—"
    if metric == "Gbit/s":
        return f"{x:.2f}"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def fmt(x, spec=".2f") -> str:
    return "—" if x is None else format(x, spec)


def md_table(heads, rows) -> list:
    """The lines of a Markdown table: a "case" column, then HEADS; ROWS yields (case, cells)."""
    lines = ["| case | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    return lines + [f"| {case} | " + " | ".join(cells) + " |" for case, cells in rows]


def cell_text(c: dict | None, with_verdict: bool) -> str:
    """A target_cell as table text: median (min–max), rounds at or above the target."""
    if not c:
        return "—"
    text = f"{c['median']:.2f} ({c['min']:.2f}–{c['max']:.2f}) {c['n_ge_target']}/{c['n']}"
    return text + (f" **{c['verdict']}**" if with_verdict else "")


def write_markdown(result: dict, path: str) -> None:
    summary = result["summary"]
    cfg = result["config"]
    metrics = {c["case"]: c for c in result["cases"]}
    names = [c.name for c in contenders_from(result)
             if any(c.name in summary.get(k, {}) for k in summary)]
    L = []
    L.append("# Benchmarks: xwsk and its peers")
    L.append("")
    fr_all = [r.get("foreign_cpu_frac", 0) for r in result["runs"] if r.get("ok")]
    if fr_all and median(fr_all) > cfg.get("max_foreign", 0.10):
        L.append(f"> **Warning: measured on a busy machine.** Other processes used a median "
                 f"{median(fr_all) * 100:.0f}% of the CPUs during the runs, so throughput "
                 "and CPU-µs per message are far below what the machine does when idle (e.g. "
                 "29–42k TCP round trips/s). Paired ratios and syscalls per message are still "
                 "indicative; re-run `bench/run.py` on an idle machine for real figures.")
        L.append("")
    L.append("Generated by `bench/run.py` from "
             f"`{os.path.relpath(os.path.join(REPO, result.get('path', '')), REPO)}`; do not "
             "edit by hand. Method: [bench/README.md](../bench/README.md).")
    L.append("")
    L.append(f"- When: {result['started']}; machine: {result['host']['cpus']} CPUs, "
             f"kernel {result['host']['kernel']}, {result['host']['cpu_model']}.")
    L.append(f"- {cfg['rounds']} rounds, contender order shuffled per round and case; warm-up "
             f"{cfg['warmup']} s, measurement {cfg['measure']} s per run; server pinned to CPU "
             f"{cfg['server_cpu']}, client (`bench-load`) to CPU {cfg['client_cpu']}"
             + (f"; both at nice {cfg['nice']}" if cfg.get("nice") else "") + ".")
    dropped = result.get("dropped_rounds", [])
    if dropped:
        L.append("- Dropped for CPU steal > 5%: " + ", ".join(
            f"round {d['round']} ({d['steal_frac'] * 100:.1f}%)" for d in dropped) + ".")
    else:
        L.append("- No round had more than 5% CPU steal; none dropped.")
    fr = [r.get("foreign_cpu_frac", 0) for r in result["runs"] if r.get("ok")]
    if fr:
        retried = sum(1 for r in result["runs"] if r.get("tries", 1) > 1)
        disturbed = sum(1 for r in result["runs"] if r.get("disturbed"))
        L.append(f"- CPU used by other processes during runs (not steal, but just as "
                 f"disturbing): median {median(fr) * 100:.1f}%, max {max(fr) * 100:.1f}% of "
                 f"the machine; {retried} run(s) were retried for it, and {disturbed} of "
                 f"{len(result['runs'])} were still above "
                 f"{cfg.get('max_foreign', 0.1) * 100:.0f}% in the attempt kept.")
    bad = [r for r in result["runs"] if not r.get("ok")]
    if bad:
        L.append(f"- {len(bad)} run(s) failed and are left out: " + "; ".join(
            f"{r['contender']}/{r['case']}: {'; '.join(r['problems'])[:120]}" for r in bad[:5]))
    skipped_runs = sorted({f"{r['case']} ({r['skipped']})" for r in result["runs"]
                           if r.get("skipped")})
    if skipped_runs:
        L.append("- Cases skipped on this machine: " + "; ".join(skipped_runs) + ".")
    skipped = result.get("skipped_contenders", [])
    if skipped:
        L.append("- Not built, so not run: " + ", ".join(skipped) + ".")
    L.append("")
    L.append("Contenders: " + "; ".join(
        f"**{c.name}** = {c.label}" for c in contenders_from(result) if c.name in names) + ".")
    L.append("")
    tg = result.get("targets") or compute_targets(result)
    if tg["tcp"] or tg["batch"]:
        L.append("## Targets (the issue's): median paired ratio (min–max), rounds at or above "
                 "the target")
        L.append("")
        L.append("\"met\": median ≥ target and at least n − ⌊n/7⌋ of n rounds (6 of 7) at or "
                 "above it; \"met (median; not 6 of 7)\": the median only. `/U|A` is the ratio "
                 "to the better of U and A in the same round.")
        L.append("")
        bar = "\\|"  # a literal | inside a Markdown table cell
        uring = "xwsk-posix-uring"
        cols = [f"{c}/{bar.join(b)} ≥ {t:g}" for c, b, t, _ in TARGETS_TCP if c != uring]
        keys = [target_key(c, b, t) for c, b, t, _ in TARGETS_TCP if c != uring]
        L += md_table(cols, ((case, [cell_text(row.get(k), True) for k in keys])
                             for case, row in tg["tcp"].items()))
        L.append("")
        ukeys = [(target_key(c, b, t), f"{c}/{bar.join(b)} ≥ {t:g}"
                  + (" (stretch)" if t > 1.2 else ""))
                 for c, b, t, _ in TARGETS_TCP if c == uring]
        ukeys += [(f"cpu:{c}/{b}", f"CPU efficiency vs {b} ≥ {t:g}")
                  for c, b, t, _ in TARGETS_CPU]
        if any(k in row for row in tg["tcp"].values() for k, _ in ukeys):
            L.append(f"The io_uring engine ({uring}): throughput against E on the echo cases "
                     "(target 1.15, stretch 1.3) and on the cases the TCP stack bounds (block, "
                     "pump, churn: 0.95), against the raw io_uring server R on every case "
                     "(0.95), and server CPU per message against E on the echo cases (E's "
                     "CPU-µs/msg ÷ the engine's, paired per round: 1.3). — where a target does "
                     "not apply to the case.")
            L.append("")
            L += md_table([h for _, h in ukeys],
                          ((case, [cell_text(row.get(k), True) for k, _ in ukeys])
                           for case, row in tg["tcp"].items()))
            L.append("")
        if tg.get("latency"):
            L.append(f"Latency under a UDP flood (connect + 2 B echo while 64 B datagrams flood "
                     f"the same server): E's p99 / the contender's p99, paired per round; the "
                     f"target is a p99 at most {TARGET_FLOOD_P99:g}× E's, i.e. a ratio ≥ "
                     f"{1 / TARGET_FLOOD_P99:.2f} (xwsk-posix-epoll is the issue's target; the "
                     f"others are shown for comparison).")
            L.append("")
            conts = sorted({c for row in tg["latency"].values() for c in row})
            L += md_table([f"E p99 / {c} p99" for c in conts],
                          ((case, [cell_text(row.get(c), True) for c in conts])
                           for case, row in tg["latency"].items()))
            L.append("")
        if tg.get("null"):
            L.append("Noise floor: E run again in the same rounds as E#2 and E#3 (`--null 2`: the "
                     "same binary, shuffled in like any contender), and R again as R#2. `E#2/E` "
                     "is how far two identical servers measure apart; `E/E#2|E#3` is what a "
                     "server equal to its peers scores against the better of two of them, the "
                     "null of the `/U|A` targets above. A ratio inside these spreads is not "
                     "resolved by this run.")
            L.append("")
            nkeys = ["E#2/E", "E/E#2|E#3"]
            heads = ["E#2/E median (min–max), rounds ≥ 1",
                     "E/E#2\\|E#3 median (min–max), rounds ≥ 1"]
            if any(f"{NULL_R}/R" in row for row in tg["null"].values()):
                nkeys.append(f"{NULL_R}/R")
                heads.append(f"{NULL_R}/R median (min–max), rounds ≥ 1")
            L += md_table(heads, ((case, [cell_text(row.get(k), False) for k in nkeys])
                                  for case, row in tg["null"].items()))
            L.append("")
        if any(tg["syscalls"].values()):
            nrep = max([len(x.get("reps", [None])) for x in result.get("syscalls", [])] or [1])
            how = ("one short counted run each" if nrep == 1 else
                   f"the median of {nrep} short counted runs each, interleaved")
            L.append("Syscalls per message (targets: xwsk-posix-epoll and -poll no more than E, "
                     "xwsk-posix-uring at most half of E's on the echo cases; from "
                     f"{how}, so within {SYSCALL_TIE * 100:g}% of E is a tie and counts as "
                     "met for the first):")
            L.append("")
            sc = [n for n in SYSCALL_COLUMNS
                  if any(n in row for row in tg["syscalls"].values())]
            judged = [n for n in ("xwsk-posix-epoll", "xwsk-posix-poll") if n in sc]
            heads = [f"{n} ≤ E" for n in judged]
            for n, share, _ in TARGETS_SYSCALLS:
                if n in sc:
                    judged.append(n)
                    heads.append(f"{n} ≤ {share:g}× E (echo cases)")
            rows = []
            for case, row in tg["syscalls"].items():
                cells = [fmt(row.get(n)) for n in sc]
                oks = ["—" if f"{n}_ok" not in row else
                       (("met" if row[f"{n}_ok"] else "**missed**")
                        + f" ({row[n] / row['E']:.2f}×)" if row.get("E") else "")
                       for n in judged]
                rows.append((case, cells + oks))
            L += md_table(sc + heads, rows)
            L.append("")
        if tg["batch"]:
            L.append("xwsk as the UDP client, E as the sink (details below), packets/s received, "
                     "paired per round. The send_messages/send_to ratio is held against the "
                     "kernel's own in the same round (raw sendmmsg x32 / raw send per datagram): "
                     f"≥ {TARGET_BATCH_REL:g}× it; send_messages, which goes through UDP GSO, "
                     f"≥ {TARGET_BATCH_GSO:g}× send_to and ≥ {TARGET_BATCH_VS_GSO:g}× raw GSO "
                     "x32, with no datagram lost: sent (whole run, warm-up included) minus what "
                     "the sink counted after draining.")
            L.append("")
            bkeys = [("relative", f"(send_messages/send_to) ÷ (raw sendmmsg/raw send) ≥ "
                                  f"{TARGET_BATCH_REL:g}"),
                     ("send_messages/send_to", f"send_messages/send_to ≥ {TARGET_BATCH_GSO:g}"),
                     ("send_messages/raw_gso", f"send_messages/raw GSO ≥ {TARGET_BATCH_VS_GSO:g}")]
            rows = []
            for case, row in tg["batch"].items():
                lo = row.get("send_messages_lost")
                lt = "—" if not lo else (f"{lo['n_zero']}/{lo['n']} ({lo['max']}) **"
                                         + ("met" if lo["n_zero"] == lo["n"] else "missed")
                                         + "**")
                rows.append((case, [cell_text(row.get(k), True) for k, _ in bkeys] + [lt]))
            L += md_table([h for _, h in bkeys]
                          + ["send_messages: rounds with 0 lost (max lost)"], rows)
            L.append("")
    L.append("## Throughput (median, min–max over rounds)")
    L.append("")
    L.append("| case | unit | " + " | ".join(names) + " |")
    L.append("|---|---|" + "---|" * len(names))
    for case in [c for c in cfg["cases"] if c in summary]:
        unit = metrics[case]["metric"]
        if metrics[case]["kind"] == "udp_blast":
            unit = "pkt/s received"
        cells = []
        for n in names:
            e = summary[case].get(n)
            cells.append("—" if not e else f"{fmt_rate(e['rate_median'], unit)} "
                         f"({fmt_rate(e['rate_min'], unit)}–{fmt_rate(e['rate_max'], unit)})")
        L.append(f"| {case} | {unit} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Paired ratios (throughput of the contender / the baseline, same round)")
    L.append("")
    L.append("\"ahead\" only when the ratio is ≥ 1 in at least 6 of 7 rounds (n − ⌊n/7⌋ of "
             "n); \"behind\" when ≤ 1 as often; otherwise \"even\". The last column is the "
             "CPU-efficiency ratio (baseline server CPU-µs per message / the contender's): "
             "above 1 means the contender spends less CPU per message.")
    L.append("")
    L.append("| case | ratio | median | min–max | ≥ 1 in | verdict | CPU-efficiency |")
    L.append("|---|---|---|---|---|---|---|")
    for case in [c for c in cfg["cases"] if c in summary]:
        for n in names:
            e = summary[case].get(n)
            if not e:
                continue
            for base, r in e["ratios"].items():
                L.append(f"| {case} | {n}/{base} | {r['median']:.2f} | "
                         f"{r['min']:.2f}–{r['max']:.2f} | {r['n_ge_1']}/{r['n']} | "
                         f"{r['verdict']} | {fmt(r.get('cpu_efficiency_median'))} |")
    L.append("")
    L.append("## Server cost per message (median over rounds)")
    L.append("")
    L.append("CPU-µs: the server's user+sys time over the measurement window (getrusage) "
             "divided by the messages completed in it. Syscalls: counted with "
             f"{result.get('syscall_tool') or 'nothing (no perf/strace)'} in separate short "
             "runs (the whole run, divided by its messages; the median over the repeats). A "
             "message is one echoed message, "
             "one block, one write into the sink, one connection (churn) or one received "
             "datagram (blast).")
    L.append("")
    rows = []
    for case in [c for c in cfg["cases"] if c in summary]:
        cpu = [fmt(summary[case].get(n, {}).get("cpu_us_per_msg_median"), ".2f") for n in names]
        sc = [fmt(summary[case].get(n, {}).get("syscalls_per_msg"), ".2f") for n in names]
        rows.append((case, cpu + sc))
    L += md_table([f"{n} CPU-µs" for n in names] + [f"{n} syscalls" for n in names], rows)
    L.append("")
    lat_cases = [c for c in cfg["cases"] if c in summary and any(
        summary[c][n].get("p50_us_median") is not None for n in summary[c])]
    if lat_cases:
        L.append("## Latency (median over rounds of each run's p50 / p99, µs)")
        L.append("")

        def p50_p99(e):
            return f"{fmt(e.get('p50_us_median'), '.0f')} / {fmt(e.get('p99_us_median'), '.0f')}"
        L += md_table(names, ((case, [p50_p99(summary[case].get(n, {})) for n in names])
                              for case in lat_cases))
        L.append("")
    blast = [c for c in cfg["cases"] if c in summary and metrics[c]["kind"] == "udp_blast"]
    if blast:
        L.append("## UDP blast loss (median share of sent datagrams the server never read)")
        L.append("")

        def loss_pct(e):
            v = e.get("loss_median")
            return fmt(None if v is None else v * 100, ".1f") + "%"
        L += md_table(names, ((case, [loss_pct(summary[case].get(n, {})) for n in names])
                              for case in blast))
        L.append("")
    ccases = [c for c in cfg.get("client_cases", []) if c in summary]
    if ccases:
        L.append("## xwsk as the UDP client: send_messages vs send_to, and the raw senders")
        L.append("")
        L.append("`bench-blast-xwsk-<backend>` (bench/blast_xwsk.cpp) blasts datagrams at "
                 f"{cfg.get('blast_server', 'E')} in sink mode; the rate is what the server "
                 "received in the window (its `udp_rx`). Methods: " + "; ".join(
                     f"**{c.name}** = {c.label}" for c in client_contenders_from(result))
                 + ". Client CPU-µs is the client's own getrusage per datagram sent.")
        L.append("")
        raw = [m for m in RAW_METHODS if any(m in summary[c] for c in ccases)]
        if raw:
            L.append("The raw senders in the same rounds (median pkt/s received, min–max), and "
                     "the kernel's ratios to one send per datagram:")
            L.append("")
            rows = []
            for case in ccases:
                cells = []
                for m in raw:
                    e = summary[case].get(m)
                    cells.append("—" if not e else f"{fmt_rate(e['rate_median'], 'pkt/s')} "
                                 f"({fmt_rate(e['rate_min'], 'pkt/s')}–"
                                 f"{fmt_rate(e['rate_max'], 'pkt/s')})")
                for m in ("raw_sendmmsg", "raw_gso"):
                    r = summary[case].get(m, {}).get("ratios", {}).get("raw_send")
                    cells.append("—" if not r else
                                 f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})")
                rows.append((case, cells))
            L += md_table([f"{m} pkt/s" for m in raw]
                          + ["raw_sendmmsg/raw_send", "raw_gso/raw_send"], rows)
            L.append("")
        L.append("| case | send_to pkt/s | send_messages pkt/s | ratio median (min–max) | "
                 "client CPU-µs/dgram send_to / send_messages | loss send_to / "
                 "send_messages |")
        L.append("|---|---|---|---|---|---|")
        for case in ccases:
            a = summary[case].get("send_to", {})
            b = summary[case].get("send_messages", {})
            r = b.get("ratios", {}).get("send_to")

            def rr(e):
                return ("—" if not e else f"{fmt_rate(e['rate_median'], 'pkt/s')} "
                        f"({fmt_rate(e['rate_min'], 'pkt/s')}–"
                        f"{fmt_rate(e['rate_max'], 'pkt/s')})")

            def loss(e):
                v = e.get("loss_median")
                return "—" if v is None else f"{v * 100:.1f}%"
            L.append(f"| {case} | {rr(a)} | {rr(b)} | "
                     + ("—" if not r else f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})")
                     + f" | {fmt(a.get('client_cpu_us_per_msg_median'))} / "
                     f"{fmt(b.get('client_cpu_us_per_msg_median'))} | {loss(a)} / {loss(b)} |")
        L.append("")
    L.append("![paired ratios vs E](benchmarks.svg)")
    L.append("")
    # The hand-written analysis (what bounds each missed target, profiles, fixes) lives in
    # bench/analysis.md, linked rather than copied; it names the result it read.
    if os.path.isfile(os.path.join(HERE, "analysis.md")):
        L.append("The analysis of these tables (what bounds each target, what was changed, what "
                 "is still missed) is written by hand in [bench/analysis.md](../bench/analysis.md).")
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_svg(result: dict, path: str) -> None:
    """Horizontal bars: median paired ratio vs the first contender, min-max whiskers."""
    summary = result["summary"]
    cfg = result["config"]
    conts = [c for c in contenders_from(result)]
    base = conts[0].name
    others = [c.name for c in conts[1:]
              if any(base in summary.get(k, {}).get(c.name, {}).get("ratios", {})
                     for k in summary)]
    cases = [c for c in cfg["cases"] if c in summary]
    colors = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d"]
    bar_h, gap, label_w, plot_w, top = 11, 10, 250, 520, 56
    rows = max(1, len(others))
    height = top + len(cases) * (rows * bar_h + gap) + 40
    hi = 2.0
    for case in cases:
        for n in others:
            r = summary[case].get(n, {}).get("ratios", {}).get(base)
            if r:
                hi = max(hi, math.ceil(r["max"] * 2) / 2)
    hi = min(hi, 6.0)

    def x(v: float) -> float:
        return label_w + min(v, hi) / hi * plot_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 30}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">Throughput relative to '
           f'{base} (median of paired per-round ratios; whiskers min–max)</text>',
           f'<text x="{label_w + plot_w}" y="37" text-anchor="end" fill="#555">'
           f'{cfg["rounds"]} rounds, {html.escape(result["started"][:10])}; right of 1 = '
           f'faster than {base}</text>']
    for i, n in enumerate(others):
        out.append(f'<rect x="{10 + i * 150}" y="28" width="10" height="10" '
                   f'fill="{colors[i % len(colors)]}"/>'
                   f'<text x="{24 + i * 150}" y="37">{n}/{base}</text>')
    t = 0.0
    while t <= hi + 1e-9:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{height - 30}" '
                   f'stroke="{"#333" if abs(t - 1) < 1e-9 else "#ddd"}" '
                   f'stroke-width="{1.5 if abs(t - 1) < 1e-9 else 1}"/>'
                   f'<text x="{x(t):.1f}" y="{height - 16}" text-anchor="middle">{t:g}</text>')
        t += 0.5
    y = top
    for case in cases:
        out.append(f'<text x="{label_w - 8}" y="{y + rows * bar_h / 2 + 4:.1f}" '
                   f'text-anchor="end">{case}</text>')
        for i, n in enumerate(others):
            r = summary[case].get(n, {}).get("ratios", {}).get(base)
            yy = y + i * bar_h
            if r:
                c = colors[i % len(colors)]
                out.append(f'<rect x="{label_w}" y="{yy + 1}" '
                           f'width="{x(r["median"]) - label_w:.1f}" height="{bar_h - 2}" '
                           f'fill="{c}"><title>{n}/{base} {case}: median {r["median"]:.2f}, '
                           f'{r["min"]:.2f}–{r["max"]:.2f}, {html.escape(r["verdict"])}'
                           '</title></rect>')
                mid = yy + bar_h / 2
                out.append(f'<line x1="{x(r["min"]):.1f}" y1="{mid:.1f}" x2="{x(r["max"]):.1f}" '
                           f'y2="{mid:.1f}" stroke="#222"/>')
        y += rows * bar_h + gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------------------------------
# Main


def find_binary(build_dir: str, name: str) -> str | None:
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    for cand in (os.path.join(build_dir, name), os.path.join(build_dir, "bin", name),
                 os.path.join(build_dir, "bench", name)):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    for root, dirs, files in os.walk(build_dir):
        dirs[:] = [d for d in dirs if d not in ("CMakeFiles", ".git", "_deps")]
        if name in files and os.access(os.path.join(root, name), os.X_OK):
            return os.path.join(root, name)
    return None


def default_build_dir() -> str:
    for cand in (os.path.join(REPO, "build"), "/tmp/bench-build"):
        if os.path.isdir(cand) and find_binary(cand, "bench-load"):
            return cand
    return os.path.join(REPO, "build")


def host_info() -> dict:
    model = ""
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cpu_model": model}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=None, help="where the binaries are (default: "
                    "build/ at the repo root, else /tmp/bench-build)")
    ap.add_argument("--smoke", action="store_true",
                    help="correctness only: every contender x every case, ~0.2 s each")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=float, default=None, help="seconds (default 0.5)")
    ap.add_argument("--measure", type=float, default=None,
                    help="seconds per run (default: fit --budget, 0.5-3 s)")
    ap.add_argument("--budget", type=float, default=540,
                    help="target wall seconds for a full run (default 540)")
    ap.add_argument("--cases", default=None, help="comma-separated case names")
    ap.add_argument("--contenders", default=None, help="comma-separated contender names")
    ap.add_argument("--null", type=int, default=0, choices=(0, 1, 2),
                    help="run E again as 1 or 2 more contenders (E#2, E#3), and R once (R#2), "
                    "to measure the noise floor of the paired ratios; not in the syscall pass (default 0)")
    ap.add_argument("--no-syscalls", action="store_true", help="skip the syscall pass")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.*")
    ap.add_argument("--out", default=None, help="result JSON path")
    ap.add_argument("--report", default=None, help="only regenerate docs from this JSON")
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--wait-idle", type=float, default=20,
                    help="before each round, wait up to this many seconds for the machine to "
                    "be idle (full mode; default 20)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness for server and client, e.g. -10 to shield the runs from "
                    "other work on a shared machine (needs root; default 0)")
    ap.add_argument("--max-foreign", type=float, default=0.10,
                    help="retry a run when other processes used more than this share of the "
                    "machine's CPU during it (default 0.10)")
    args = ap.parse_args()

    docs_md = os.path.join(REPO, "docs", "benchmarks.md")
    docs_svg = os.path.join(REPO, "docs", "benchmarks.svg")
    if args.report:
        with open(args.report) as f:
            result = json.load(f)
        result["path"] = repo_path(args.report)
        result["summary"] = summarize(result)
        result["targets"] = compute_targets(result)
        write_markdown(result, docs_md)
        write_svg(result, docs_svg)
        log(f"wrote {docs_md} and {docs_svg}")
        return 0

    build_dir = os.path.abspath(args.build_dir or default_build_dir())
    load = find_binary(build_dir, "bench-load")
    if not load:
        log(f"bench-load not found under {build_dir}; build it first "
            "(cmake -S bench -B /tmp/bench-build && cmake --build /tmp/bench-build)")
        return 2
    listing = subprocess.run([load, "--list"], capture_output=True, text=True, check=True)
    all_cases = {c["case"]: c for c in map(json.loads, listing.stdout.splitlines())}
    client_names = {client_case_name(z, b): (z, b) for b, _, _ in BLAST_BACKENDS
                    for z in BLAST_SIZES}
    if args.cases:
        wanted_cases = args.cases.split(",")
        case_names = [c for c in wanted_cases if c not in client_names]
        client_wanted = [c for c in wanted_cases if c in client_names]
    elif args.smoke:
        case_names = list(all_cases)
        # Every backend's client once, at 64 B (1200 B goes through the same calls): ~6 s.
        client_wanted = [client_case_name(64, b) for b, _, _ in BLAST_BACKENDS]
    else:
        case_names = DEFAULT_CASES
        client_wanted = [client_case_name(z, b) for b, _, dflt in BLAST_BACKENDS if dflt
                         for z in BLAST_SIZES]
    unknown = [c for c in case_names if c not in all_cases]
    if unknown:
        log(f"unknown case(s): {', '.join(unknown)}")
        return 2
    cases = [all_cases[c] for c in case_names]

    wanted = args.contenders.split(",") if args.contenders else None
    contenders, binaries, skipped = [], {}, []
    for c in CONTENDERS:
        if wanted and c.name not in wanted:
            continue
        names = (c.binary,) if isinstance(c.binary, str) else c.binary
        b = next((p for p in (find_binary(build_dir, n) for n in names) if p), None)
        if not b:
            log(f"skip {c.name}: {' or '.join(names)} not built under {build_dir}")
            skipped.append(c.name)
            continue
        contenders.append(c)
        binaries[c.name] = b
    if args.null and "E" in binaries:
        e_row = next(c for c in CONTENDERS if c.name == "E")
        for name in NULL_NAMES[:args.null]:
            contenders.append(Contender(name, e_row.binary, [], ["E"],
                                        "E again (a null contender: the noise floor)"))
            binaries[name] = binaries["E"]
    elif args.null:
        log("--null needs E; no null contender")
    if args.null and "R" in binaries:
        r_row = next(c for c in CONTENDERS if c.name == "R")
        contenders.append(Contender(NULL_R, r_row.binary, [], ["R"],
                                    "R again (a null contender: R's noise floor)"))
        binaries[NULL_R] = binaries["R"]
    if not contenders and not client_wanted:
        log("no contender binary found")
        return 2
    # xwsk as the client: E in sink mode, bench-blast-xwsk-<backend> as the load.
    client_cases = []
    e_cont = next(c for c in CONTENDERS if c.name == BLAST_SERVER)
    e_bin = find_binary(build_dir, e_cont.binary) if client_wanted else None
    for name in client_wanted:
        size, backend = client_names[name]
        alts = next(b for n, b, _ in BLAST_BACKENDS if n == backend)
        cb = next((p for p in (find_binary(build_dir, n) for n in alts) if p), None)
        if not cb or not e_bin:
            log(f"skip {name}: {' or '.join(alts)} or {e_cont.binary} not built")
            skipped.append(name)
            continue
        client_cases.append({"case": name, "kind": "udp_blast", "server_mode": "sink",
                             "conns": 1, "size": size, "depth": None, "metric": "pkt/s",
                             "backend": backend, "server": BLAST_SERVER,
                             "client_binary": repo_path(cb),
                             "client_args": {m.name: m.args for m in BLAST_METHODS}})
    if not contenders and not client_cases:
        log("no contender binary found")
        return 2
    if os.cpu_count() and os.cpu_count() < 2:
        log("warning: fewer than 2 CPUs; client and server will share one")
        args.server_cpu = args.client_cpu = 0

    tool = None if (args.no_syscalls or args.smoke) else syscall_tool()
    rng = random.Random(args.seed)
    if args.smoke:
        rounds, warmup, measure = 1, args.warmup or 0.1, args.measure or 0.2
    else:
        rounds = args.rounds
        warmup = DEFAULT_WARMUP_S if args.warmup is None else args.warmup
        runs = rounds * (len(cases) * len(contenders) + len(client_cases) * len(BLAST_METHODS))
        counted = [c for c in contenders if c.name not in NULL_ALL]  # in the syscall pass
        sys_time = (0 if not tool else
                    SYSCALL_REPS * len(cases) * len(counted) *
                    (SYSCALL_WARMUP_S + SYSCALL_MEASURE_S + RUN_OVERHEAD_S + 0.4))
        if args.measure is not None:
            measure = args.measure
        else:
            measure = (args.budget - sys_time) / runs - warmup - RUN_OVERHEAD_S
            measure = max(0.5, min(3.0, round(measure, 2)))
        est = runs * (warmup + measure + RUN_OVERHEAD_S) + sys_time
        log(f"plan: {rounds} rounds x ({len(cases)} cases x {len(contenders)} contenders + "
            f"{len(client_cases)} xwsk-client cases x {len(BLAST_METHODS)} methods) = "
            f"{runs} runs x ({warmup:g} s warm-up + {measure:g} s measure + "
            f"~{RUN_OVERHEAD_S} s overhead) + syscall pass {sys_time:.0f} s "
            f"= ~{est / 60:.1f} min (+ 1-{args.wait_idle:g} s per round waiting for an idle "
            "machine)")
        if rounds < 7:
            log("note: fewer than 7 rounds: no 'ahead' verdict is possible")

    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    result = {
        "schema": SCHEMA,
        "mode": "smoke" if args.smoke else "full",
        "started": started,
        "host": host_info(),
        "config": {
            "rounds": rounds, "warmup": warmup, "measure": measure,
            "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
            "cases": case_names, "seed": args.seed, "max_foreign": args.max_foreign,
            "client_cases": [c["case"] for c in client_cases], "blast_server": BLAST_SERVER,
            "client_contenders": [{"name": m.name, "args": m.args, "vs": m.vs,
                                   "label": m.label} for m in BLAST_METHODS],
            "nice": args.nice,
            "contenders": [{"name": c.name, "binary": c.binary, "args": c.args, "vs": c.vs,
                            "label": c.label} for c in contenders],
        },
        "cases": cases + [{k: v for k, v in c.items() if k != "client_args"}
                          for c in client_cases],
        "skipped_contenders": skipped,
        "syscall_tool": tool,
        "runs": [],
        "syscalls": [],
        "dropped_rounds": [],
    }

    t_start = time.monotonic()
    failures = 0
    skips = 0
    retries_left = max(5, (rounds * (len(cases) * len(contenders)
                                     + len(client_cases) * len(BLAST_METHODS))) // 5)
    # Runs that failed only for want of CPU have a budget of their own, so that on a busy
    # machine the retries for other load do not use up the ones that keep a run from failing.
    starved_left = retries_left
    for rnd in range(rounds):
        if args.wait_idle > 0 and not args.smoke:
            busy = wait_idle(args.wait_idle, args.max_foreign)
            if busy >= args.max_foreign:
                log(f"round {rnd + 1}: the machine is still {busy * 100:.0f}% busy with other "
                    f"work after {args.wait_idle:g} s; measuring anyway")
        st0 = read_proc_stat()
        for case in cases + client_cases:
            is_client = "client_binary" in case
            order = (BLAST_METHODS if is_client else contenders)[:]
            rng.shuffle(order)
            for c in order:
                srv_bin = e_bin if is_client else binaries[c.name]
                rec = run_one(load, c, srv_bin, case, warmup, measure, args)
                # Other work on the machine disturbs a run as much as steal does: retry such
                # a run, or one whose server missed the window (at most twice, and for at most
                # a fifth of all runs each), then keep it marked.
                tries = 1
                while tries < 3:
                    if rec.get("retryable") and starved_left > 0:
                        starved_left -= 1
                    elif (retries_left > 0 and not args.smoke and rec.get("ok")
                          and rec.get("foreign_cpu_frac", 0) > args.max_foreign):
                        retries_left -= 1
                    else:
                        break
                    time.sleep(1.0)
                    rec = run_one(load, c, srv_bin, case, warmup, measure, args)
                    tries += 1
                rec["tries"] = tries
                rec["t_end_s"] = round(time.monotonic() - t_start, 2)
                rec["disturbed"] = rec.get("foreign_cpu_frac", 0) > args.max_foreign
                rec["round"] = rnd
                result["runs"].append(rec)
                status = "ok " if rec["ok"] else "FAIL"
                if rec.get("skipped"):
                    skips += 1
                    log(f"[{rnd + 1}/{rounds}] skip {c.name:<18} {case['case']:<32} "
                        f"{rec['skipped']}")
                    continue
                if not rec["ok"]:
                    failures += 1
                rate = rec.get("rate")
                unit = case["metric"] if case["kind"] != "udp_blast" else "pkt/s rx"
                extra = ""
                if rec.get("cpu_us_per_msg"):
                    extra += f"  {rec['cpu_us_per_msg']:.2f} CPU-us/msg"
                if rec.get("p99_us") is not None:
                    extra += f"  p50 {rec['p50_us']:.0f} us p99 {rec['p99_us']:.0f} us"
                if rec.get("loss") is not None:
                    extra += f"  loss {rec['loss'] * 100:.1f}%"
                if rec.get("foreign_cpu_frac", 0) > 0.02:
                    extra += f"  [other load {rec['foreign_cpu_frac'] * 100:.0f}%" + (
                        f", try {rec['tries']}]" if rec.get("tries", 1) > 1 else "]")
                log(f"[{rnd + 1}/{rounds}] {status} {c.name:<18} {case['case']:<32} "
                    f"{fmt_rate(rate, case['metric']) if rate is not None else '-':>8} "
                    f"{unit}{extra}"
                    + ("" if rec["ok"] else "  <- " + "; ".join(rec["problems"])))
                for w in rec.get("warnings", []):
                    log(f"    warning: {w}")
        steal = cpu_delta(st0, read_proc_stat())["steal_frac"]
        if steal > 0.05 and not args.smoke:
            result["dropped_rounds"].append({"round": rnd, "steal_frac": round(steal, 4)})
            log(f"round {rnd + 1}: CPU steal {steal * 100:.1f}% > 5%: dropped")

    t_syscalls = time.monotonic()
    if tool:
        log(f"syscall pass ({tool}, {SYSCALL_REPS} x {SYSCALL_MEASURE_S:g} s per case and "
            "contender, interleaved; median)")
        reps: dict = {}
        for rep in range(SYSCALL_REPS):
            for case in cases:
                for c in [c for c in contenders if c.name not in NULL_ALL]:
                    rec = run_one(load, c, binaries[c.name], case, SYSCALL_WARMUP_S,
                                  SYSCALL_MEASURE_S, args, tool)
                    n, m = rec.get("syscalls"), rec.get("syscall_messages")
                    per = n / m if (n is not None and m) else None
                    reps.setdefault((case["case"], c.name), []).append(
                        {"syscalls": n, "messages": m, "syscalls_per_msg": per,
                         "ok": rec["ok"]})
                    log(f"  [{rep + 1}/{SYSCALL_REPS}] {c.name:<18} {case['case']:<32} "
                        f"{'-' if per is None else f'{per:.2f}'} syscalls/msg")
        for (case_name, cont_name), runs_ in reps.items():
            pers = [r["syscalls_per_msg"] for r in runs_
                    if r["ok"] and r["syscalls_per_msg"] is not None]
            result["syscalls"].append({"case": case_name, "contender": cont_name, "tool": tool,
                                       "syscalls_per_msg": median(pers), "reps": runs_,
                                       "ok": bool(pers)})

    result["elapsed_s"] = round(time.monotonic() - t_start, 1)
    result["syscall_pass_s"] = round(time.monotonic() - t_syscalls, 1)
    result["summary"] = summarize(result)
    result["targets"] = compute_targets(result)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stamp = started.replace(":", "").replace("-", "").replace("+0000", "Z")
    out = args.out or os.path.join(
        HERE, "results", "smoke.json" if args.smoke else f"full-{stamp}.json")
    result["path"] = repo_path(out)
    with open(out, "w") as f:
        dump_result(result, f)
    log(f"wrote {out} ({result['elapsed_s']} s)")
    if not args.smoke and not args.no_docs:
        write_markdown(result, docs_md)
        write_svg(result, docs_svg)
        log(f"wrote {docs_md} and {docs_svg}")
    elif args.smoke:
        # Exercise the report code too, next to the result file (not into docs/).
        base = os.path.splitext(out)[0]
        try:
            write_markdown(result, base + ".md")
            write_svg(result, base + ".svg")
            xml.etree.ElementTree.parse(base + ".svg")
            log(f"wrote {base}.md and {base}.svg")
        except Exception as e:  # noqa: BLE001 - any report bug is a smoke failure
            log(f"FAIL report generation: {e!r}")
            failures += 1
    passed = sum(1 for r in result["runs"] if r.get("ok") and not r.get("skipped"))
    log(f"{passed} passed, {failures} failed, {skips} skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
