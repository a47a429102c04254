#!/usr/bin/env python3
"""IPv6 loopback: the receiver listens on tls://[::1]:PORT and knows host
"web1" at remote "::1"; the sender connects to tls://[::1]:PORT. A terminated
trail and a growing `.not_terminated` one (renamed at the end) arrive
identical, and the receiver logs the peer as [::1]. Skipped (exit 77) when
::1 is not usable on this machine."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check_equal, file_size, ipv6_loopback_available,  # noqa: E402
                     list_files, run_scenario, sha256_file, trail_name, wait_until)


def body(sc):
    if not ipv6_loopback_available():
        raise Skip("::1 is not available (no IPv6 loopback): cannot test tls://[::1]")
    recv, send = sc.standard_pair(host="::1")
    recv.start()
    recv.wait_log(rf"listening on tls://\[::1\]:{sc.port}")
    send.start()
    send.wait_log(rf"connected to tls://\[::1\]:{sc.port}; receiver has no file yet")
    recv.wait_log(r"\[web1 \[::1\]:\d+\] authenticated")

    first = trail_name(40)
    expected = {first: sc.add_trail(first, 3_000_000)}
    growing, final = trail_name(41, "not_terminated"), trail_name(41)
    src = os.path.join(sc.source, growing)
    h = hashlib.sha256()
    total = 0
    with open(src, "wb", buffering=0) as f:
        os.link(src, os.path.join(sc.dist, growing))
        for i in range(5):
            piece = os.urandom(50_000 + i)
            f.write(piece)
            h.update(piece)
            total += len(piece)
            want = total
            wait_until(lambda: file_size(sc.remote_file(growing)) >= want, timeout=10,
                       what=f"piece {i} of {growing}", alive=(recv, send))
    os.rename(os.path.join(sc.dist, growing), os.path.join(sc.dist, final))
    expected[final] = (total, h.hexdigest())

    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30,
               what="the dist directory to be emptied", alive=(recv, send))
    check_equal(list_files(sc.host_dir), sorted(expected), "files in the receiver's host dir")
    for name, (size, digest) in expected.items():
        check_equal(file_size(sc.remote_file(name)), size, f"size of {name}")
        check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name}")
    sc.note("2 trails shipped over [::1]")


if __name__ == "__main__":
    run_scenario("ipv6", body)
