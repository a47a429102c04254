#!/usr/bin/env python3
"""An idle connection survives: with `timeout 2` on both sides the sender
keeps the connection alive (keepalives) for 6 s with nothing to ship, no side
times out or reconnects, and a file created afterwards goes over the same
connection (the receiver authenticated exactly once)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, run_scenario, sha256_file,  # noqa: E402
                     trail_name)

TIMEOUT = 2
IDLE = 6.0


def body(sc):
    recv, send = sc.standard_pair(timeout=TIMEOUT)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    first = trail_name(90)
    size1, digest1 = sc.add_trail(first, 10_000)
    send.wait_log(rf"shipped {first}\b", timeout=10)

    deadline = time.monotonic() + IDLE
    while time.monotonic() < deadline:  # bounded: IDLE seconds
        recv.assert_running("while idle")
        send.assert_running("while idle")
        time.sleep(0.2)
    trouble = r".*(?:connection lost|connection closed|reconnecting|no data for|timed out).*"
    for d in (recv, send):
        bad = re.findall(trouble, d.text())
        check(not bad, f"{d.label}: the idle connection broke within {IDLE:.0f} s "
                       f"(timeout {TIMEOUT} s): {bad[:3]}")

    second = trail_name(91)
    size2, digest2 = sc.add_trail(second, 20_000)
    send.wait_log(rf"shipped {second}\b", timeout=10)
    check_equal(recv.count_log(r"authenticated", since=recv.run_offset), 1,
                "number of connections the receiver authenticated")
    for name, size, digest in ((first, size1, digest1), (second, size2, digest2)):
        check_equal(file_size(sc.remote_file(name)), size, f"size of {name}")
        check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name}")
    sc.note(f"idle {IDLE:.0f} s with timeout {TIMEOUT} s: one connection throughout")


if __name__ == "__main__":
    run_scenario("idle_keepalive", body)
