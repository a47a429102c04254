#!/usr/bin/env python3
"""A trail truncated while it is being shipped (issue 11, item 7): a
`.not_terminated` trail is written and shipped up to 1 MiB, then truncated to
100 bytes in the dist directory (possible tampering) and written again past
its old end. The sender must not continue from the new bytes: it logs an
error naming the trail, the status shows it, the receiver's copy is exactly
the 1 MiB prefix that was shipped (no spliced bytes), the link is left in
place, and a newer trail is shipped as usual."""
import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, GrowingTrail, Skip, check, check_equal, file_size,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)


def sender_status(sc, sock):
    p = subprocess.run([sc.binary, "status", "--json", "--control-socket", sock],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"exit status of auditdistd status ({p.stderr.strip()})")
    return [h for h in json.loads(p.stdout)["hosts"] if h["role"] == "sender"][0]


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (the status socket is root-only)")
    sc.mkdir("run")
    sock = sc.path("run", "sender.sock")
    recv, send = sc.standard_pair(sender_args=["--control-socket", sock])
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    t = GrowingTrail(sc, 1)
    prefix = os.urandom(MiB)
    t.append(data=prefix)
    copy = sc.remote_file(t.name)
    wait_until(lambda: file_size(copy) == MiB, timeout=20, what="1 MiB on the receiver")
    time.sleep(0.5)  # acknowledged and idle at the end of the trail

    src = os.path.join(sc.source, t.name)
    os.truncate(src, 100)
    send.wait_log(rf"not sending more of \S*{t.name}: it was truncated to 100 bytes", timeout=10)
    with open(src, "ab") as f:  # written again past the old end
        f.write(os.urandom(2 * MiB))
    time.sleep(1.5)
    check_equal(file_size(copy), MiB, f"size of {t.name} on the receiver")
    with open(copy, "rb") as f:
        check(hashlib.sha256(f.read()).digest() == hashlib.sha256(prefix).digest(),
              "the receiver's copy is not the prefix that was shipped")
    check(os.path.exists(os.path.join(sc.dist, t.name)), "the truncated trail's link was removed")
    s = sender_status(sc, sock)
    check("truncated" in (s["last_error"] or ""), f"the status does not show the truncation: {s}")
    sc.note(f"truncated while shipping: receiver keeps the 1 MiB prefix; status {s['last_error']!r}")

    nxt = trail_name(2)
    _, digest = sc.add_trail(nxt, 300_000)
    send.wait_log(rf"shipped {nxt}", timeout=30)
    check_equal(sha256_file(sc.remote_file(nxt)), digest, f"sha256 of {nxt}")
    check_equal(file_size(copy), MiB, f"size of {t.name} on the receiver at the end")


if __name__ == "__main__":
    run_scenario("truncated_trail", body)
