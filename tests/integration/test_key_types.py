#!/usr/bin/env python3
"""The receiver's key may be RSA, ECDSA or Ed25519: for each, a receiver with
that certificate serves a sender that pins its fingerprint, and a trail file
arrives identical."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check_equal, free_port, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)


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
