#!/usr/bin/env python3
"""FreeBSD's auditdistd as a sender over TLS, played by `openssl s_client
-tls1 -cipher ECDHE-RSA-AES256-SHA@SECLEVEL=0` (TLS 1.0 only, the suite
FreeBSD negotiates) against the real receiver on 127.0.0.1:

  1. host "fbsd" with the default tls_min_version: the handshake is refused,
     the receiver warns "peer 127.0.0.1 offered TLS 1.0 only ... set
     tls_min_version "1.0" in its host block", and `status` shows it for
     the host whose address matched.
  2. the same host with tls_min_version "1.0" (a reload): -n warns with
     file:line; s_client negotiates TLS 1.0 with ECDHE-RSA-AES256-SHA and
     the receiver warns about the legacy connection; over that TLS 1.0
     session the s_client peer runs the protocol-0 handshake (welcome, name,
     HMAC-SHA256 both ways), an OPEN and two APPENDs, reads the acks, and is
     killed (no close_notify, as FreeBSD's sender stops): the receiver says
     the peer closed without a TLS shutdown between frames and that nothing
     acknowledged was lost, and the stored file holds exactly the acked bytes.
  3. again, but killed in the middle of an APPEND: the receiver says how
     many bytes of the incomplete frame were not stored, and they were not.
  4. a modern client from the same address is still served TLS 1.3, with
     the warning that the host allows TLS 1.0.
  5. s_client -tls1 bound to 127.0.0.2, the address of host "web2" with the
     default setting, is refused (and shown in web2's status only): the
     choice is made per connection from the peer's address."""
import hashlib
import hmac
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TestFailure, check, check_equal, file_size, free_port,  # noqa: E402
                     run_config_check, run_scenario, trail_name, wait_until)

PASSWORD = "freebsd-tls-secret"
WELCOME = b"ADIST00\0"
NAME_FIELD = 256
OPEN, APPEND = 1, 2
REPLY = struct.Struct("<BQH")
HEADER = struct.Struct("<BBQI")
LEGACY = ["-tls1", "-cipher", "ECDHE-RSA-AES256-SHA@SECLEVEL=0"]
WAIT = 20


def frame(cmd, seq, payload):
    return HEADER.pack(1, cmd, seq, len(payload)) + payload


class SClient:
    """openssl s_client as a TLS 1.0 peer: stdin and stdout are the plaintext
    of the TLS session (-quiet: nothing else on stdout, stdin passed raw)."""

    def __init__(self, port, extra=()):
        self.p = subprocess.Popen(
            ["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{port}", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(self.p.stdout.fileno(), False)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv_exact(self, n, what):
        out = bytearray()
        deadline = time.monotonic() + WAIT
        while len(out) < n and time.monotonic() < deadline:
            chunk = self.p.stdout.read(n - len(out))
            if chunk:
                out += chunk
            elif chunk == b"" or self.p.poll() is not None:
                if self.p.poll() is not None and not chunk:
                    raise TestFailure(f"{what}: s_client ended after {len(out)} of {n} bytes: "
                                      f"{self.p.stderr.read().decode(errors='replace')[-400:]}")
            else:
                time.sleep(0.01)
        check(len(out) == n, f"{what}: {len(out)} of {n} bytes within {WAIT} s")
        return bytes(out)

    def kill(self):
        """SIGKILL: the kernel closes the TCP connection, no close_notify."""
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=WAIT)
        return self.p.stderr.read().decode(errors="replace")

    def finish(self, what):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise TestFailure(f"{what}: s_client still running after {WAIT} s") from None
        return self.p.stderr.read().decode(errors="replace")


def protocol_handshake(c, name):
    key = PASSWORD.encode()
    c.send(WELCOME)
    check_equal(c.recv_exact(8, "welcome"), WELCOME, "the receiver's welcome")
    c.send(name.encode().ljust(NAME_FIELD, b"\0"))
    challenge = c.recv_exact(32, "challenge")
    ours = os.urandom(32)
    c.send(hmac.new(key, challenge, hashlib.sha256).digest() + ours)
    proof = c.recv_exact(32, "proof")
    check(hmac.compare_digest(proof, hmac.new(key, ours, hashlib.sha256).digest()),
          "the receiver's proof of the password")
    size = struct.unpack("<Q", c.recv_exact(8, "resume size"))[0]
    resume = c.recv_exact(NAME_FIELD, "resume name").split(b"\0", 1)[0].decode()
    return resume, size


def read_acks(c, seqs, what):
    for seq in seqs:
        check_equal(REPLY.unpack(c.recv_exact(REPLY.size, what)), (1, seq, 0), f"{what}: reply")


def host_status(sc, sock, host):
    p = subprocess.run([sc.binary, "status", "--json", "--control-socket", sock],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"auditdistd status (stderr: {p.stderr.strip()})")
    import json
    return next(h for h in json.loads(p.stdout)["hosts"] if h["host"] == host)


def receiver_conf(sc, port, cert, key, legacy):
    extra = '        tls_min_version "1.0"\n' if legacy else ""
    return sc.write_config("receiver.conf", f"""pidfile "none"
timeout 5
receiver {{
    listen "tls://127.0.0.1:{port}"
    directory "{sc.path('remote')}"
    certfile "{cert}"
    keyfile "{key}"
    host "fbsd" {{
        remote "127.0.0.1"
        password "{PASSWORD}"
{extra}    }}
    host "web2" {{
        remote "127.0.0.2"
        password "{PASSWORD}"
    }}
}}
""")


def body(sc):
    # FreeBSD's certificates are RSA, and ECDHE-RSA-AES256-SHA needs one.
    cert, key, _ = sc.make_cert("receiver", key_type="rsa")
    port = free_port()
    sock = sc.path("receiver.sock")
    conf = receiver_conf(sc, port, cert, key, legacy=False)
    recv = sc.daemon("receiver", conf, "receiver", ["--control-socket", sock])
    recv.start()

    # 1. Default: refused, with what to set, at warning level, in status.
    mark = recv.mark()
    c = SClient(port, LEGACY)
    err = c.finish("refused TLS 1.0 client")
    check("Cipher is (NONE)" in err or "alert protocol version" in err or c.p.returncode != 0,
          f"s_client should fail the handshake: {err[-300:]}")
    m = recv.wait_log(r"warning: \[127\.0\.0\.1:\d+\] TLS handshake refused: peer 127\.0\.0\.1 "
                      r"offered TLS 1\.0 only, and host \"fbsd\" requires TLS 1\.2 or later; set "
                      r"tls_min_version \"1\.0\" in its host block to accept FreeBSD's auditdistd",
                      since=mark, timeout=10)
    sc.note(f"1. default: {m.group(0)}")
    check(recv.count_log(r"info: .*TLS handshake failed: unsupported protocol", since=mark) == 0,
          "the refusal must not be the old info line")
    st = host_status(sc, sock, "fbsd")
    check(st["last_error"] and "offered TLS 1.0 only" in st["last_error"]
          and 'tls_min_version "1.0"' in st["last_error"], f"status of fbsd: {st}")
    check_equal(st["counters"]["handshake_failures"].get("tls version"), 1,
                "status: TLS version refusals of fbsd")

    # 2. tls_min_version "1.0" by a reload; -n warns with file:line.
    conf = receiver_conf(sc, port, cert, key, legacy=True)
    code, _, stderr = run_config_check(sc.binary, conf)
    check_equal(code, 0, f"-n exit status ({stderr.strip()})")
    check(f'warning: {conf}:11: receiver host "fbsd": tls_min_version "1.0" allows TLS 1.0'
          in stderr, f"-n must warn with file:line: {stderr!r}")
    mark = recv.mark()
    recv.send_signal(signal.SIGHUP)
    recv.wait_log(r"configuration reloaded from .*receiver hosts changed: fbsd", since=mark,
                  timeout=10)
    mark = recv.mark()
    c = SClient(port, LEGACY)
    resume, size = protocol_handshake(c, "fbsd")
    check_equal((resume, size), ("", 0), "resume point of an empty host")
    m = recv.wait_log(r"warning: \[127\.0\.0\.1:\d+\] TLS 1\.0 in use with host \"fbsd\" "
                      r"\(tls_min_version \"1\.0\"\)", since=mark, timeout=10)
    sc.note(f"2. legacy: {m.group(0)}")
    name = trail_name(1, kind="not_terminated")
    data = os.urandom(3000)
    c.send(frame(OPEN, 1, name.encode() + b"\0") + frame(APPEND, 2, data[:1000])
           + frame(APPEND, 3, data[1000:]))
    read_acks(c, [1, 2, 3], "OPEN and two APPENDs")
    err = c.kill()
    m = recv.wait_log(r"\[fbsd 127\.0\.0\.1:\d+\] connection closed: the peer closed it without a "
                      r"TLS shutdown .*between frames; nothing acknowledged was lost",
                      since=mark, timeout=10)
    sc.note(f"2. stop at a frame boundary: {m.group(0)}")
    check(recv.count_log(r"stream truncated", since=mark) == 0, "no bare 'stream truncated'")
    stored = os.path.join(sc.path("remote"), "fbsd", name)
    wait_until(lambda: os.path.exists(stored) and file_size(stored) == 3000, timeout=10,
               what="the acknowledged bytes stored", alive=(recv,))
    with open(stored, "rb") as f:
        check(f.read() == data, "the stored file holds exactly the acknowledged bytes")

    # 3. Killed in the middle of an APPEND: the partial frame is not stored.
    mark = recv.mark()
    c = SClient(port, LEGACY)
    resume, size = protocol_handshake(c, "fbsd")
    check_equal((resume, size), (name, 3000), "resume point after the first connection")
    more = os.urandom(5000)
    c.send(frame(OPEN, 1, name.encode() + b"\0") + frame(APPEND, 2, more[:2000]))
    read_acks(c, [1, 2], "OPEN and an APPEND")
    partial = frame(APPEND, 3, more[2000:])[:HEADER.size + 700]
    c.send(partial)
    time.sleep(0.5)  # the receiver has read it
    c.kill()
    m = recv.wait_log(r"connection closed: the peer closed it without a TLS shutdown .*in the "
                      rf"middle of a frame: its {len(partial)} bytes received so far were not "
                      r"stored.*nothing acknowledged was lost", since=mark, timeout=10)
    sc.note(f"3. stop inside a frame: {m.group(0)}")
    wait_until(lambda: file_size(stored) == 5000, timeout=10, what="stored size 5000",
               alive=(recv,))
    time.sleep(0.5)
    with open(stored, "rb") as f:
        check(f.read() == data + more[:2000], "the stored file holds the acked bytes only")

    # 4. A modern client from the same address: TLS 1.2+, still warned about.
    mark = recv.mark()
    c = SClient(port)
    check_equal(protocol_handshake(c, "fbsd"), (name, 5000), "resume point over TLS 1.3")
    m = recv.wait_log(r"warning: .*host \"fbsd\" allows TLS 1\.0 \(tls_min_version \"1\.0\"\) "
                      r"but this connection uses TLS 1\.3", since=mark, timeout=10)
    sc.note(f"4. modern client: {m.group(0)}")
    c.kill()

    # 5. The choice is per connection, by address: TLS 1.0 from 127.0.0.2,
    # whose host "web2" keeps the default, is still refused.
    mark = recv.mark()
    c = SClient(port, LEGACY + ["-bind", "127.0.0.2:0"])
    c.finish("TLS 1.0 client from 127.0.0.2")
    m = recv.wait_log(r"warning: \[127\.0\.0\.2:\d+\] TLS handshake refused: peer 127\.0\.0\.2 "
                      r"offered TLS 1\.0 only, and host \"web2\" requires TLS 1\.2 or later",
                      since=mark, timeout=10)
    sc.note(f"5. other address: {m.group(0)}")
    check("offered TLS 1.0 only" in (host_status(sc, sock, "web2")["last_error"] or ""),
          "status of web2 shows the refusal")
    check("offered TLS 1.0 only" not in (host_status(sc, sock, "fbsd")["last_error"] or ""),
          "status of fbsd does not show web2's refusal")


if __name__ == "__main__":
    run_scenario("freebsd_tls_receiver", body)
