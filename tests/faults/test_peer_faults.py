#!/usr/bin/env python3
"""Peer faults: a receiver that accepts TCP and never speaks TLS; one that
completes TLS and never answers; a sender that stops mid-frame: every case
times out within the configured timeout and recovers.

Python fake peers (socket, ssl) on 127.0.0.1 face the real daemon, with
`timeout 3` in both configurations. Every timeout is measured on the fake's
side and must lie within [timeout - 0.5 s, timeout + 3 s].

  A. fake receiver that accepts TCP and never sends a byte: the real sender
     gives up the TLS handshake (measured from accept to the sender closing
     the socket), logs it, backs off and connects again (a second connection
     is measured the same way); then the real receiver takes the port over
     and the trail arrives byte-identical.
  B. fake receiver that completes TLS with the real certificate (so the
     pinned fingerprint matches), reads the sender's welcome and never
     answers: the sender must not hang (measured from the welcome to the
     close), retries, and the real receiver then gets the trail identical.
  C. fake senders facing the real receiver:
     1. TCP connected, no TLS ClientHello: "TLS handshake failed: timed out";
     2. TLS done, 3 of the 8 welcome bytes: "handshake aborted: timed out";
     3. the whole protocol handshake (welcome, name, mutual HMAC-SHA256 with
        the shared password, resume point), an OPEN, complete APPENDs (acked),
        then in one write more complete APPENDs and the header of one more
        announcing 65536 bytes followed by only 1000 of them, then silence:
        the receiver acks the complete frames, drops the connection ("no data
        for 3 s"), and its copy holds exactly the bytes of the complete frames
        (none of the partial one). A real sender whose dist holds the whole
        trail then resumes at exactly that size and completes it: the copy is
        byte-identical (so nothing of the partial frame was stored)."""
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, TestFailure, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_size_stable, wait_until)

TIMEOUT = 3       # `timeout` in both configurations
SLACK = 3.0       # a timeout must fire within TIMEOUT + SLACK
EARLY = 0.5       # ... and not before TIMEOUT - EARLY
PASSWORD = "peer-faults-secret"
WAIT = TIMEOUT + SLACK + 10  # bound of every blocking socket call of the fakes

# Protocol version 0 (../shared/docs/protocol-v0.md).
WELCOME = b"ADIST00\0"
# What the real sender offers: version 1, or 0 when the suite runs the
# daemons with --protocol-version 0 (harness, ADIST_PROTOCOL_VERSION).
SENDER_OFFER = b"ADIST0%d\0" % int(os.environ.get("ADIST_PROTOCOL_VERSION", "1"))
NAME_FIELD = 256
OPEN, APPEND, CLOSE = 1, 2, 3
REPLY = struct.Struct("<BQH")   # byte order, sequence, error
HEADER = struct.Struct("<BBQI")  # byte order, command, sequence, payload size


# --------------------------------------------------------------------------
# Helpers of the fake peers


def check_timeout(sc, what, seconds):
    sc.note(f"{what}: {seconds:.2f} s (timeout {TIMEOUT} s)")
    check(seconds <= TIMEOUT + SLACK, f"{what} took {seconds:.2f} s, over the {TIMEOUT} s "
                                      f"timeout + {SLACK:.0f} s")
    check(seconds >= TIMEOUT - EARLY, f"{what} after only {seconds:.2f} s, well before the "
                                      f"{TIMEOUT} s timeout")


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    s.settimeout(WAIT)
    return s


def accept(listener, what):
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        raise TestFailure(f"no connection within {WAIT} s: {what}") from None
    conn.settimeout(WAIT)
    return conn, time.monotonic()


def read_until_closed(conn, what):
    """Reads (and counts) until the peer closes; returns (bytes read, when).
    A TLS peer that just closes its socket (no close_notify) shows as an
    SSLEOFError or a reset: that is a close too."""
    got = 0
    deadline = time.monotonic() + WAIT
    for _ in range(100000):
        try:
            b = conn.recv(65536)
        except socket.timeout:
            raise TestFailure(f"{what}: the peer still had the connection open after "
                              f"{WAIT} s") from None
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return got, time.monotonic()
        if not b:
            return got, time.monotonic()
        got += len(b)
        if time.monotonic() > deadline:
            break
    raise TestFailure(f"{what}: the peer kept sending for {WAIT} s")


def recv_exact(conn, n, what):
    out = bytearray()
    for _ in range(n + 1):
        if len(out) >= n:
            break
        try:
            b = conn.recv(n - len(out))
        except socket.timeout:
            raise TestFailure(f"{what}: no answer within {WAIT} s") from None
        except (ssl.SSLError, ConnectionResetError) as e:
            raise TestFailure(f"{what}: connection closed ({e})") from None
        if not b:
            raise TestFailure(f"{what}: connection closed after {len(out)} of {n} bytes")
        out += b
    return bytes(out)


def fingerprint_of(der):
    d = hashlib.sha256(der).hexdigest().upper()
    return "SHA256=" + ":".join(d[i:i + 2] for i in range(0, 64, 2))


def tls_client(port, fp):
    """A TLS connection to the real receiver, its certificate checked against
    the pinned fingerprint, as our sender does."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    conn = ctx.wrap_socket(raw, server_hostname=None)
    conn.settimeout(WAIT)
    check_equal(fingerprint_of(conn.getpeercert(binary_form=True)), fp,
                "fingerprint of the receiver's certificate")
    return conn


def protocol_handshake(conn, name, password):
    """The sender's side of the protocol-0 handshake; returns the receiver's
    resume point (name, size)."""
    key = password.encode()
    conn.sendall(WELCOME)
    check_equal(recv_exact(conn, 8, "welcome"), WELCOME, "the receiver's welcome")
    conn.sendall(name.encode().ljust(NAME_FIELD, b"\0"))
    challenge = recv_exact(conn, 32, "the receiver's challenge")
    ours = os.urandom(32)
    conn.sendall(hmac.new(key, challenge, hashlib.sha256).digest() + ours)
    proof = recv_exact(conn, 32, "the receiver's proof")
    check(hmac.compare_digest(proof, hmac.new(key, ours, hashlib.sha256).digest()),
          "the receiver's HMAC of our challenge does not match the password")
    size = struct.unpack("<Q", recv_exact(conn, 8, "the resume size"))[0]
    field = recv_exact(conn, NAME_FIELD, "the resume name")
    return field.split(b"\0", 1)[0].decode(), size


def frame(cmd, seq, payload):
    return HEADER.pack(1, cmd, seq, len(payload)) + payload


def read_acks(conn, seqs, what):
    for seq in seqs:
        order, got_seq, error = REPLY.unpack(recv_exact(conn, REPLY.size, what))
        check_equal((order, got_seq, error), (1, seq, 0), f"{what}: reply")


def ship(sc, recv, send, name, digest, size, what):
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, name)), timeout=60,
               what=f"{name} to be shipped ({what})", alive=(recv, send))
    remote = sc.remote_file(name)
    check_equal(file_size(remote), size, f"size of {name} ({what})")
    check_equal(sha256_file(remote), digest, f"sha256 of {name} ({what})")


# --------------------------------------------------------------------------
# A and B: fake receivers facing the real sender


def fake_tcp_receiver(sc, send, listener, n):
    """Connection n to a receiver that accepts TCP and never answers."""
    mark = send.mark()
    conn, accepted = accept(listener, f"sender connection {n} to the silent TCP receiver")
    with conn:
        got, closed = read_until_closed(conn, f"silent TCP receiver, connection {n}")
    check(got > 0, f"connection {n}: the sender sent no TLS ClientHello")
    check_timeout(sc, f"A{n}: the sender gave up a receiver silent from TCP accept",
                  closed - accepted)
    m = send.wait_log(r"TLS handshake with \S+ failed: timed out", since=mark, timeout=5)
    r = send.wait_log(r"reconnecting in (\d+) ms", since=mark, timeout=5)
    sc.note(f"A{n}: sender logged {m.group(0)!r}, then {r.group(0)!r}")
    return accepted, closed, int(r.group(1)) / 1000


def fake_tls_receiver(sc, send, listener, n, cert, key):
    """Connection n to a receiver that completes TLS and never answers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    mark = send.mark()
    raw, accepted = accept(listener, f"sender connection {n} to the silent TLS receiver")
    with ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False) as conn:
        conn.settimeout(WAIT)
        conn.do_handshake()
        welcome = recv_exact(conn, 8, f"silent TLS receiver, connection {n}: welcome")
        spoke = time.monotonic()
        check_equal(welcome, SENDER_OFFER, f"connection {n}: the sender's welcome")
        got, closed = read_until_closed(conn, f"silent TLS receiver, connection {n}")
    check_equal(got, 0, f"connection {n}: bytes the sender sent after its welcome, unanswered")
    check_timeout(sc, f"B{n}: the sender gave up a receiver silent after TLS (from its welcome)",
                  closed - spoke)
    m = send.wait_log(r"the receiver closed the connection during the handshake \(timed out\)",
                      since=mark, timeout=5)
    r = send.wait_log(r"reconnecting in (\d+) ms", since=mark, timeout=5)
    sc.note(f"B{n}: sender logged {m.group(0)!r}, then {r.group(0)!r}")
    return accepted, closed, int(r.group(1)) / 1000


def fake_receiver_phase(sc, recv, send, label, index, serve):
    name = trail_name(index)
    size, digest = sc.add_trail(name, 4 * MiB + 12345)
    listener = listen(sc.port)
    try:
        if not send.running():
            send.start()
        _, closed, backoff = serve(listener, 1)
        again, _, _ = serve(listener, 2)
        gap = again - closed
        sc.note(f"{label}: the second connection came {gap:.2f} s after the first was given up "
                f"(logged backoff {backoff:.2f} s)")
        check(gap <= backoff + 1.0, f"{label}: the sender took {gap:.2f} s to come back after a "
                                    f"backoff of {backoff:.2f} s")
        check(not os.path.exists(sc.remote_file(name)),
              f"{label}: {name} exists at the receiver before a real receiver ran")
        check(os.path.exists(os.path.join(sc.dist, name)),
              f"{label}: the dist link of {name} went while no real receiver was there")
    finally:
        listener.close()
    mark = send.mark()
    recv.start()
    replaced = time.monotonic()
    send.wait_log(r"connected to ", since=mark, timeout=45)
    ship(sc, recv, send, name, digest, size, f"{label}: after the real receiver took the port")
    sc.note(f"{label}: the real receiver on the same port got {name} identical "
            f"{time.monotonic() - replaced:.1f} s after it started")


# --------------------------------------------------------------------------
# C: fake senders facing the real receiver


def fake_sender_no_tls(sc, recv):
    mark = recv.mark()
    conn = socket.create_connection(("127.0.0.1", sc.port), timeout=WAIT)
    opened = time.monotonic()
    with conn:
        got, closed = read_until_closed(conn, "TCP-only fake sender")
    check_equal(got, 0, "bytes the receiver sent before any ClientHello")
    check_timeout(sc, "C1: the receiver dropped a sender silent after TCP connect",
                  closed - opened)
    m = recv.wait_log(r"TLS handshake failed: timed out", since=mark, timeout=5)
    sc.note(f"C1: receiver logged {m.group(0)!r}")


def fake_sender_partial_welcome(sc, recv, fp):
    mark = recv.mark()
    with tls_client(sc.port, fp) as conn:
        conn.sendall(WELCOME[:3])
        sent = time.monotonic()
        got, closed = read_until_closed(conn, "fake sender with a partial welcome")
    check_equal(got, 0, "bytes the receiver answered to 3 bytes of welcome")
    check_timeout(sc, "C2: the receiver dropped a sender stopped after 3 welcome bytes",
                  closed - sent)
    m = recv.wait_log(r"handshake aborted: timed out", since=mark, timeout=5)
    sc.note(f"C2: receiver logged {m.group(0)!r}")


def fake_sender_mid_frame(sc, recv, fp, label, name, data, acked, last, tail):
    """A fake sender of host web1: the whole protocol handshake, OPEN `name`,
    APPENDs of `data` in pieces of the sizes `acked` (waits for their acks),
    then in one write APPENDs of the sizes `last` and the first `tail` bytes
    of one more APPEND frame announcing 65536 bytes; reads the acks of the
    complete frames and stays silent. Returns the bytes in complete frames."""
    mark = recv.mark()
    with tls_client(sc.port, fp) as conn:
        resume = protocol_handshake(conn, "web1", PASSWORD)
        newest = max(os.listdir(sc.host_dir)) if os.listdir(sc.host_dir) else ""
        check_equal(resume, (newest, file_size(sc.remote_file(newest)) if newest else 0),
                    f"{label}: the resume point the receiver sent the fake sender")
        recv.wait_log(rf"\[web1 127\.0\.0\.1:\d+\] authenticated; resume point {newest} at "
                      rf"{resume[1]}", since=mark, timeout=5)
        seq, off = 1, 0
        out = frame(OPEN, seq, name.encode() + b"\0")
        seqs = [seq]
        for n in acked:
            seq += 1
            out += frame(APPEND, seq, data[off:off + n])
            seqs.append(seq)
            off += n
        conn.sendall(out)
        read_acks(conn, seqs, f"{label}: OPEN and the first APPENDs")
        acked_first = off
        out, seqs = b"", []
        for n in last:
            seq += 1
            out += frame(APPEND, seq, data[off:off + n])
            seqs.append(seq)
            off += n
        complete = off
        seq += 1
        partial = HEADER.pack(1, APPEND, seq, 65536) + data[off:off + 65536]
        out += partial[:tail]
        conn.sendall(out)
        sent = time.monotonic()
        read_acks(conn, seqs, f"{label}: the complete APPENDs written with the partial frame")
        got, closed = read_until_closed(conn, f"{label}: fake sender stopped mid-frame")
    check_equal(got, 0, f"{label}: bytes the receiver sent after the acks (a reply to the "
                        f"partial frame?)")
    where = (f"{tail} of the 14 header bytes" if tail < HEADER.size else
             f"the header and {tail - HEADER.size} of 65536 payload bytes")
    check_timeout(sc, f"{label}: the receiver dropped a sender stopped after {where}",
                  closed - sent)
    m = recv.wait_log(rf"\[web1 127\.0\.0\.1:\d+\] no data for {TIMEOUT} s, closing the "
                      rf"connection", since=mark, timeout=5)
    sc.note(f"{label}: receiver logged {m.group(0)!r}")
    held = wait_size_stable(sc.remote_file(name), quiet=0.5, timeout=10, alive=(recv,))
    sc.note(f"{label}: {acked_first} bytes acked, then {complete - acked_first} bytes in complete "
            f"frames + {where} of one more; the copy holds {held}")
    check_equal(held, complete, f"{label}: size of the receiver's {name} after a sender stopped "
                                f"mid-frame (bytes of complete APPEND frames)")
    with open(sc.remote_file(name), "rb") as f:
        check(f.read() == data[:complete], f"{label}: content of the receiver's {name} differs "
                                           f"from the complete frames sent")
    return complete


def real_sender_finishes(sc, recv, send, label, name, data, complete):
    """A real sender of host web1 whose dist holds the whole trail resumes it
    at the size the fake left and completes it."""
    _, digest = sc.add_trail(name, data=data)
    mark, rmark = send.mark(), recv.mark()
    send.start()
    r = recv.wait_log(rf"authenticated; resume point {name} at (\d+)", since=rmark, timeout=30)
    m = send.wait_log(rf"resuming {name} at offset (\d+)", since=mark, timeout=30)
    check_equal(int(r.group(1)), complete, f"{label}: the receiver's resume point after the "
                                           f"partial frame")
    check_equal(int(m.group(1)), complete, f"{label}: the real sender's resume offset")
    ship(sc, recv, send, name, digest, len(data), f"{label}: the real sender after the fake one")
    send.stop()
    sc.note(f"{label}: a real sender resumed {name} at {complete} and completed it identical")


# --------------------------------------------------------------------------


def body(sc):
    recv, send = sc.standard_pair(password=PASSWORD, timeout=TIMEOUT)
    cert = sc.path("certs", "receiver.cert.pem")
    key = sc.path("certs", "receiver.key.pem")
    started = time.monotonic()

    # A. The sender starts against a receiver that never speaks TLS.
    fake_receiver_phase(sc, recv, send, "A", 1,
                        lambda lst, n: fake_tcp_receiver(sc, send, lst, n))
    recv.stop()

    # B. A receiver that completes TLS, then says nothing.
    fake_receiver_phase(sc, recv, send, "B", 2,
                        lambda lst, n: fake_tls_receiver(sc, send, lst, n, cert, key))

    # C. Fake senders facing the real receiver (the real sender is stopped,
    # so it does not replace the fake's connection of host web1).
    send.stop()
    with open(cert) as f:
        fp = fingerprint_of(ssl.PEM_cert_to_DER_cert(f.read()))
    fake_sender_no_tls(sc, recv)
    fake_sender_partial_welcome(sc, recv, fp)
    # C3: stopped inside an APPEND payload; C4: inside an APPEND header.
    for label, index, acked, last, tail in (
            ("C3", 3, [40000, 65536, 12345], [65536, 777], HEADER.size + 1000),
            ("C4", 4, [65536], [333], 9)):
        name = trail_name(index)
        data = os.urandom(2 * MiB + 4321 * index)
        complete = fake_sender_mid_frame(sc, recv, fp, label, name, data, acked, last, tail)
        real_sender_finishes(sc, recv, send, label, name, data, complete)
    check_equal(list_files(sc.host_dir), [trail_name(i) for i in (1, 2, 3, 4)],
                "files in the receiver's host directory")
    sc.note(f"whole scenario {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    run_scenario("peer_faults", body)
