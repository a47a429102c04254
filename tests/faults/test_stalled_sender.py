#!/usr/bin/env python3
"""A sender that freezes (SIGSTOP) in the middle of a 64 MiB transfer, with
`timeout 3` on both sides: the receiver gives up on the silent connection
within timeout + 3 s ("no data for 3 s") and syncs its copy; after SIGCONT
the sender finds its connection gone, reconnects, resumes exactly at the
size of the receiver's copy, and the file arrives byte-identical."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (partial_transfer, MiB, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)

TIMEOUT = 3
SIZE = 64 * MiB


def body(sc):
    recv, send, name, digest, remote = partial_transfer(sc, 120, SIZE, timeout=TIMEOUT)
    size = SIZE
    rmark, smark = recv.mark(), send.mark()
    send.send_signal(signal.SIGSTOP)
    frozen = time.monotonic()
    recv.wait_log(rf"no data for {TIMEOUT} s, closing the connection", since=rmark,
                  timeout=TIMEOUT + 10)
    noticed = time.monotonic() - frozen
    check(noticed <= TIMEOUT + 3, f"the receiver took {noticed:.1f} s to drop a connection silent "
                                  f"for longer than the {TIMEOUT} s timeout")
    held = file_size(remote)
    sc.note(f"receiver dropped the frozen sender after {noticed:.1f} s, holding {held} bytes")
    send.send_signal(signal.SIGCONT)
    r = recv.wait_log(rf"authenticated; resume point {name} at (\d+)", since=rmark, timeout=30)
    m = send.wait_log(rf"resuming {name} at offset (\d+)", since=smark, timeout=30)
    check_equal(int(r.group(1)), held, "the receiver's resume point vs. the size of its copy")
    check_equal(int(m.group(1)), held, "the sender's resume offset")
    send.wait_log(rf"shipped {name}\b", timeout=60)
    check_equal(file_size(remote), SIZE, f"size of {name}")
    check_equal(sha256_file(remote), digest, f"sha256 of {name}")
    check_equal(list_files(sc.host_dir), [name], "files in the receiver's host directory")
    sc.note("the thawed sender reconnected and resumed: file identical")


if __name__ == "__main__":
    run_scenario("stalled_sender", body)
