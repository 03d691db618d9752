#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replays fuzz inputs many times while SIGALRM arrives every millisecond.

libFuzzer's -timeout timer sends SIGALRM to the process every timeout/2 + 1 seconds and installs
its handler without SA_RESTART, so a blocking system call of the harness that the signal lands
in fails with EINTR. A harness whose loopback connect gave up on EINTR (or closed the socket and
connected again: the first connection is established all the same and waits in the listener's
queue, so the pending accept takes it) failed now and then in CI, after thousands of inputs,
with "peer connect" or "bytes the peer sent did not all arrive". Here the signal comes every
millisecond instead of every 6 s, so such a harness fails within a few hundred inputs.

usage: signal_storm.py <fuzz target> <runs per input> <input>...
Exit status: the target's (0 when every run passed); 1 if it did not end within 120 s.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    exe, runs, inputs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # -timeout=10 installs libFuzzer's SIGALRM handler (without a handler the signal would kill).
    cmd = [exe, f"-runs={runs}", "-timeout=10", "-artifact_prefix=signal-storm-"] + inputs
    fd, path = tempfile.mkstemp(prefix="signal-storm-", suffix=".log")
    os.close(fd)
    try:
        with open(path, "ab") as out:  # appends: reading the file does not move the writer
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        # libFuzzer installs its handler before it runs the first input ("Running: <file>").
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            with open(path, "rb") as f:
                if b"Running: " in f.read():
                    break
            time.sleep(0.01)
        sent = 0
        # Bounded: at most 120 s in all, one signal per millisecond.
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                proc.send_signal(signal.SIGALRM)
                sent += 1
            except ProcessLookupError:
                break
            time.sleep(0.001)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            print("signal_storm: the target did not end within 120 s", file=sys.stderr)
            return 1
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
    finally:
        os.unlink(path)
    done = sum(1 for line in lines if line.startswith("Executed "))  # one line per input
    print(f"signal_storm: {sent} SIGALRM sent; {done} of {len(inputs)} inputs run {runs} times; "
          f"exit {proc.returncode}")
    if proc.returncode != 0:
        print("\n".join(line for line in lines if not line.startswith(("Running: ", "Executed "))))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
