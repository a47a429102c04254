#!/usr/bin/env python3
"""A sender freezes (SIGSTOP) in the middle of a 64 MiB transfer, leaving a
half-open connection the receiver still holds (timeout 20 s). A new sender
process with the same name connects: the receiver replaces the old
connection at once (it does not wait for the timeout), reports the size of
its copy as the resume point, the new sender resumes exactly there and the
copy ends up byte-identical (size and sha256). The frozen sender is then
killed."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (partial_transfer, MiB, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_size_stable,
                     wait_until)

SIZE = 64 * MiB


def body(sc):
    recv, send, name, digest, remote = partial_transfer(sc, 110, SIZE, timeout=20)
    size = SIZE
    send.send_signal(signal.SIGSTOP)
    frozen_at = file_size(remote)
    # Let the receiver write what it had already read.
    held = wait_size_stable(remote, timeout=10, alive=(recv,))
    sc.note(f"sender frozen at {frozen_at} bytes; the receiver's copy holds {held}")

    rmark = recv.mark()
    second = sc.daemon("sender2", send.conf, "sender")
    t0 = time.monotonic()
    second.start()
    recv.wait_log(r"replacing the previous connection of this host", since=rmark, timeout=10)
    r = recv.wait_log(rf"authenticated; resume point {name} at (\d+)", since=rmark, timeout=10)
    replaced = time.monotonic() - t0
    check(replaced < 5, f"the receiver took {replaced:.1f} s to replace the frozen connection")
    check_equal(int(r.group(1)), held, "the receiver's resume point vs. the size of its copy")
    m = second.wait_log(rf"resuming {name} at offset (\d+)", timeout=10)
    check_equal(int(m.group(1)), held, "the new sender's resume offset")
    second.wait_log(rf"shipped {name}\b", timeout=60)
    check_equal(file_size(remote), SIZE, f"size of {name}")
    check_equal(sha256_file(remote), digest, f"sha256 of {name}")
    check_equal(list_files(sc.host_dir), [name], "files in the receiver's host directory")
    send.kill9()  # SIGKILL ends a stopped process too
    sc.note(f"connection replaced after {replaced:.2f} s; resumed at {held}; file identical")


if __name__ == "__main__":
    run_scenario("replaced_connection", body)
