# SPDX-License-Identifier: MIT
"""Child processes of the Python test drivers (tests/echo/peer_check.py,
tests/fault/fault_check.py, tests/soak/soak.py through peer_check): start an xwsk-echo server
and read the addresses it serves, stop a child with SIGTERM within a bound, kill one that is
left. Every wait here is bounded."""

import re
import signal
import subprocess


class Failure(Exception):
    """A check failed (the drivers exit 1)."""


def spawn_echo_server(binary, args, listeners=1, preexec_fn=None):
    """Starts `BINARY server ARGS` and reads one "serving TCP and UDP echo on ADDRESS" line per
    listener. Returns (proc, lines, addresses); raises Failure if a line is something else."""
    proc = subprocess.Popen([binary, "server", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
    lines, addresses = [], []
    for _ in range(listeners):
        line = proc.stdout.readline()
        m = re.search(r"serving TCP and UDP echo on (\S+)", line)
        if not m:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            raise Failure(f"server did not start: {line}{out}{err}".strip())
        lines.append(line.strip())
        addresses.append(m.group(1))
    return proc, lines, addresses


def terminate(proc, what, timeout=30):
    """Stops the running child @p proc with SIGTERM and returns its (stdout, stderr) (None for a
    stream that is not piped). Raises Failure when it had exited before, or when it has not
    exited within @p timeout seconds (then it is killed)."""
    if proc.poll() is not None:
        out, err = proc.communicate()
        raise Failure(f"{what} exited early with status {proc.returncode}: {out or ''}{err or ''}")
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise Failure(f"{what} did not stop within {timeout} s of SIGTERM: {out or ''}{err or ''}")


def kill(proc):
    """Kills @p proc if it still runs, and reaps it."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
