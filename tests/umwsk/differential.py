#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares two WSK providers case by case: Wine 8's netio.sys and umwsk's user-mode provider.

Both runs execute the conformance suite over xwsk's WSK backend: under Wine inside the kernel
test driver (tests/kernel/run-under-wine.sh), and natively over umwsk (xwsk-conformance-wsk_um),
the latter with XWSK_PROVIDER_PROFILE=wine-8, so that the backend asks both providers for the
same things (Wine's capabilities, Wine's workarounds) and only the providers differ.
Every case prints its completion trace (tests/conformance/xt.h, Context::trace): the final
status of every request it waited for, in order, with a count and a hash. For every case that
passes on both providers the traces must be equal, or the case must be listed, with the WSK
reference that decides it, in differential-explained.txt beside this file.

    differential.py --loader L.exe --driver D.sys --um BINARY [--markdown OUT.md]
    differential.py --wine-log W.txt --um-log U.txt --um-wine-log V.txt [--markdown OUT.md]

The umwsk binary runs twice: as it ships (every capability: the "umwsk" column), and with
Wine's provider profile (the traces compared with Wine's).

Exit status: 0 no unexplained difference, 1 a difference (or a case that fails on one
provider and passes on the other), 2 a run could not be made, 77 Wine is not installed.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77

RESULT = re.compile(r"^\[ *(PASSED|SKIPPED|FAILED|OK) *\] (?:conformance\.)?([A-Za-z0-9_.]+)(?:: (.*))?")
TRACE = re.compile(r"^XWSK-TRACE \S+ ([A-Za-z0-9_.]+): (.*)$")


def parse(text):
    """Returns {case: (result, detail, trace)} from a Wine loader or gtest run."""
    cases = {}
    traces = {}
    pending_skip = {}
    for line in text.splitlines():
        line = line.strip()
        m = TRACE.match(line)
        if m:
            traces[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^XWSK-SKIP \S+ (\S+): (.*)$", line)
        if m:
            pending_skip[m.group(1)] = m.group(2)
            continue
        m = RESULT.match(line)
        if not m:
            continue
        kind, name, detail = m.group(1), m.group(2), m.group(3) or ""
        if name.startswith("wsk.") or name.isdigit():
            continue
        if kind == "OK":
            kind = "PASSED"
        cases[name] = [kind, detail]
    # gtest prints "[  SKIPPED ] conformance.x (0 ms)" without the reason: take XWSK-SKIP's.
    for name, reason in pending_skip.items():
        if name in cases:
            cases[name] = ["SKIPPED", reason]
    return {n: (r, d, traces.get(n, "")) for n, (r, d) in cases.items()}


def load_explained():
    path = os.path.join(HERE, "differential-explained.txt")
    out = {}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, why = line.partition(" ")
            out[name] = why.strip()
    return out


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or "") if isinstance(e.stdout, str) else ""
    return p.returncode, p.stdout


def statuses(trace):
    """The status list of a trace ("n=3 h=.. 0 0 236" -> "0 0 236")."""
    parts = trace.split(" ", 2)
    return parts[2] if len(parts) == 3 else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loader")
    ap.add_argument("--driver")
    ap.add_argument("--um")
    ap.add_argument("--wine-log")
    ap.add_argument("--um-log")
    ap.add_argument("--um-wine-log")
    ap.add_argument("--markdown")
    a = ap.parse_args()

    if a.wine_log:
        wine_text = open(a.wine_log, encoding="utf-8", errors="replace").read()
    else:
        if not (a.loader and a.driver):
            ap.error("--loader and --driver, or --wine-log")
        rc, wine_text = run(["sh", os.path.join(ROOT, "tests/kernel/run-under-wine.sh"), a.loader,
                             a.driver], 240)
        if rc == SKIP:
            print("SKIPPED: Wine is not installed (run scripts/bootstrap.sh full)")
            return SKIP
    if a.um_log and a.um_wine_log:
        um_text = open(a.um_log, encoding="utf-8", errors="replace").read()
        um_wine_text = open(a.um_wine_log, encoding="utf-8", errors="replace").read()
    else:
        if not a.um:
            ap.error("--um, or --um-log and --um-wine-log")
        os.environ.pop("XWSK_PROVIDER_PROFILE", None)
        _, um_text = run([a.um], 600)
        # The WSK backend with Wine's provider profile: the same capabilities and the same calls
        # on both providers, so that only the providers differ.
        os.environ["XWSK_PROVIDER_PROFILE"] = "wine-8"
        _, um_wine_text = run([a.um], 600)

    wine = parse(wine_text)
    um = parse(um_text)
    um_wine = parse(um_wine_text)
    if not wine or not um:
        print(f"differential: no case results (wine {len(wine)}, umwsk {len(um)})")
        print(wine_text[-2000:] if not wine else um_text[-2000:])
        return 2
    explained = load_explained()
    rows = []
    problems = []
    same = differ_explained = 0
    for name in sorted(set(wine) | set(um)):
        w = wine.get(name, ("MISSING", "", ""))
        u = um.get(name, ("MISSING", "", ""))
        v = um_wine.get(name, ("MISSING", "", ""))
        verdict = ""
        if u[0] != "PASSED":
            problems.append(f"{name}: umwsk {u[0]} {u[1]}")
            verdict = f"umwsk {u[0]}"
        elif w[0] == "SKIPPED":
            verdict = "umwsk only (Wine lacks it)"
        elif w[0] != "PASSED":
            problems.append(f"{name}: Wine {w[0]} {w[1]}")
            verdict = f"Wine {w[0]}"
        elif v[0] == "PASSED" and v[2] == w[2]:
            verdict = "same statuses"
            same += 1
        elif name in explained:
            verdict = "differs (explained): " + explained[name]
            differ_explained += 1
        else:
            verdict = "DIFFERS"
            problems.append(f"{name}: Wine [{w[2]}], umwsk with Wine's profile {v[0]} [{v[2]}] {v[1]}")
        rows.append((name, w, u, v, verdict))

    both = sum(1 for r in rows if r[1][0] == "PASSED" and r[2][0] == "PASSED")
    print(f"differential: {len(rows)} cases; {both} run on both providers: {same} with the same "
          f"statuses, {differ_explained} different and explained, {len(problems)} problem(s)")
    for p in problems:
        print("  " + p)

    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write("# Wine's netio.sys and umwsk's provider, case by case\n\n")
            f.write("Generated by `tests/umwsk/differential.py` (ctest `wsk.differential`) from "
                    "runs of the conformance suite over xwsk's WSK backend on each provider: under "
                    "Wine 8 in the kernel test driver, and natively over umwsk, once with Wine's "
                    "provider profile (the backend then asks umwsk exactly what it asks Wine: "
                    "these traces are compared) and once as it ships (every capability). A trace "
                    "is the "
                    "final status of every request a case waited for, in order (the low 16 bits "
                    "of each NTSTATUS in hex: `0` success, `120` cancelled, `236` connection "
                    "refused, `238` address already associated...), with their count `n` and a "
                    "hash `h` over the full values. Cases that pass on both providers must have "
                    "equal traces, or be explained (with the WSK reference that decides them) in "
                    "`tests/umwsk/differential-explained.txt`.\n\n")
            f.write(f"{len(rows)} cases; {both} run on both providers, {same} with the same "
                    f"statuses, {differ_explained} explained differences, {len(problems)} "
                    f"unexplained.\n\n")
            f.write("| case | Wine 8 netio.sys | umwsk, Wine's profile | umwsk | verdict |\n"
                    "|---|---|---|---|---|\n")
            for name, w, u, v, verdict in rows:
                def cell(r):
                    if r[0] == "PASSED":
                        return "pass: `" + (r[2] or "n=0") + "`"
                    if r[0] == "SKIPPED":
                        reason = r[1]
                        m = re.match(r"(?:xwsk::)?(kCap\w+)", reason)
                        return "skip" + (f" ({m.group(1)})" if m else "")
                    return r[0].lower()
                f.write(f"| {name} | {cell(w)} | {cell(v)} | {cell(u)} | {verdict} |\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
