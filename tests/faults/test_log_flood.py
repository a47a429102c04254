#!/usr/bin/env python3
"""Logging of attacks cannot be switched off (docs/security.md, "Before
authentication"). 4,100 connections from 4,100 unconfigured source addresses
(127.1.x.y: the client socket is bound before connect) used to fill the log
limiter's 4,096 keys, after which nothing new was logged for a minute or
more, a wrong password from the configured address included. Now:
  - the unconfigured refusals share one budget: at most 5 lines, and one line
    with the count of the rest written by a timer within about a minute,
    although no further connection comes;
  - a wrong password from the configured address right after the flood is
    logged (authentication failures from configured addresses are never
    suppressed), as is a second one."""
import hashlib
import hmac
import os
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import check, run_scenario  # noqa: E402

ADDRESSES = 4100
WELCOME = b"ADIST00\0"
FLOOD_LIMIT = 60  # seconds for the flood of connections


def source(i):
    return f"127.1.{i // 250}.{1 + i % 250}"


def flood(port):
    """One TCP connection from each of ADDRESSES source addresses; returns how
    many connected."""
    done = 0
    deadline = time.monotonic() + FLOOD_LIMIT
    for i in range(ADDRESSES):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.bind((source(i), 0))
            s.connect(("127.0.0.1", port))
            s.recv(1)  # the receiver closes at once: no host has this address
            done += 1
        except OSError:
            pass
        finally:
            s.close()
    return done


def wrong_password(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as c:
            c.sendall(WELCOME)
            check(c.recv(8) == WELCOME, "no welcome from the receiver")
            c.sendall(b"web1".ljust(256, b"\0"))
            challenge = c.recv(32)
            check(len(challenge) == 32, "no challenge from the receiver")
            c.sendall(hmac.new(b"not the password", challenge, hashlib.sha256).digest()
                      + os.urandom(32))
            check(c.recv(32) == b"", "the receiver answered a wrong password")


def body(sc):
    recv, _ = sc.standard_pair(timeout=5)
    recv.start()
    mark = recv.mark()
    started = time.monotonic()
    connected = flood(sc.port)
    flooded = time.monotonic()
    sc.note(f"{connected} connections from {ADDRESSES} unconfigured addresses in "
            f"{flooded - started:.1f} s")
    check(connected >= 4097, f"only {connected} flood connections were made: the flood must "
                             f"exceed the limiter's 4,096 keys")
    refused = r"connection from 127\.1\.\S+ refused: no host is configured with this address"
    recv.wait_log(refused, since=mark, timeout=10)
    for attempt in (1, 2):
        amark = recv.mark()
        wrong_password(sc.port)
        m = recv.wait_log(r"\[web1 127\.0\.0\.1:\d+\] refused: authentication failed",
                          since=amark, timeout=10)
        sc.note(f"wrong password {attempt} after the flood logged: {m.group(0)!r}")
    count = recv.wait_log(r"(\d+) more lines about unauthenticated connections from "
                          r"unconfigured addresses were not logged", since=mark, timeout=75)
    reported = time.monotonic()
    logged = len(re.findall(refused, recv.text(since=mark)))
    sc.note(f"{logged} refusal lines, then {count.group(0)!r} "
            f"{reported - flooded:.1f} s after the flood ended")
    check(logged <= 5, f"{logged} lines about unconfigured addresses: one budget of 5 expected")
    check(logged + int(count.group(1)) == connected,
          f"{logged} logged + {count.group(1)} counted != {connected} connections")
    check(reported - started <= 62, f"the count of dropped lines came {reported - started:.1f} s "
                                    f"after the flood began, not within its minute")


if __name__ == "__main__":
    run_scenario("log_flood", body)
