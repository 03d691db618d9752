#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak: many TCP connections against one xwsk-echo server, every byte checked.

    soak.py --binary build/bin/xwsk-echo-posix                  # 1,000 connections (CI)
    soak.py --binary build/bin/xwsk-echo-posix --connections 10000
    XWSK_SOAK_CONNECTIONS=10000 ctest --test-dir build -L soak   # the same through ctest

Starts `BINARY server --bind 127.0.0.1:0`, then runs CONNECTIONS connections, at most
--concurrency at a time, from one thread with non-blocking sockets. Each connection sends its own
payload (a seeded random length from 1 byte to --max-bytes, seeded random bytes) in chunks of
random sizes, half-closes, reads the echo until the server's FIN and compares length, CRC-32 and
SHA-256 of what came back with what was sent. Then it stops the server (SIGTERM) and requires a
clean exit whose summary counts every connection, none reset, none rejected, and exactly the
bytes sent in and out.

The whole run is bounded by --timeout seconds (default 300): a connection that stalls makes the
run fail with its number, what it sent and what it got back. Loopback only.
Exit status 0: every connection echoed every byte; 1: a check failed.
"""
import argparse
import hashlib
import os
import random
import re
import selectors
import socket
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "echo"))
from peer_check import EchoServer, Failure  # noqa: E402


class Conn:
    __slots__ = ("index", "sock", "payload", "sent", "chunks", "got", "crc", "sha", "fin_sent",
                 "started")

    def __init__(self, index: int, payload: bytes, chunk_seed: int):
        self.index = index
        self.payload = payload
        self.sent = 0
        rnd = random.Random(chunk_seed)
        self.chunks = [rnd.choice((1, 7, 512, 1460, 4096, 65536)) for _ in range(8)]
        self.got = 0
        self.crc = 0
        self.sha = hashlib.sha256()
        self.fin_sent = False
        self.sock = None
        self.started = time.monotonic()


def payload_for(seed: int, index: int, max_bytes: int) -> bytes:
    rnd = random.Random(seed * 1_000_003 + index)
    n = rnd.randint(1, max_bytes)
    return rnd.randbytes(n)


def run(host: str, port: int, args) -> tuple:
    sel = selectors.DefaultSelector()
    next_index = 0
    active = 0
    done = 0
    total = 0
    deadline = time.monotonic() + args.timeout
    conns = {}

    def start(index: int):
        nonlocal active
        c = Conn(index, payload_for(args.seed, index, args.max_bytes), args.seed + index)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((host, port))
        if err not in (0, 115):  # EINPROGRESS
            raise Failure(f"connection {index}: connect failed: {os.strerror(err)}")
        c.sock = s
        conns[s.fileno()] = c
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        active += 1

    def finish(c: Conn):
        nonlocal active, done, total
        sel.unregister(c.sock)
        del conns[c.sock.fileno()]
        c.sock.close()
        active -= 1
        done += 1
        total += len(c.payload)
        if c.got != len(c.payload):
            raise Failure(f"connection {c.index}: sent {len(c.payload)} bytes, "
                          f"{c.got} came back before the server's FIN")
        if c.crc != zlib.crc32(c.payload) or c.sha.digest() != hashlib.sha256(c.payload).digest():
            raise Failure(f"connection {c.index}: the echo of {len(c.payload)} bytes differs "
                          f"(crc32 {c.crc:08x}, sent {zlib.crc32(c.payload):08x})")

    while done < args.connections:
        while active < args.concurrency and next_index < args.connections:
            start(next_index)
            next_index += 1
        now = time.monotonic()
        if now > deadline:
            stuck = sorted(conns.values(), key=lambda c: c.index)[:5]
            detail = "; ".join(f"#{c.index}: sent {c.sent}/{len(c.payload)}, got {c.got}"
                               for c in stuck)
            raise Failure(f"timeout after {args.timeout} s: {done} of {args.connections} done, "
                          f"{active} open ({detail})")
        for key, mask in sel.select(timeout=1.0):
            c = key.data
            if mask & selectors.EVENT_WRITE and not c.fin_sent:
                if c.sent < len(c.payload):
                    size = c.chunks[c.sent % len(c.chunks)]
                    try:
                        n = c.sock.send(c.payload[c.sent:c.sent + size])
                        c.sent += n
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as e:
                        raise Failure(f"connection {c.index}: send: {e}")
                if c.sent == len(c.payload):
                    c.sock.shutdown(socket.SHUT_WR)
                    c.fin_sent = True
                    sel.modify(c.sock, selectors.EVENT_READ, c)
            if mask & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    raise Failure(f"connection {c.index}: receive after {c.got} bytes: {e}")
                if not data:
                    if not c.fin_sent:
                        raise Failure(f"connection {c.index}: the server closed after "
                                      f"{c.got} of {len(c.payload)} bytes, before our FIN")
                    finish(c)
                    continue
                if c.got + len(data) > len(c.payload) or \
                        data != c.payload[c.got:c.got + len(data)]:
                    raise Failure(f"connection {c.index}: wrong bytes at offset {c.got}")
                c.got += len(data)
                c.crc = zlib.crc32(data, c.crc)
                c.sha.update(data)
    sel.close()
    return done, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="xwsk-echo-<backend>")
    default_n = int(os.environ.get("XWSK_SOAK_CONNECTIONS", "1000"))
    ap.add_argument("--connections", type=int, default=default_n,
                    help="connections in all (default 1000, or $XWSK_SOAK_CONNECTIONS)")
    ap.add_argument("--concurrency", type=int, default=100, help="open at once (default 100)")
    ap.add_argument("--max-bytes", type=int, default=64 << 10,
                    help="largest payload per connection (default 64 KiB)")
    ap.add_argument("--timeout", type=float,
                    default=float(os.environ.get("XWSK_SOAK_TIMEOUT", "300")),
                    help="seconds for the whole run (default 300, or $XWSK_SOAK_TIMEOUT)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not 1 <= args.connections <= 1_000_000 or not 1 <= args.concurrency <= 1000:
        print("soak: --connections must be in 1..1000000 and --concurrency in 1..1000")
        return 2
    srv = EchoServer(args.binary, "127.0.0.1")
    try:
        t0 = time.monotonic()
        done, total = run(srv.host, srv.port, args)
        secs = time.monotonic() - t0
        summary = srv.stop()
    except Failure as e:
        srv.kill()
        print(f"soak: FAIL: {e}")
        return 1
    m = re.search(r"server: (\d+) connections \((\d+) graceful, (\d+) reset, (\d+) rejected.*"
                  r"tcp (\d+) bytes in / (\d+) out", summary)
    if not m:
        print(f"soak: FAIL: unexpected server summary: {summary}")
        return 1
    conns, graceful, reset, rejected, bytes_in, bytes_out = map(int, m.groups())
    print(summary)
    if conns != args.connections or reset != 0 or rejected != 0 or \
            bytes_in != total or bytes_out != total:
        print(f"soak: FAIL: the server counted {conns} connections ({reset} reset, {rejected} "
              f"rejected), {bytes_in} bytes in, {bytes_out} out; the client ran "
              f"{args.connections} connections with {total} bytes")
        return 1
    print(f"soak: OK: {done} connections, {total} bytes echoed and checked (CRC-32, SHA-256) "
          f"in {secs:.1f} s, at most {args.concurrency} at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
