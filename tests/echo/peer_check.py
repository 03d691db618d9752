#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks an xwsk-echo server against peers no one here wrote.

    peer_check.py --binary build/bin/xwsk-echo-posix --peer python --bytes 100M
    peer_check.py --binary ... --peer socat --bytes 8M
    peer_check.py --binary ... --peer nc --bytes 8M
    peer_check.py --binary ... --peer hostile
    peer_check.py --driver-host build/bin/xwsk-driver-host --binary xwsk_wsk_echo.so --peer python

For each address family (IPv4 on 127.0.0.1, IPv6 on ::1) it starts `BINARY server --bind
HOST:0`, reads the address it serves on, runs the checks, stops it with SIGTERM and requires a
clean exit (status 0, a summary).

  python   TCP: one connection, BYTES random bytes sent by one thread while another receives;
           sha256 of what was sent must equal sha256 of what came back, then the server's FIN.
           UDP: BYTES of payload as 1200-byte datagrams (12-byte header: sequence number and
           CRC-32 of the payload), at most --window outstanding; every echo must equal the
           datagram with its sequence number; sha256 over the payloads in sequence order.
  socat    TCP: BYTES through `socat - TCP:HOST:PORT`, sha256 of stdin vs stdout.
  nc       TCP: the same through OpenBSD `nc -N`.
  hostile  resets, half-close with data pending, a stalled reader, many concurrent senders,
           connect-and-close, a UDP burst nobody reads, a 65507-byte datagram; then a normal
           echo must still work and the server must still stop cleanly.

The listener checks start their own server (one run, not per family; BYTES each, TCP and UDP):
  multibind  `--bind 127.0.0.1:0 --bind 127.0.0.2:0 [--bind [::1]:0]`: one listener per
             address, each served; the summary counts a connection on each.
  dualstack  `--bind [::]:0 --dual-stack`: IPv4 clients (127.0.0.1) and IPv6 clients (::1)
             served on the one port (needs IPv6, else exit 77).
  v6only     `--bind [::]:0`: IPv6-only, as in WSK: ::1 is served, a TCP connect to
             127.0.0.1 on that port is refused (needs IPv6, else exit 77).

With --driver-host, BINARY is a WSK driver module (samples/wsk-echo) run by that host: it serves
TCP only, on a dual-stack listener whose port it prints ("wsk_echo: serving [::]:PORT"); the UDP
checks are left out, and SIGTERM must unload it clean (the host's "unloaded clean").

Prints one line per check. Exit status: 0 all passed, 1 a check failed, 77 the peer tool is
not installed (ctest SKIP_RETURN_CODE).
"""
import argparse
import hashlib
import os
import re
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import xwsk_child  # noqa: E402
from xwsk_child import Failure  # noqa: E402

SKIP = 77


def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if not m:
        raise argparse.ArgumentTypeError(f"bad byte count {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


class DriverServer:
    """A WSK echo driver module run by xwsk-driver-host, as a child process."""

    def __init__(self, host_binary: str, driver: str, host: str):
        self.proc = subprocess.Popen([host_binary, driver], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        deadline = time.monotonic() + 30
        m = None
        while m is None and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"wsk_echo: serving (\S+):(\d+)", line)
        if m is None:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=10)
            raise Failure("driver did not start: " + "".join(self.lines) + (out or ""))
        self.address = f"{m.group(1)}:{m.group(2)}"
        self.host = host
        self.port = int(m.group(2))

    def stop(self) -> str:
        out, _ = xwsk_child.terminate(self.proc, "driver host")
        if self.proc.returncode != 0 or "unloaded clean" not in out:
            raise Failure(f"driver host exit status {self.proc.returncode} after SIGTERM: {out}")
        return "server: unloaded clean"

    def kill(self):
        xwsk_child.kill(self.proc)


class EchoServer:
    """xwsk-echo server as a child process."""

    def __init__(self, binary: str, host: str, binds=None, extra=()):
        """Serves on HOST:0, or on each of @p binds (one line each); self.lines: those lines."""
        binds = binds or [f"[{host}]:0" if ":" in host else f"{host}:0"]
        args = [a for b in binds for a in ("--bind", b)] + list(extra)
        self.proc, self.lines, self.addresses = xwsk_child.spawn_echo_server(
            binary, args, listeners=len(binds))
        self.address = self.addresses[0]
        self.host = host
        self.port = int(self.address.rsplit(":", 1)[1])

    def stop(self) -> str:
        out, err = xwsk_child.terminate(self.proc, "server")
        if self.proc.returncode != 0:
            raise Failure(f"server exit status {self.proc.returncode} after SIGTERM: {out}{err}")
        summary = [l for l in out.splitlines() if l.startswith("server:")]
        if not summary:
            raise Failure(f"no summary from the server: {out}{err}")
        return summary[0]

    def kill(self):
        xwsk_child.kill(self.proc)


def family_of(host: str):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def fam_name(host: str) -> str:
    return "IPv6" if ":" in host else "IPv4"


def mbps(n: int, secs: float) -> float:
    return n / 1e6 / secs if secs > 0 else 0.0


# ---- TCP ------------------------------------------------------------------------------------

def tcp_echo(host: str, port: int, nbytes: int, label: str = "python tcp", quiet=False,
             timeout=120.0) -> float:
    """Sends nbytes random bytes while receiving concurrently; compares sha256."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent_hash = hashlib.sha256()
    error = []
    block = 1 << 20

    def sender():
        try:
            left = nbytes
            while left:
                chunk = os.urandom(min(block, left))
                sent_hash.update(chunk)
                s.sendall(chunk)
                left -= len(chunk)
            s.shutdown(socket.SHUT_WR)  # FIN: the server finishes echoing, then closes
        except OSError as e:
            error.append(e)

    t0 = time.monotonic()
    th = threading.Thread(target=sender)
    th.start()
    got = 0
    recv_hash = hashlib.sha256()
    try:
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            recv_hash.update(data)
            got += len(data)
    except OSError as e:
        error.append(e)
    th.join()
    secs = time.monotonic() - t0
    s.close()
    if error:
        raise Failure(f"{label} {fam_name(host)}: socket error {error[0]!r} after {got} bytes")
    ok = got == nbytes and sent_hash.digest() == recv_hash.digest()
    line = (f"{label} {fam_name(host)} {host}:{port}: {nbytes} bytes sent, {got} received in "
            f"{secs:.2f} s ({mbps(got, secs):.1f} MB/s), sha256 sent {sent_hash.hexdigest()[:16]} "
            f"received {recv_hash.hexdigest()[:16]}: {'OK' if ok else 'MISMATCH'}")
    if not quiet or not ok:
        print(line, flush=True)
    if not ok:
        raise Failure(line)
    return secs


# ---- UDP ------------------------------------------------------------------------------------

HDR = struct.Struct("<QI")  # sequence number, crc32(payload)


def udp_echo(host: str, port: int, nbytes: int, size: int = 1200, window: int = 64,
             rto: float = 0.5, max_tries: int = 10, timeout: float = 240.0):
    payload = size - HDR.size
    count = (nbytes + payload - 1) // payload
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((host, port))
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    rng = os.urandom(min(nbytes, 8 << 20))  # payloads are slices of a random pool (offset by seq)

    def make(seq):
        n = payload if seq + 1 < count else nbytes - payload * (count - 1)
        off = (seq * 7919) % max(1, len(rng) - n) if len(rng) > n else 0
        body = rng[off:off + n]
        if len(body) < n:
            body = (body * (n // max(1, len(body)) + 1))[:n]
        return HDR.pack(seq, zlib.crc32(body)) + body

    sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
    outstanding = {}  # seq -> [datagram, sent_at, tries]
    done_bodies = {}  # out-of-order echoes waiting for their turn in the hash
    next_send = next_hash = 0
    echoed = retransmits = duplicates = corrupt = lost = 0
    t0 = time.monotonic()
    deadline = t0 + timeout
    while next_hash < count:
        now = time.monotonic()
        if now > deadline:
            raise Failure(f"python udp {fam_name(host)}: timed out, {echoed}/{count} echoed")
        while len(outstanding) < window and next_send < count:
            d = make(next_send)
            sent_hash.update(d[HDR.size:])
            try:
                s.send(d)
            except BlockingIOError:
                pass  # the timer resends it
            outstanding[next_send] = [d, now, 1]
            next_send += 1
        for _key, _ev in sel.select(timeout=0.05):
            while True:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    break
                if len(d) < HDR.size:
                    corrupt += 1
                    continue
                seq, crc = HDR.unpack_from(d)
                entry = outstanding.get(seq)
                if entry is None:
                    duplicates += 1
                    continue
                if d != entry[0] or zlib.crc32(d[HDR.size:]) != crc:
                    corrupt += 1
                    continue
                del outstanding[seq]
                echoed += 1
                done_bodies[seq] = d[HDR.size:]
                while next_hash in done_bodies:
                    recv_hash.update(done_bodies.pop(next_hash))
                    next_hash += 1
        now = time.monotonic()
        for seq, entry in list(outstanding.items()):
            if now - entry[1] > rto:
                if entry[2] >= max_tries:
                    lost += 1
                    del outstanding[seq]
                    raise Failure(f"python udp {fam_name(host)}: datagram {seq} lost after "
                                  f"{max_tries} tries")
                retransmits += 1
                entry[1], entry[2] = now, entry[2] + 1
                try:
                    s.send(entry[0])
                except BlockingIOError:
                    pass
    secs = time.monotonic() - t0
    s.close()
    got = nbytes if echoed == count else 0
    ok = echoed == count and corrupt == 0 and sent_hash.digest() == recv_hash.digest()
    line = (f"python udp {fam_name(host)} {host}:{port}: {nbytes} bytes in {count} datagrams of "
            f"{size} bytes, {echoed} echoed in {secs:.2f} s ({mbps(got, secs):.1f} MB/s); "
            f"window {window}, retransmits {retransmits}, duplicates {duplicates}, "
            f"corrupt {corrupt}, lost {lost}; sha256 sent {sent_hash.hexdigest()[:16]} "
            f"received {recv_hash.hexdigest()[:16]}: {'OK' if ok else 'MISMATCH'}")
    print(line, flush=True)
    if not ok:
        raise Failure(line)


# ---- socat / nc ------------------------------------------------------------------------------

def tool_echo(tool: str, host: str, port: int, nbytes: int):
    exe = shutil.which("socat" if tool == "socat" else "nc")
    if exe is None:
        print(f"{tool}: not installed (apt-get install socat netcat-openbsd): SKIP")
        sys.exit(SKIP)
    if tool == "socat":
        target = f"TCP6:[{host}]:{port}" if ":" in host else f"TCP4:{host}:{port}"
        cmd = [exe, "-t", "30", "-T", "60", "-", target]
    else:
        cmd = [exe, "-N", "-w", "60"] + (["-6"] if ":" in host else ["-4"]) + [host, str(port)]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        h_in = hashlib.sha256()
        with open(src, "wb") as f:
            left = nbytes
            while left:
                chunk = os.urandom(min(1 << 20, left))
                h_in.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        t0 = time.monotonic()
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, timeout=120)
        secs = time.monotonic() - t0
        h_out = hashlib.sha256()
        with open(dst, "rb") as f:
            data = f.read()
        h_out.update(data)
    ok = p.returncode == 0 and len(data) == nbytes and h_in.digest() == h_out.digest()
    line = (f"{tool} tcp {fam_name(host)} {host}:{port}: {nbytes} bytes sent, {len(data)} "
            f"received in {secs:.2f} s ({mbps(len(data), secs):.1f} MB/s), sha256 sent "
            f"{h_in.hexdigest()[:16]} received {h_out.hexdigest()[:16]}, {tool} exit "
            f"{p.returncode}: {'OK' if ok else 'MISMATCH'}")
    print(line, flush=True)
    if not ok:
        raise Failure(line + " " + p.stderr.decode(errors="replace"))


# ---- hostile peers ---------------------------------------------------------------------------

def sysctl_max(name, default=8 << 20):
    """The last (maximum) value of a /proc/sys triple such as net/ipv4/tcp_rmem."""
    try:
        with open(f"/proc/sys/{name}") as f:
            return int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return default


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0


def hostile(srv: EchoServer):
    host, port = srv.host, srv.port
    fam = family_of(host)
    name = fam_name(host)
    rss0 = rss_kb(srv.proc.pid)

    # 1. Resets: send, then close with SO_LINGER 0 (RST) while the echo is in flight.
    for _ in range(20):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(os.urandom(100_000))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(f"hostile {name}: 20 connections reset (RST) with echo data in flight", flush=True)

    # 2. Connect and close at once, with and without a FIN.
    for i in range(100):
        s = socket.create_connection((host, port), timeout=10)
        if i % 2:
            s.shutdown(socket.SHUT_WR)
            if s.recv(1) != b"":
                raise Failure("data from the server on an empty connection")
        s.close()
    print(f"hostile {name}: 100 connect-and-close (half with FIN, waiting for the server's FIN)",
          flush=True)

    # 3. Half-close with data pending: 2 MB then FIN at once; all of it must come back, then FIN.
    s = socket.create_connection((host, port), timeout=30)
    data = os.urandom(2 << 20)
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    back = bytearray()
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        back += b
    t.join()
    s.close()
    if bytes(back) != data:
        raise Failure(f"half-close: {len(back)} of {len(data)} bytes came back intact")
    print(f"hostile {name}: half-close with 2 MB pending: all echoed, then the server's FIN",
          flush=True)

    # 4. A reader that stalls: the server must stop reading (backpressure), not buffer without
    #    bound; then reading resumes and everything must match.
    s = socket.create_connection((host, port), timeout=30)
    # The kernel alone may hold a lot while nobody reads: the server's receive buffer can
    # autotune up to tcp_rmem's maximum (32 MiB on some hosts) and both send buffers up to
    # tcp_wmem's. Pin this side's receive buffer and send more than all of that can hold, so
    # "accepted everything" can only mean the server read without bound.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 10)
    kernel_bound = 2 * sysctl_max("net/ipv4/tcp_wmem") + sysctl_max("net/ipv4/tcp_rmem") + (1 << 20)
    s.setblocking(False)
    total = max(32 << 20, kernel_bound + (8 << 20))
    src = os.urandom(1 << 20)
    src2 = src * 2
    sent = 0
    stall_until = time.monotonic() + 1.0
    while time.monotonic() < stall_until and sent < total:
        try:
            n = s.send(src[sent % len(src):])
            sent += n
        except BlockingIOError:
            time.sleep(0.01)
    accepted_while_stalled = sent
    rss_stalled = rss_kb(srv.proc.pid)
    s.setblocking(True)
    s.settimeout(60)
    got = 0
    mismatch = False
    sender_error = []

    def rest():
        nonlocal sent
        try:
            while sent < total:
                n = s.send(src[sent % len(src):][: total - sent])
                sent += n
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            sender_error.append(e)

    t = threading.Thread(target=rest)
    t.start()
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        if b != src2[got % len(src): got % len(src) + len(b)]:
            mismatch = True
        got += len(b)
        time.sleep(0.002)  # a slow reader
    t.join()
    s.close()
    if sender_error or mismatch or got != total:
        raise Failure(f"stalled reader: got {got} of {total}, mismatch={mismatch}, "
                      f"errors={sender_error}")
    if accepted_while_stalled >= total:
        raise Failure("stalled reader: the server kept reading without bound")
    print(f"hostile {name}: stalled reader: the server took {accepted_while_stalled} bytes while "
          f"nothing was read (socket buffers + its fixed buffer; RSS {rss0} -> {rss_stalled} kB), "
          f"then echoed all {total} bytes to a slow reader", flush=True)

    # 5. Many concurrent senders (a flood over 64 connections).
    errors = []

    def one(i):
        try:
            tcp_echo(host, port, 1 << 20, label=f"flood#{i}", quiet=True, timeout=60)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ths = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        raise Failure(f"flood: {errors[0]}")
    print(f"hostile {name}: 64 concurrent connections x 1 MB echoed and checked in "
          f"{time.monotonic() - t0:.2f} s", flush=True)

    # 6. A UDP burst nobody reads back (some may be dropped), then one maximal datagram.
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.connect((host, port))
    for i in range(5000):
        try:
            u.send(os.urandom(1400))
        except OSError:
            pass
    u.close()
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    u.connect((host, port))
    u.settimeout(1.0)
    big = os.urandom(65507 if fam == socket.AF_INET else 65487)
    for attempt in range(5):
        u.send(big)
        try:
            while True:
                d = u.recv(70000)
                if d == big:
                    break
        except socket.timeout:
            continue
        break
    else:
        raise Failure(f"a {len(big)}-byte datagram did not come back")
    u.close()
    print(f"hostile {name}: a 5000-datagram burst nobody read, then a {len(big)}-byte datagram "
          f"echoed intact", flush=True)

    # 7. Still serving normally afterwards.
    tcp_echo(host, port, 4 << 20, label="after-hostile tcp")
    udp_echo(host, port, 1 << 20)
    print(f"hostile {name}: server RSS {rss0} kB at start, {rss_kb(srv.proc.pid)} kB at the end",
          flush=True)


# ---- main -----------------------------------------------------------------------------------

# ---- listeners: several --bind, --dual-stack, IPv6-only ----------------------------------------

def split_address(address: str):
    """"127.0.0.1:80" / "[::1]:80" -> (host, port)."""
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)


def connections_in(summary: str) -> int:
    m = re.search(r"server: (\d+) connections", summary)
    if not m:
        raise Failure(f"no connection count in the summary: {summary}")
    return int(m.group(1))


def listeners(binary: str, mode: str, nbytes: int) -> bool:
    v6 = ipv6_available()
    if mode in ("dualstack", "v6only") and not v6:
        print(f"{mode}: no ::1 on this host: SKIP")
        sys.exit(SKIP)
    srv = None
    try:
        if mode == "multibind":
            binds = ["127.0.0.1:0", "127.0.0.2:0"] + (["[::1]:0"] if v6 else [])
            srv = EchoServer(binary, "127.0.0.1", binds=binds)
            print("\n".join(srv.lines), flush=True)
            for address in srv.addresses:
                host, port = split_address(address)
                tcp_echo(host, port, nbytes)
                udp_echo(host, port, min(nbytes, 1 << 20))
            expect = len(binds)
        elif mode == "dualstack":
            srv = EchoServer(binary, "::", binds=["[::]:0"], extra=["--dual-stack"])
            print(srv.lines[0], flush=True)
            if "dual-stack" not in srv.lines[0]:
                raise Failure(f"the server does not say it is dual-stack: {srv.lines[0]}")
            for host in ("127.0.0.1", "::1"):  # an IPv4 client first: the point of --dual-stack
                tcp_echo(host, srv.port, nbytes)
                udp_echo(host, srv.port, min(nbytes, 1 << 20))
            expect = 2
        else:  # v6only
            srv = EchoServer(binary, "::", binds=["[::]:0"])
            print(srv.lines[0], flush=True)
            tcp_echo("::1", srv.port, min(nbytes, 1 << 20))  # it serves, on this port
            try:
                socket.create_connection(("127.0.0.1", srv.port), timeout=10).close()
                raise Failure(f"an IPv4 client connected to 127.0.0.1:{srv.port}, though "
                              f"[::]:{srv.port} was bound without --dual-stack")
            except ConnectionRefusedError:
                print(f"IPv4 127.0.0.1:{srv.port}: connection refused (IPv6-only): OK",
                      flush=True)
            expect = 1
        summary = srv.stop()
        srv = None
        print(summary, flush=True)
        if connections_in(summary) != expect:
            raise Failure(f"the server counted {connections_in(summary)} connections, "
                          f"expected {expect}")
        return True
    except (Failure, OSError, subprocess.TimeoutExpired) as e:
        print(f"FAIL {mode}: {e}", flush=True)
        return False
    finally:
        if srv is not None:
            srv.kill()


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--peer", required=True, choices=["python", "socat", "nc", "hostile",
                                                      "multibind", "dualstack", "v6only"])
    ap.add_argument("--bytes", type=parse_bytes, default=parse_bytes("100M"))
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--families", default="4,6")
    ap.add_argument("--driver-host", help="run BINARY, a WSK driver module, in this host")
    a = ap.parse_args()
    if a.peer in ("socat", "nc") and shutil.which("socat" if a.peer == "socat" else "nc") is None:
        print(f"{a.peer}: not installed (apt-get install socat netcat-openbsd): SKIP")
        return SKIP
    if a.peer in ("multibind", "dualstack", "v6only"):
        ok = listeners(a.binary, a.peer, a.bytes)
        print("peer check:", "OK" if ok else "FAILED")
        return 0 if ok else 1
    hosts = []
    if "4" in a.families.split(","):
        hosts.append("127.0.0.1")
    if "6" in a.families.split(","):
        if ipv6_available():
            hosts.append("::1")
        else:
            print("IPv6: no ::1 on this host: not checked")
    failed = False
    for host in hosts:
        srv = None
        try:
            if a.driver_host:
                srv = DriverServer(a.driver_host, a.binary, host)
            else:
                srv = EchoServer(a.binary, host)
            print(f"server {os.path.basename(a.binary)} on {srv.address}", flush=True)
            if a.peer == "python":
                tcp_echo(host, srv.port, a.bytes)
                if not a.driver_host:
                    udp_echo(host, srv.port, a.bytes, window=a.window)
            elif a.peer in ("socat", "nc"):
                tool_echo(a.peer, host, srv.port, a.bytes)
            else:
                hostile(srv)
            print(srv.stop(), flush=True)
            srv = None
        except (Failure, OSError, subprocess.TimeoutExpired) as e:
            print(f"FAIL {fam_name(host)}: {e}", flush=True)
            failed = True
        finally:
            if srv is not None:
                srv.kill()
    print("peer check:", "FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
