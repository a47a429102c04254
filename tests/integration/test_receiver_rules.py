#!/usr/bin/env python3
"""The receiver's rules (protocol-v0.md, "Receiver rules" and "Data phase"),
driven by a hand-written protocol v0 client (Python ssl + hmac) instead of
our sender, so that requests our sender never makes can be tried:
  - handshake: version "ADIST00", mutual HMAC-SHA256 proof (the receiver's
    proof of our challenge is checked), resume point (size, newest name);
  - OPEN/APPEND/CLOSE of a new `.not_terminated` trail, reopen for append
    (never truncated), big-endian headers, sequence numbers echoed,
    KEEPALIVE, CLOSE with a rename to the final name, ERROR;
  - refusals, each answered with its error code, then the connection is
    closed: APPEND without OPEN (WRONG_ORDER), OPEN of an older trail or of
    the `.not_terminated` name of a terminated trail (OPEN_OLD), invalid
    names incl. path traversal and near-miss 29-character names
    (INVALID_NAME), CLOSE to an unrelated name (RENAME);
  - protocol violations close the connection without a reply: oversized,
    empty or unexpected payloads, unknown command, bad byte order, names
    without or with an embedded NUL.
In the end the host directory holds exactly the expected files with exactly
the expected bytes, and nothing was created anywhere else."""
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TestFailure, check, check_equal, list_files, run_scenario,  # noqa: E402
                     trail_name)

OPEN, APPEND, CLOSE, KEEPALIVE, ERROR = 1, 2, 3, 4, 5
OK, WRONG_ORDER, INVALID_NAME, OPEN_OLD, CREATE, OPEN_ERR, READ, WRITE, RENAME = range(9)
PASSWORD = "s3cret"


class Closed(Exception):
    pass


class RawSender:
    def __init__(self, port, fingerprint, name="web1", password=PASSWORD):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # pinned below, like the real sender
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw)
        der = self.s.getpeercert(binary_form=True)
        digest = hashlib.sha256(der).hexdigest().upper()
        got = "SHA256=" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))
        check_equal(got, fingerprint, "fingerprint of the receiver's certificate")
        self.name = name.encode()
        self.password = password.encode()
        self.seq = 100

    def recv_exact(self, n, timeout=10):
        self.s.settimeout(timeout)
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            if time.monotonic() > deadline:
                raise TestFailure(f"no {n}-byte answer from the receiver within {timeout} s")
            try:
                b = self.s.recv(n - len(out))
            except (ssl.SSLError, ConnectionError) as e:
                raise Closed(str(e))
            except socket.timeout:
                raise TestFailure(f"no {n}-byte answer from the receiver within {timeout} s")
            if not b:
                raise Closed("EOF")
            out += b
        return out

    def handshake(self):
        self.s.sendall(b"ADIST00\0")
        check_equal(self.recv_exact(8), b"ADIST00\0", "the receiver's version answer")
        self.s.sendall(self.name.ljust(256, b"\0"))
        challenge = self.recv_exact(32)
        mine = os.urandom(32)
        self.s.sendall(hmac.new(self.password, challenge, hashlib.sha256).digest() + mine)
        proof = self.recv_exact(32)
        check(hmac.compare_digest(proof, hmac.new(self.password, mine, hashlib.sha256).digest()),
              "the receiver's proof of our challenge is wrong")
        (size,) = struct.unpack("<Q", self.recv_exact(8))
        name = self.recv_exact(256)
        check(name.endswith(b"\0"), "resume name not NUL-terminated")
        return size, name.rstrip(b"\0").decode()

    def send(self, cmd, payload=b"", order=1, seq=None, size=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        fmt = "<" if order == 1 else ">"
        size = len(payload) if size is None else size
        header = bytes([order, cmd]) + struct.pack(fmt + "QI", seq, size)
        self.s.sendall(header + payload)
        return seq

    def reply(self):
        raw = self.recv_exact(11)
        check(raw[0] in (1, 2), f"reply byte order {raw[0]}")
        fmt = "<" if raw[0] == 1 else ">"
        seq, err = struct.unpack(fmt + "QH", raw[1:])
        return seq, err

    def expect(self, cmd, payload, err=OK, what="", **kw):
        seq = self.send(cmd, payload, **kw)
        got_seq, got = self.reply()
        check_equal(got_seq, seq, f"{what}: sequence number echoed")
        check_equal(got, err, f"{what}: reply error code")

    def expect_closed(self, what, timeout=10):
        """The receiver must close the connection (no further reply)."""
        try:
            extra = self.recv_exact(1, timeout=timeout)
        except Closed:
            return
        raise TestFailure(f"{what}: the receiver answered ({extra!r}...) instead of closing")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def z(name):
    return name.encode() + b"\0"


def body(sc):
    recv, _ = sc.standard_pair()
    recv.start()
    with open(sc.path("sender.conf")) as f:
        fingerprint = [line for line in f if "fingerprint" in line][0].split('"')[1]
    content = {}  # what the host directory must hold: name -> bytes

    def connect():
        """Connects and checks the resume point against `content`."""
        c = RawSender(sc.port, fingerprint)
        size, name = c.handshake()
        newest = max(content) if content else ""
        check_equal((size, name), (len(content.get(newest, b"")), newest), "resume point")
        return c

    t0, t1, t2, t4 = (trail_name(i) for i in (0, 1, 2, 4))
    t1_nt, t2_nt, t3_nt, t5_nt = (trail_name(i, "not_terminated") for i in (1, 2, 3, 5))

    # A new trail: OPEN, APPEND, KEEPALIVE, CLOSE under the same name.
    c = connect()
    c.expect(OPEN, z(t1_nt), what="OPEN a new .not_terminated trail")
    c.expect(APPEND, b"hello", what="APPEND")
    c.expect(KEEPALIVE, b"", what="KEEPALIVE")
    c.send(APPEND, b", ", seq=2**64 - 1)
    check_equal(c.reply(), (2**64 - 1, OK), "APPEND with the largest sequence number")
    c.expect(CLOSE, z(t1_nt), what="CLOSE under the same name")
    content[t1_nt] = b"hello, "
    c.expect(APPEND, b"x", WRONG_ORDER, what="APPEND after CLOSE")
    c.expect_closed("after WRONG_ORDER")
    c.close()

    # Reopen for append (never truncated), big-endian headers, CLOSE with rename.
    c = connect()
    c.expect(OPEN, z(t1_nt), what="reopen the newest trail", order=2)
    c.expect(APPEND, b"world", what="big-endian APPEND", order=2)
    c.expect(CLOSE, z(t1), what="CLOSE with the rename to the final name")
    content[t1] = content.pop(t1_nt) + b"world"
    c.close()
    sc.note("handshake, OPEN/APPEND/KEEPALIVE/CLOSE, reopen, big endian, rename: ok")

    # Refusals with an error code, then the connection is closed.
    for what, name, err in (
            ("OPEN of an older trail", t0, OPEN_OLD),
            ("OPEN of the .not_terminated name of a terminated trail", t1_nt, OPEN_OLD),
            ("OPEN of a path-traversal name", "../../../../tmp/adist-evil", INVALID_NAME),
            ("OPEN of an absolute path", "/tmp/adist-evil", INVALID_NAME),
            ("OPEN of a 29-character name ending in /x", t2[:27] + "/x", INVALID_NAME),
            ("OPEN of a 28-character name", t2[:28], INVALID_NAME),
            ("OPEN of a 30-character name", t2 + "0", INVALID_NAME),
            ("OPEN of a name with a bad suffix", t2[:15] + "not_terminatex", INVALID_NAME),
            ("OPEN of a name with a non-digit", "2026O101000000.not_terminated", INVALID_NAME)):
        c = connect()
        c.expect(OPEN, z(name), err, what=what)
        c.expect_closed(f"after {what}")
        c.close()
    c = connect()
    c.expect(APPEND, b"x", WRONG_ORDER, what="APPEND without OPEN")
    c.expect_closed("after APPEND without OPEN")
    c.close()
    c = connect()
    c.expect(OPEN, z(t2_nt), what="OPEN a newer trail")
    c.expect(APPEND, b"two", what="APPEND to it")
    content[t2_nt] = b"two"
    c.expect(CLOSE, z(t4), RENAME, what="CLOSE to the final name of another trail")
    c.expect_closed("after the refused CLOSE")
    c.close()
    sc.note("refusals answered with WRONG_ORDER, OPEN_OLD, INVALID_NAME, RENAME, then closed")

    # ERROR: the sender cannot read the file: closed under its current name.
    c = connect()
    c.expect(OPEN, z(t3_nt), what="OPEN another trail")
    c.expect(APPEND, b"three", what="APPEND")
    content[t3_nt] = b"three"
    c.expect(ERROR, b"", what="ERROR")
    c.expect(KEEPALIVE, b"", what="KEEPALIVE after ERROR")
    c.close()

    # Protocol violations: the connection is closed without a reply.
    name5 = t5_nt.encode()
    violations = (
        ("payload over 65536 bytes", dict(cmd=APPEND, payload=b"a" * 65537)),
        ("size announced over 65536", dict(cmd=APPEND, payload=b"", size=1 << 31)),
        ("empty APPEND", dict(cmd=APPEND, payload=b"")),
        ("payload on KEEPALIVE", dict(cmd=KEEPALIVE, payload=b"x")),
        ("unknown command 9", dict(cmd=9, payload=b"")),
        ("byte order 3", dict(cmd=KEEPALIVE, payload=b"", order=3)),
        ("CLOSE name without NUL", dict(cmd=CLOSE, payload=name5)),
        ("CLOSE name with an embedded NUL", dict(cmd=CLOSE,
                                                 payload=name5[:5] + b"\0" + name5[6:] + b"\0")),
    )
    for what, frame in violations:
        c = connect()
        c.expect(OPEN, z(t5_nt), what=f"OPEN before {what}")
        c.expect(APPEND, b"5", what=f"APPEND before {what}")
        content[t5_nt] = content.get(t5_nt, b"") + b"5"
        try:
            c.send(**frame)
        except (ssl.SSLError, OSError):
            pass  # closed while we were still sending the frame: also a close
        c.expect_closed(what)
        c.close()
    sc.note(f"{len(violations)} protocol violations: connection closed without a reply")

    c = connect()  # checks the final resume point
    c.close()
    # The host's ledger lives beside its directory (docs/protocol.md, "Ledger").
    stored = [f for f in list_files(sc.remote) if not f.startswith(".auditdistd-ledger/")]
    check_equal(stored, sorted(f"web1/{n}" for n in content),
                "files under the receiver's directory")
    for n, data in content.items():
        with open(sc.remote_file(n), "rb") as f:
            check_equal(f.read(), data, f"contents of {n}")
    check(not os.path.exists("/tmp/adist-evil"), "a path-traversal name created /tmp/adist-evil")
    recv.assert_running("after all the refusals")


if __name__ == "__main__":
    run_scenario("receiver_rules", body)
