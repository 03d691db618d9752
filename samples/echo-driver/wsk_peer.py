#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Linux-side peers for the echo server driver (xwsk_echo.sys under Wine), TCP over IPv4.

    wsk_peer.py wait   --port P [--timeout S]   until 127.0.0.1:P accepts a connection
    wsk_peer.py python --port P [--bytes N]     Python socket client (default 10 MiB)
    wsk_peer.py socat  --port P [--bytes N]     socat - TCP4:127.0.0.1:P   (default 1 MiB)
    wsk_peer.py nc     --port P [--bytes N]     OpenBSD nc -N 127.0.0.1 P  (default 1 MiB)

python: N random bytes (os.urandom) sent by one thread while the main thread receives
(concurrent send/receive, so the server's backpressure cannot deadlock the peer), then
shutdown(SHUT_WR); the server must send everything back and close (FIN). sha256 of what came
back must equal sha256 of what was sent. socat/nc: the same through the tool's stdin/stdout.

Prints one line per check. Exit status: 0 OK, 1 mismatch/error/timeout, 77 tool not installed.
"""
import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
SKIP = 77


def mbps(nbytes, secs):
    return nbytes / (1 << 20) / secs if secs > 0 else 0.0


def wait_ready(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return 0
        except OSError:
            time.sleep(0.2)
    print(f"wsk echo driver: 127.0.0.1:{port} did not accept connections within {timeout:.0f} s")
    return 1


def python_peer(port, nbytes, timeout):
    data = os.urandom(nbytes)
    sent_hash = hashlib.sha256(data).hexdigest()
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.settimeout(timeout)
    send_error = []

    def sender():
        try:
            view = memoryview(data)
            for off in range(0, nbytes, 64 * 1024):
                s.sendall(view[off:off + 64 * 1024])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            send_error.append(e)

    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = hashlib.sha256()
    received = 0
    error = None
    try:
        while True:
            chunk = s.recv(256 * 1024)
            if not chunk:
                break
            got.update(chunk)
            received += len(chunk)
    except OSError as e:
        error = e
    secs = time.monotonic() - t0
    th.join(timeout)
    s.close()
    ok = error is None and not send_error and received == nbytes and got.hexdigest() == sent_hash
    status = "OK" if ok else "MISMATCH"
    print(f"wsk echo driver: {received} bytes echoed, sha256 {got.hexdigest()} "
          f"(sent {nbytes}, sha256 {sent_hash}) {status} ({mbps(received, secs):.1f} MB/s, "
          f"{secs:.2f} s)", flush=True)
    if error or send_error:
        print(f"wsk echo driver: python peer error: {error or send_error[0]}", flush=True)
    return 0 if ok else 1


def tool_peer(tool, port, nbytes, timeout):
    exe = shutil.which("socat" if tool == "socat" else "nc")
    if exe is None:
        print(f"wsk echo driver: {tool}: not installed: SKIP", flush=True)
        return SKIP
    if tool == "socat":
        cmd = [exe, "-t", "10", "-T", str(int(timeout)), "-", f"TCP4:{HOST}:{port}"]
    else:
        cmd = [exe, "-N", "-4", "-w", str(int(timeout)), HOST, str(port)]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        payload = os.urandom(nbytes)
        with open(src, "wb") as f:
            f.write(payload)
        t0 = time.monotonic()
        try:
            with open(src, "rb") as fin, open(dst, "wb") as fout:
                p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE,
                                   timeout=timeout)
            rc, err = p.returncode, p.stderr.decode(errors="replace").strip()
        except subprocess.TimeoutExpired:
            rc, err = "timeout", f"{tool} did not finish within {timeout:.0f} s"
        secs = time.monotonic() - t0
        with open(dst, "rb") as f:
            back = f.read()
    h_in, h_out = hashlib.sha256(payload).hexdigest(), hashlib.sha256(back).hexdigest()
    ok = rc == 0 and len(back) == nbytes and h_in == h_out
    print(f"wsk echo driver ({tool}): {len(back)} bytes echoed, sha256 {h_out} (sent {nbytes}, "
          f"sha256 {h_in}), {tool} exit {rc}: {'OK' if ok else 'MISMATCH'} "
          f"({mbps(len(back), secs):.1f} MB/s, {secs:.2f} s)", flush=True)
    if not ok and err:
        print(f"wsk echo driver ({tool}): {err}", flush=True)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["wait", "python", "socat", "nc"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bytes", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=40.0)
    a = ap.parse_args()
    if a.mode == "wait":
        return wait_ready(a.port, a.timeout)
    if a.mode == "python":
        return python_peer(a.port, a.bytes or 10 * 1024 * 1024, a.timeout)
    return tool_peer(a.mode, a.port, a.bytes or 1024 * 1024, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
