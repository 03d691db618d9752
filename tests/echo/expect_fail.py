#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a command that must fail cleanly: a non-zero exit status (not a signal, not an abort),
and a message on stdout or stderr matching --regex (case-insensitive).

    expect_fail.py --regex=REGEX -- COMMAND [ARGS...]
"""
import argparse
import re
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regex", required=True)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not cmd:
        print("expect_fail.py: no command", file=sys.stderr)
        return 2
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    except subprocess.TimeoutExpired:
        print(f"FAIL: {cmd} did not finish within {a.timeout} s")
        return 1
    out = (p.stdout or "") + (p.stderr or "")
    print(f"exit status {p.returncode}; output:\n{out.rstrip()}")
    if p.returncode < 0:
        print(f"FAIL: killed by signal {-p.returncode} (a crash)")
        return 1
    if p.returncode == 0:
        print("FAIL: exit status 0 for an invalid command line")
        return 1
    if p.returncode in (70, 134, 139):
        print(f"FAIL: exit status {p.returncode} looks like an internal failure, not a usage error")
        return 1
    if not re.search(a.regex, out, re.IGNORECASE):
        print(f"FAIL: no message matching /{a.regex}/")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
