#!/usr/bin/env python3
"""FreeBSD's auditdistd as a receiver over TLS, played by `openssl s_server
-tls1 -cipher ECDHE-RSA-AES256-SHA@SECLEVEL=0` (TLS 1.0 only) with the
certificate the sender pins, against the real sender on 127.0.0.1:

  1. default tls_min_version: the sender refuses the TLS 1.0 receiver with
     an error that says to set tls_min_version "1.0" in the host block, and
     `status` shows it; -n is quiet about TLS.
  2. tls_min_version "1.0": -n warns with file:line; the TLS 1.0 handshake
     completes, the sender warns about the legacy connection, and our
     welcome bytes arrive at s_server. s_server answers with its welcome,
     reads our name and is killed, as FreeBSD's receiver closes for a name
     it has no host block for: the sender says the receiver may not know
     this host's name, and `status` shows it.
  3. s_server plays the whole protocol-0 handshake of a receiver (welcome,
     challenge, HMAC-SHA256 both ways, resume point) over TLS 1.0, and is
     then killed, as FreeBSD's receiver stops (no close_notify): the sender
     says the receiver closed without a TLS shutdown and that nothing is
     lost, not a bare "stream truncated"."""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port,  # noqa: E402
                     run_config_check, run_scenario, tcp_listening, wait_until)

WELCOME = b"ADIST00\0"  # FreeBSD's answer: it speaks version 0 only
# What our sender offers: version 1 (answered 0 by FreeBSD), or 0 when the
# suite runs with --protocol-version 0 (harness, ADIST_PROTOCOL_VERSION).
OFFER = b"ADIST0%d\0" % int(os.environ.get("ADIST_PROTOCOL_VERSION", "1"))
PASSWORD = "freebsd-tls-secret"
NAME_FIELD = 256
WAIT = 20


class SServer:
    """openssl s_server as a TLS 1.0-only receiver: stdin and stdout are the
    plaintext of the session (-quiet: commands off, no session dump)."""

    def __init__(self, port, cert, key, once=True):
        # once: s_server serves one connection and exits; otherwise it takes
        # every reconnect, so each meets the same handshake.
        self.p = subprocess.Popen(
            ["openssl", "s_server", "-quiet", *(["-naccept", "1"] if once else []),
             "-accept", f"127.0.0.1:{port}",
             "-cert", cert, "-key", key, "-tls1", "-cipher", "ECDHE-RSA-AES256-SHA@SECLEVEL=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.out = bytearray()
        # Bound: s_server binds at once; wait until the port accepts.
        wait_until(tcp_listening(port), timeout=10, what="s_server listening")

    def wait_output(self, needle, what):
        deadline = time.monotonic() + WAIT
        while needle not in self.out and time.monotonic() < deadline:
            chunk = self.p.stdout.read(65536)
            if chunk:
                self.out += chunk
            elif self.p.poll() is not None and not chunk:
                break
            else:
                time.sleep(0.02)
        check(needle in self.out, f"{what}: not seen from the sender within {WAIT} s "
                                  f"(got {bytes(self.out[-80:])!r})")
        return self.out.index(needle)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def read_exact(self, start, n, what):
        """The n bytes from offset `start` of what the sender sent."""
        deadline = time.monotonic() + WAIT
        while len(self.out) < start + n and time.monotonic() < deadline:
            chunk = self.p.stdout.read(65536)
            if chunk:
                self.out += chunk
            elif self.p.poll() is not None:
                break
            else:
                time.sleep(0.02)
        check(len(self.out) >= start + n, f"{what}: {len(self.out) - start} of {n} bytes")
        return bytes(self.out[start:start + n])

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=WAIT)
        return self.p.stderr.read().decode(errors="replace")


def sender_conf(sc, port, fp, legacy):
    extra = '        tls_min_version "1.0"\n' if legacy else ""
    return sc.write_config("sender.conf", f"""name "web1"
pidfile "none"
timeout 5
sender {{
    directory "{sc.path('dist')}"
    host "collector" {{
        remote "tls://127.0.0.1:{port}"
        fingerprint "{fp}"
        password "{PASSWORD}"
{extra}    }}
}}
""")


def host_status(sc, sock):
    p = subprocess.run([sc.binary, "status", "--json", "--control-socket", sock],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"auditdistd status (stderr: {p.stderr.strip()})")
    return json.loads(p.stdout)["hosts"][0]


def body(sc):
    cert, key, fp = sc.make_cert("receiver", key_type="rsa")
    dist = sc.mkdir("dist")
    if os.geteuid() == 0:
        # The sender runs as nobody and removes shipped links (-n checks it).
        os.chown(dist, 65534, 65534)
    port = free_port()
    sock = sc.path("sender.sock")
    conf = sender_conf(sc, port, fp, legacy=False)
    code, _, stderr = run_config_check(sc.binary, conf)
    check(code == 0 and "tls_min_version" not in stderr, f"-n of the default: {code} {stderr!r}")

    # 1. Default settings: refused, with what to set. s_server takes every
    # reconnect, so that the last error `status` shows is this refusal, not
    # a connection refused by a port nobody listens on any more.
    server = SServer(port, cert, key, once=False)
    send = sc.daemon("sender", conf, "sender", ["--control-socket", sock])
    send.start()
    m = send.wait_log(r"error: \[collector\] TLS handshake failed: the receiver "
                      rf"tls://127\.0\.0\.1:{port} (speaks TLS 1\.0 only, and this host requires|"
                      r"accepts no TLS version this host offers \()TLS 1\.2 or later\)?; set "
                      r"tls_min_version \"1\.0\" in this host block to accept FreeBSD's auditdistd",
                      timeout=15)
    sc.note(f"1. default: {m.group(0)}")
    st = host_status(sc, sock)
    check(st["last_error"] and 'set tls_min_version "1.0"' in st["last_error"], f"status: {st}")
    check(st["counters"]["handshake_failures"].get("tls version", 0) >= 1, f"status: {st}")
    send.stop()
    err = server.kill()
    check(b"ADIST" not in server.out, "nothing of ours may reach a refused receiver")
    sc.note(f"1. s_server: {err.strip().splitlines()[-1] if err.strip() else '(no output)'}")

    # 2. tls_min_version "1.0": the handshake completes, our welcome arrives.
    conf = sender_conf(sc, port, fp, legacy=True)
    code, _, stderr = run_config_check(sc.binary, conf)
    check_equal(code, 0, f"-n exit status ({stderr.strip()})")
    check(f'warning: {conf}:10: sender host "collector": tls_min_version "1.0" allows TLS 1.0'
          in stderr, f"-n must warn with file:line: {stderr!r}")
    server = SServer(port, cert, key)
    mark = send.mark()
    send.start()
    at = server.wait_output(OFFER, "our welcome over TLS 1.0")
    m = send.wait_log(r"warning: \[collector\] TLS 1\.0 in use with host \"collector\" "
                      r"\(tls_min_version \"1\.0\"\)", since=mark, timeout=10)
    sc.note(f"2. legacy: {m.group(0)}")
    check(send.count_log(r"certificate that does not match", since=mark) == 0,
          "the pinned fingerprint matched over TLS 1.0")
    # FreeBSD answers with its welcome, reads the name, and closes for an
    # unknown name (no TLS shutdown: the process exits).
    server.send(WELCOME)
    server.wait_output(b"web1\0", "our name")
    name_at = at + len(OFFER)
    deadline = time.monotonic() + WAIT
    while len(server.out) < name_at + NAME_FIELD and time.monotonic() < deadline:
        chunk = server.p.stdout.read(65536)
        if chunk:
            server.out += chunk
        else:
            time.sleep(0.02)
    check_equal(bytes(server.out[name_at:name_at + NAME_FIELD]),
                b"web1".ljust(NAME_FIELD, b"\0"), "the name field the sender sent")
    server.kill()
    m = send.wait_log(r"error: \[collector\] the receiver closed the connection during the "
                      r"handshake after our name \"web1\": the receiver may not know this host's "
                      r"name", since=mark, timeout=10)
    sc.note(f"2. closed after the name: {m.group(0)}")
    st = host_status(sc, sock)
    check(st["last_error"] and "may not know this host's name" in st["last_error"],
          f"status: {st}")
    check_equal(st["counters"]["handshake_failures"].get("closed after name"), 1,
                "status: closes after our name")

    # 3. A whole protocol handshake over TLS 1.0, then a stop without
    # close_notify.
    server = SServer(port, cert, key)
    mark = send.mark()
    at = server.wait_output(OFFER, "our welcome (third connection)")
    server.send(WELCOME)
    check_equal(server.read_exact(at + 8, NAME_FIELD, "name"), b"web1".ljust(NAME_FIELD, b"\0"),
                "name field")
    key = PASSWORD.encode()
    challenge = os.urandom(32)
    server.send(challenge)
    answer = server.read_exact(at + 8 + NAME_FIELD, 64, "proof and challenge")
    check(hmac.compare_digest(answer[:32], hmac.new(key, challenge, hashlib.sha256).digest()),
          "the sender's proof of the password")
    server.send(hmac.new(key, answer[32:], hashlib.sha256).digest() + bytes(8)
                + bytes(NAME_FIELD))
    send.wait_log(r"\[collector\] connected to tls://127\.0\.0\.1:\d+; receiver has no file yet",
                  since=mark, timeout=10)
    server.kill()
    m = send.wait_log(r"warning: \[collector\] connection lost: the receiver closed it without a "
                      r"TLS shutdown \(as FreeBSD's auditdistd does when it stops\); nothing is "
                      r"lost", since=mark, timeout=10)
    sc.note(f"3. stop without close_notify: {m.group(0)}")
    check(send.count_log(r"stream truncated", since=mark) == 0, "no bare 'stream truncated'")


if __name__ == "__main__":
    run_scenario("freebsd_tls_sender", body)
