#!/usr/bin/env python3
"""One deadline from accept to authenticated (docs/security.md, "Before
authentication"). A fake sender from a configured address completes TLS and
then sends each piece of the protocol-0 handshake (welcome, name, a wrong
HMAC with its challenge) just before the per-read timeout would fire. With a
deadline per read it would hold its unauthenticated slot about 3 x timeout
(4 x with a slow ClientHello); the receiver must close it within about one
timeout of the TCP accept and log "handshake aborted: timed out". A plain
stalled peer (C2 of test_peer_faults) still gets the whole timeout."""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import check, run_scenario  # noqa: E402

TIMEOUT = 3        # `timeout` of the receiver
DRIBBLE = TIMEOUT - 0.7  # pause before each piece: within every per-read deadline
SLACK = 1.5        # the close must come within TIMEOUT + SLACK of the accept
WAIT = 4 * TIMEOUT + 10  # bound of every blocking socket call of the fake
WELCOME = b"ADIST00\0"
NAME_FIELD = 256


def closed_while_waiting(conn, seconds):
    """Waits `seconds` for the receiver to close the connection (it sends
    nothing unasked); True if it did."""
    conn.settimeout(seconds)
    try:
        return conn.recv(1) == b""
    except socket.timeout:
        return False
    except (ssl.SSLError, ConnectionResetError):
        return True
    finally:
        conn.settimeout(WAIT)


def dribbling_sender(port):
    """Returns (seconds from TCP connect to the receiver's close, pieces the
    fake managed to send before it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    connected = time.monotonic()
    conn = ctx.wrap_socket(raw, server_hostname=None)
    conn.settimeout(WAIT)
    pieces = [(WELCOME, 8), (b"web1".ljust(NAME_FIELD, b"\0"), 32), (os.urandom(64), 0)]
    sent = 0
    try:
        for data, answer in pieces:
            if closed_while_waiting(conn, DRIBBLE):
                return time.monotonic() - connected, sent
            conn.sendall(data)
            sent += 1
            got = b""
            for _ in range(answer + 1):  # bounded: at least one byte per round
                if len(got) >= answer:
                    break
                b = conn.recv(answer - len(got))
                if not b:
                    return time.monotonic() - connected, sent
                got += b
        for _ in range(1000):  # after the wrong HMAC: wait for the close
            if not conn.recv(4096):
                break
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        check(False, f"the receiver kept the dribbling connection open for {WAIT} s")
    finally:
        conn.close()
    return time.monotonic() - connected, sent


def body(sc):
    recv, _ = sc.standard_pair(timeout=TIMEOUT)
    recv.start()
    mark = recv.mark()
    held, sent = dribbling_sender(sc.port)
    sc.note(f"the dribbling sender sent {sent} of 3 handshake pieces, one every {DRIBBLE} s; "
            f"closed {held:.2f} s after connect (timeout {TIMEOUT} s)")
    check(held <= TIMEOUT + SLACK,
          f"an unauthenticated peer dribbling its handshake held the connection {held:.2f} s, "
          f"over the {TIMEOUT} s timeout + {SLACK} s")
    check(held >= TIMEOUT - 0.5, f"closed after only {held:.2f} s, before the {TIMEOUT} s timeout")
    m = recv.wait_log(r"handshake aborted: timed out", since=mark, timeout=5)
    sc.note(f"receiver logged {m.group(0)!r}")


if __name__ == "__main__":
    run_scenario("handshake_deadline", body)
