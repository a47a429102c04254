#!/usr/bin/env python3
"""The receiver's key may be RSA, ECDSA or Ed25519: for each, a receiver with
that certificate serves a sender that pins its fingerprint, and a trail file
arrives identical. And for each, `openssl s_client` on 127.0.0.1 finds the
TLS policy: on TLS 1.2 only ECDHE with AEAD (an RSA key exchange or a CBC
suite with SHA-1 fails the handshake), and no session ticket on TLS 1.2 or
1.3."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)


def s_client(port, *args):
    """One TLS handshake with the receiver; (handshake done, output)."""
    # Input stays open for 1 s, so that a TLS 1.3 ticket (sent after the
    # handshake) would be read and shown.
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
                          *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        p.stdin.close()
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    out = out.decode(errors="replace")
    return "CONNECTION ESTABLISHED" in out, out


def check_tls_policy(sc, key_type, port):
    weak = {"RSA key exchange, CBC, SHA-1": "AES128-SHA:AES256-SHA",
            "ECDHE, CBC, SHA-1": "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA",
            "ECDHE, CBC, SHA-256": "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256"}
    for what, suites in weak.items():
        ok, out = s_client(port, "-tls1_2", "-cipher", suites)
        check(not ok, f"{key_type}: a TLS 1.2 handshake with {what} succeeded:\n{out}")
    for version in ("-tls1_2", "-tls1_3"):
        ok, out = s_client(port, version, "-msg")
        check(ok, f"{key_type}: the {version} handshake failed:\n{out}")
        check("NewSessionTicket" not in out, f"{key_type}: a session ticket was sent on {version}")
    sc.note(f"{key_type}: TLS 1.2 without ECDHE+AEAD refused, no session tickets")


def one_key_type(sc, key_type, index):
    base = sc.mkdir(key_type)
    dist = sc.mkdir(key_type, "dist")
    remote = os.path.join(base, "remote")
    cert, key, fp = sc.make_cert(f"receiver-{key_type}", key_type=key_type)
    port = free_port()
    url = f"tls://127.0.0.1:{port}"
    rconf = sc.receiver_config(f"{key_type}-receiver.conf", url, remote, cert, key,
                               [("web1", "127.0.0.1", "pw-" + key_type)])
    sconf = sc.sender_config(f"{key_type}-sender.conf", "web1", dist,
                             [("collector", url, fp, "pw-" + key_type)])
    recv = sc.daemon(f"receiver-{key_type}", rconf, "receiver")
    send = sc.daemon(f"sender-{key_type}", sconf, "sender")
    recv.start()
    recv.wait_log(rf"listening on {url}")
    check_tls_policy(sc, key_type, port)
    name = trail_name(60 + index)
    data = os.urandom(1_000_000)
    with open(os.path.join(dist, name), "wb") as f:
        f.write(data)
    want = sha256_file(os.path.join(dist, name))
    send.start()
    send.wait_log(rf"shipped {name}")
    got = os.path.join(remote, "web1", name)
    wait_until(lambda: os.path.exists(got), timeout=10, what=f"{got} to exist")
    check_equal(sha256_file(got), want, f"sha256 of the copy ({key_type} receiver key)")
    send.stop()
    recv.stop()
    sc.note(f"{key_type}: shipped 1,000,000 bytes, identical")


def body(sc):
    for index, key_type in enumerate(["rsa", "ec", "ed25519"]):
        one_key_type(sc, key_type, index)


if __name__ == "__main__":
    run_scenario("key_types", body)
