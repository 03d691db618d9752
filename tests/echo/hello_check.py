#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs samples/hello (xwsk-hello-<backend>) against a peer written here with Python's socket
module, on loopback only.

    hello_check.py --binary build/bin/xwsk-hello-posix --case echo

  echo          a Python echo server on 127.0.0.1 (and on ::1 when the host has it): the hello
                must exit 0 and print the line it got back; the server must have received exactly
                "hello, xwsk\\n" followed by a FIN (the hello's graceful disconnect, not a reset).
                Run as `HOST PORT` with 127.0.0.1, with localhost (resolved by the hello) and
                with ::1.
  refused       nobody listens on the port: exit 1 and a refused connection reported.
  early-close   the server closes each connection at once: exit 1, the failure reported.
  silent        the server reads and never answers: the hello gives up after its 10 s, cancels
                by closing the socket, exits 1 (within 30 s).
  unknown-host  no-such-host.invalid (RFC 6761: never resolves): exit 1, STATUS_NOT_FOUND.

Exit status 0 when the case passed, 1 when it failed.
"""
import argparse
import socket
import subprocess
import sys
import threading
import time

LINE = b"hello, xwsk\n"


class Peer:
    """A TCP server on HOST:0 that handles every connection with @p mode in its own thread."""

    def __init__(self, host: str, mode: str):
        self.mode = mode
        self.received = []  # per connection: (bytes, "fin" | "reset" | "timeout")
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket):
        data, end = b"", "timeout"
        conn.settimeout(30)
        try:
            if self.mode == "early-close":
                return
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    end = "fin"
                    break
                data += chunk
                if self.mode == "echo":
                    conn.sendall(chunk)
        except ConnectionResetError:
            end = "reset"
        except OSError:
            pass
        finally:
            self.received.append((data, end))
            conn.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def run_hello(binary: str, host: str, port: int, timeout: float = 30.0):
    t0 = time.monotonic()
    p = subprocess.run([binary, host, str(port)], capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    print(f"$ {binary} {host} {port}  -> exit {p.returncode} in {time.monotonic() - t0:.1f} s")
    print("  " + out.rstrip().replace("\n", "\n  "))
    return p.returncode, out


def expect_failure(rc: int, out: str, needle: str) -> bool:
    if rc != 1:
        print(f"FAIL: exit status {rc}, expected 1 (a clean failure)")
        return False
    if needle not in out:
        print(f"FAIL: no '{needle}' in the output")
        return False
    return True


def case_echo(binary: str) -> bool:
    ok = True
    runs = [("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "localhost")]
    if ipv6_available():
        runs.append(("::1", "::1"))
    else:
        print("IPv6: no ::1 on this host: not checked")
    for listen, host in runs:
        peer = Peer(listen, "echo")
        try:
            rc, out = run_hello(binary, host, peer.port)
            deadline = time.monotonic() + 5
            while not peer.received and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            peer.close()
        if rc != 0 or "sent and received back: hello, xwsk" not in out:
            print(f"FAIL: {host}: exit status {rc}, or no echo reported")
            ok = False
        elif peer.received != [(LINE, "fin")]:
            print(f"FAIL: {host}: the peer saw {peer.received}, expected [({LINE!r}, 'fin')]")
            ok = False
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--case", required=True,
                    choices=["echo", "refused", "early-close", "silent", "unknown-host"])
    a = ap.parse_args()
    if a.case == "echo":
        ok = case_echo(a.binary)
    elif a.case == "refused":
        # A bound socket that does not listen holds the port: a connect to it is refused.
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            rc, out = run_hello(a.binary, "127.0.0.1", holder.getsockname()[1])
        ok = expect_failure(rc, out, "STATUS_CONNECTION_REFUSED")
    elif a.case == "unknown-host":
        rc, out = run_hello(a.binary, "no-such-host.invalid", 7000)
        ok = expect_failure(rc, out, "get_address_info: STATUS_NOT_FOUND")
    else:
        peer = Peer("127.0.0.1", a.case)
        try:
            rc, out = run_hello(a.binary, "127.0.0.1", peer.port)
        finally:
            peer.close()
        needle = "no completion within 10 s" if a.case == "silent" else "FAILED"
        ok = expect_failure(rc, out, needle)
    print("hello check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
