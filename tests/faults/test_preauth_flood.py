#!/usr/bin/env python3
"""Pre-authentication flood (docs/security.md, "Before authentication").
While a legitimate sender ships a growing trail, the same address
(127.0.0.1, a configured one, so every connection gets past the address
check) opens 1,000 TCP connections that stall, and makes 1,000 attempts
with a wrong password (TLS, welcome, name, wrong HMAC). The receiver keeps
at most 16 unauthenticated connections per address and 256 in all, closing
the rest before any TLS work; a failed authentication holds its slot 1 s.
Checks: the legitimate transfer completes byte-identical without losing its
connection; the receiver's memory stays bounded (peak RSS of its processes);
its log stays short (5 lines per address and minute, then a count, apart
from the failed authentications, each logged); the
stalled connections it accepted are closed within the timeout."""
import hashlib
import hmac
import os
import resource
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (GrowingTrail, MiB, check, check_equal, file_size,  # noqa: E402
                     group_processes, run_scenario, sha256_file)

STALLED = 1000
WRONG = 1000
TIMEOUT = 5
WELCOME = b"ADIST00\0"
ATTACK_LIMIT = 90  # seconds for each attack


def rss_kib(pgrp):
    """Largest VmRSS among the processes of a process group."""
    peak = 0
    for pid, _ in group_processes(pgrp):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            continue
    return peak


class Sampler(threading.Thread):
    def __init__(self, pgrp):
        super().__init__(daemon=True)
        self.pgrp, self.peak, self.stop = pgrp, 0, threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, rss_kib(self.pgrp))


def stall_connections(port, stats):
    """Opens STALLED connections and holds them without a byte."""
    held = []
    deadline = time.monotonic() + ATTACK_LIMIT
    for _ in range(STALLED):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(s)
            stats["stalled_opened"] += 1
        except OSError:
            stats["stalled_failed"] += 1
    return held


def closed_by_peer(s):
    """True once the receiver closed a stalled connection (EOF or reset)."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def wrong_password(port, stats, lock, count):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + ATTACK_LIMIT
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        outcome = "refused before authentication"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with ctx.wrap_socket(raw) as c:
                    c.sendall(WELCOME)
                    if c.recv(8) == WELCOME:
                        c.sendall(b"web1".ljust(256, b"\0"))
                        challenge = c.recv(32)
                        if len(challenge) == 32:
                            c.sendall(hmac.new(b"not the password", challenge,
                                               hashlib.sha256).digest() + os.urandom(32))
                            outcome = "authentication failed" if c.recv(32) == b"" else "ACCEPTED"
        except (OSError, ssl.SSLError):
            pass
        with lock:
            stats[outcome] = stats.get(outcome, 0) + 1


def sanitized(binary):
    """An ASan build: its RSS holds the sanitizer's shadow and quarantine (up
    to 256 MiB of freed memory), so a memory bound means nothing there."""
    import subprocess
    p = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    return "libasan" in p.stdout


def body(sc):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    recv, send = sc.standard_pair(timeout=TIMEOUT)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    trail = GrowingTrail(sc, 1)
    trail.append(MiB)
    sampler = Sampler(recv.pid)
    baseline = rss_kib(recv.pid)
    sampler.start()
    rmark, smark = recv.mark(), send.mark()
    stats = {"stalled_opened": 0, "stalled_failed": 0}
    lock = threading.Lock()
    feeding = threading.Event()

    def feed():  # the legitimate producer keeps writing during the attack
        for _ in range(10_000):
            if feeding.wait(0.05):
                return
            trail.append(16 * 1024)

    producer = threading.Thread(target=feed, daemon=True)
    producer.start()
    started = time.monotonic()
    threads = 32  # more than the 16 slots: the rest are refused before TLS
    guessers = [threading.Thread(target=wrong_password,
                                 args=(sc.port, stats, lock, WRONG // threads + (i < WRONG % threads)))
                for i in range(threads)]
    for g in guessers:
        g.start()
    held = stall_connections(sc.port, stats)
    for g in guessers:
        g.join(timeout=ATTACK_LIMIT + 30)
    attack_time = time.monotonic() - started
    # The stalled connections the receiver took must be gone after the timeout.
    time.sleep(TIMEOUT + 2)
    still_open = sum(1 for s in held if not closed_by_peer(s))
    for s in held:
        s.close()
    feeding.set()
    producer.join(timeout=10)
    sampler.stop.set()
    sampler.join(timeout=5)
    trail.rename("terminated")
    send.wait_log(rf"shipped {trail.name}", since=smark, timeout=60)
    copy = sc.remote_file(trail.name)
    check_equal(file_size(copy), trail.size, f"size of {trail.name}")
    check_equal(sha256_file(copy), trail.hash.hexdigest(), f"sha256 of {trail.name}")

    lost = send.count_log(r"connection lost|reconnecting", since=smark)
    # Failed authentications from a configured address are never suppressed
    # (the 1 s penalty bounds them); every other line is rate-limited.
    failures = recv.count_log(r"refused: authentication failed", since=rmark)
    lines = recv.count_log(r"\n", since=rmark) - failures
    attempts = sum(v for k, v in stats.items() if k not in ("stalled_opened", "stalled_failed"))
    sc.note(f"{stats['stalled_opened']} stalled connections opened, {attempts} wrong-password "
            f"attempts in {attack_time:.1f} s: {stats}")
    sc.note(f"receiver: peak RSS {sampler.peak / 1024:.1f} MiB (baseline {baseline / 1024:.1f} MiB), "
            f"{lines} log lines + {failures} failed authentications; {still_open} stalled connections still open after "
            f"{TIMEOUT + 2} s; legitimate sender lost its connection {lost} times; "
            f"{trail.size} bytes shipped exactly")
    check(stats.get("ACCEPTED", 0) == 0, "a wrong password was accepted")
    check(stats["stalled_opened"] + stats["stalled_failed"] == STALLED, "not all stalls attempted")
    check(attempts == WRONG, f"only {attempts} of {WRONG} wrong-password attempts were made")
    check(stats.get("authentication failed", 0) > 0, "no wrong password reached authentication")
    check(lost == 0, "the legitimate sender lost its connection during the flood")
    check(still_open == 0, f"{still_open} stalled connections were not closed within the timeout")
    if sanitized(sc.binary):
        sc.note("ASan build: the memory bound is checked in the plain build only")
    else:
        check(sampler.peak < 64 * 1024, f"receiver peak RSS {sampler.peak} KiB during the flood")
    check(lines <= 60, f"{lines} receiver log lines during the flood: not rate-limited")
    failed = stats.get("authentication failed", 0)
    check(failed <= failures <= attempts,
          f"{failures} failed authentications logged for {failed} seen by the attacker")


if __name__ == "__main__":
    run_scenario("preauth_flood", body)
