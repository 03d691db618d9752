#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fault tests of the xwsk echo server (ctest label `fault`), loopback only, bounded in count
and time. Each asserts behaviour (served, recovered, memory bounded), never speed.

  fds       the server runs with RLIMIT_NOFILE 64; 200 clients connect at once and each waits
            for its echo, then leaves. Every client must be served (posix: on its first
            connection; uv: libuv closes the connections it cannot accept, so a client whose
            connection was closed unanswered connects again), and the listen queue must be
            empty at the end. Then the server must still serve a new round at once.
  udpflood  a separate process floods the server's UDP echo for a bounded time while this one
            makes 50 TCP connections, each with an echo. Every connection and echo must
            complete within a generous bound, and the flood's datagrams are counted (some must
            have been echoed, so the flood really ran against a serving loop).
  rss       rounds of 2,000 concurrent connections (each echoes 8 KiB, then all close) against one
            server; the server's RSS (/proc/<pid>/statm) after each round must stay within 10%
            of its RSS after the first round.

Exit status: 0 pass, 1 fail, 77 skip (with the reason printed).
"""

import argparse
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import xwsk_child  # noqa: E402
from xwsk_child import Failure  # noqa: E402

SKIP = 77


class Skip(Exception):
    pass


class Server:
    """xwsk-echo server as a child process, optionally with a descriptor limit."""

    def __init__(self, binary, nofile=None, extra=()):
        def limit():
            if nofile is not None:
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                want = nofile if hard == resource.RLIM_INFINITY else min(nofile, hard)
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

        self.proc, _, addresses = xwsk_child.spawn_echo_server(
            binary, ["--bind", "127.0.0.1:0", *extra], preexec_fn=limit)
        self.port = int(addresses[0].rsplit(":", 1)[1])

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024

    def stop(self):
        """SIGTERM; returns (summary line, stderr)."""
        out, err = xwsk_child.terminate(self.proc, "server")
        if self.proc.returncode != 0:
            raise Failure(f"server exit status {self.proc.returncode}: {out}{err}")
        summary = [l for l in out.splitlines() if l.startswith("server:")]
        return (summary[0] if summary else ""), err

    def kill(self):
        xwsk_child.kill(self.proc)


def raise_own_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise Skip(f"needs {need} descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def listen_queue(port):
    """Connections waiting in the listen queue of 127.0.0.1:port (Recv-Q of the LISTEN row in
    /proc/net/tcp), or None when the row is not found."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local, state, queues = cols[1], cols[3], cols[4]
            if state == "0A" and local == f"0100007F:{port:04X}":
                return int(queues.split(":")[1], 16)
    return None


def server_connections(port):
    """Server-side connections of 127.0.0.1:port the server has not closed yet."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1] == f"0100007F:{port:04X}" and cols[3] in ("01", "08"):
                n += 1
    return n


def expect_echo(s, msg, what):
    """Reads the echo of MSG from the blocking socket S; raises Failure naming WHAT when the
    connection closes first or the echo differs."""
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(len(msg) - len(got))
        if not chunk:
            raise Failure(f"{what}: closed before its echo")
        got += chunk
    if got != msg:
        raise Failure(f"{what}: wrong echo")


def serve_clients(port, count, deadline, allow_retry):
    """`count` clients connect at once; each sends its message, waits for the echo, and leaves.
    A client whose connection is closed before its echo connects again when allow_retry, else
    that is a failure. Returns (served, retries)."""
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> [client id, message, bytes received]
    retries = 0

    def start(cid):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        msg = f"client-{cid:04d}-".encode() * 8
        pending[s] = [cid, msg, b"", False]
        sel.register(s, selectors.EVENT_WRITE)

    for cid in range(count):
        start(cid)
    served = set()
    while pending:
        if time.monotonic() > deadline:
            raise Failure(f"{len(served)} of {count} clients served before the deadline; "
                          f"{len(pending)} still waiting ({retries} reconnections)")
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            st = pending[s]
            cid, msg = st[0], st[1]
            closed = False
            if not st[3]:
                try:
                    s.send(msg)
                    st[3] = True
                    sel.modify(s, selectors.EVENT_READ)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    closed = True
            else:
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    st[2] += data
                    if len(st[2]) < len(msg):
                        continue
                    if st[2] != msg:
                        raise Failure(f"client {cid}: wrong echo")
                    served.add(cid)
                    sel.unregister(s)
                    del pending[s]
                    s.close()
                    continue
                closed = True
            if closed:
                sel.unregister(s)
                del pending[s]
                s.close()
                if not allow_retry:
                    raise Failure(f"client {cid}: connection closed before its echo")
                retries += 1
                start(cid)
    sel.close()
    return len(served), retries


def check_fds(a):
    family = "uv" if "uv" in os.path.basename(a.binary) else "posix"
    srv = Server(a.binary, nofile=64)
    try:
        deadline = time.monotonic() + 60
        served, retries = serve_clients(srv.port, 200, deadline, allow_retry=family == "uv")
        # The queue drains as the server accepts; give it a moment, then it must be empty.
        q = listen_queue(srv.port)
        for _ in range(20):
            if q == 0:
                break
            time.sleep(0.05)
            q = listen_queue(srv.port)
        if q is None:
            raise Failure("listen socket not found in /proc/net/tcp")
        if q != 0:
            raise Failure(f"{q} connections left in the listen queue")
        # Still serving: a second round, after every client of the first left.
        served2, retries2 = serve_clients(srv.port, 40, time.monotonic() + 30,
                                          allow_retry=family == "uv")
        summary, err = srv.stop()
    finally:
        srv.kill()
    print(f"fds: 200 clients against RLIMIT_NOFILE 64: {served} served, {retries} reconnections; "
          f"then {served2} of 40 served, {retries2} reconnections; listen queue empty")
    print(f"fds: {summary}")
    for line in err.splitlines()[:8]:
        print(f"fds: server said: {line}")


def flood(a):
    """Helper process: floods 127.0.0.1:port with UDP datagrams for a.seconds, reading echoes
    back without blocking; prints 'flood: sent N echoed M'."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    u.connect(("127.0.0.1", a.port))
    u.setblocking(False)
    payload = b"f" * 256
    sent = echoed = 0
    end = time.monotonic() + a.seconds
    stop_file = a.stop_file
    while time.monotonic() < end:
        for _ in range(256):
            try:
                u.send(payload)
                sent += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
        while True:
            try:
                u.recv(2048)
                echoed += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
        if stop_file and os.path.exists(stop_file):
            break
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        try:
            u.recv(2048)
            echoed += 1
        except (BlockingIOError, ConnectionRefusedError):
            time.sleep(0.01)
    print(f"flood: sent {sent} echoed {echoed}", flush=True)


def check_udpflood(a):
    import tempfile
    srv = Server(a.binary)
    stop_dir = tempfile.mkdtemp(prefix="xwsk-flood-")
    stop_file = os.path.join(stop_dir, "stop")
    flooder = None
    try:
        flooder = subprocess.Popen([sys.executable, __file__, "flood", "--port", str(srv.port),
                                    "--seconds", "20", "--stop-file", stop_file],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the flood is running
        start = time.monotonic()
        bound = 30.0  # generous: behaviour, not speed
        for i in range(50):
            if time.monotonic() - start > bound:
                raise Failure(f"only {i} of 50 TCP connections done within {bound:.0f} s")
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=bound)
            msg = os.urandom(1024)
            s.sendall(msg)
            expect_echo(s, msg, f"connection {i}")
            s.close()
        took = time.monotonic() - start
        open(stop_file, "w").close()
        out, _ = flooder.communicate(timeout=30)
        m = re.search(r"flood: sent (\d+) echoed (\d+)", out)
        if not m:
            raise Failure(f"no flood report: {out}")
        sent, echoed = int(m.group(1)), int(m.group(2))
        if sent == 0 or echoed == 0:
            raise Failure(f"the flood did not run against a serving loop: sent {sent}, "
                          f"echoed {echoed}")
        summary, _ = srv.stop()
    finally:
        if flooder is not None and flooder.poll() is None:
            flooder.kill()
            flooder.communicate()
        srv.kill()
        try:
            os.unlink(stop_file)
        except OSError:
            pass
        os.rmdir(stop_dir)
    print(f"udpflood: 50 TCP connections with 1 KiB echoes completed in {took:.2f} s during a "
          f"UDP flood of {sent} datagrams ({echoed} echoed back)")
    print(f"udpflood: {summary}")


def check_rss(a):
    conns, rounds = a.connections, a.rounds
    raise_own_limit(conns + 64)
    srv = Server(a.binary, nofile=conns + 128, extra=("--max-connections", str(conns)))
    rss = []
    payload = b"x" * 8192  # touches the connection's buffers, as real traffic would
    try:
        for r in range(rounds):
            socks = []
            for _ in range(conns):
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=30))
            for s in socks:
                s.sendall(payload)
            for i, s in enumerate(socks):
                expect_echo(s, payload, f"round {r}: connection {i}")
            for s in socks:
                s.close()
            # Measure once the server closed every connection of the round (none of its
            # sockets on the port is ESTABLISHED or CLOSE_WAIT any more).
            deadline = time.monotonic() + 30
            while server_connections(srv.port) != 0:
                if time.monotonic() > deadline:
                    raise Failure(f"round {r}: the server did not close its connections")
                time.sleep(0.05)
            time.sleep(0.7)  # the server gives memory back at its next 200 ms ticks
            rss.append(srv.rss_kib())
        summary, _ = srv.stop()
    finally:
        srv.kill()
    print(f"rss: {rounds} rounds of {conns} connections; server RSS after each round (KiB): "
          + ", ".join(str(x) for x in rss))
    print(f"rss: {summary}")
    limit = rss[0] * 1.10
    worst = max(rss[1:])
    if worst > limit:
        raise Failure(f"RSS grew to {worst} KiB, more than 10% over the first round's {rss[0]} KiB")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("fds", "udpflood", "rss"):
        s = sub.add_parser(name)
        s.add_argument("--binary", required=True)
        if name == "rss":
            s.add_argument("--connections", type=int, default=2000)
            s.add_argument("--rounds", type=int, default=5)
    f = sub.add_parser("flood")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--seconds", type=float, default=10)
    f.add_argument("--stop-file", default="")
    a = p.parse_args()
    try:
        {"fds": check_fds, "udpflood": check_udpflood, "rss": check_rss, "flood": flood}[a.cmd](a)
    except Skip as e:
        print(f"XWSK-SKIP fault.{a.cmd}: {e}")
        return SKIP
    except Failure as e:
        print(f"FAIL fault.{a.cmd}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
