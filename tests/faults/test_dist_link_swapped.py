#!/usr/bin/env python3
"""The dist link replaced by another file of the same name while its trail is
in flight (issue 11, item 7): the receiver is frozen (SIGSTOP) while the
sender opens, reads and CLOSEs trail 2; then dist/<trail 2> is renamed over
by a different file and the receiver resumes (SIGCONT). When the CLOSE is
acknowledged the sender compares device and inode and must not delete the
replacement: it logs the error and leaves it in place. The receiver has the
original bytes; the next trail is shipped as usual."""
import hashlib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (check, check_equal, group_processes, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


def bytes_read(daemon):
    """Bytes the processes of `daemon` have read so far (rchar of /proc/<pid>/io)."""
    total = 0
    for pid, _ in group_processes(daemon.pid):
        try:
            with open(f"/proc/{pid}/io") as f:
                total += int(next(l for l in f if l.startswith("rchar:")).split()[1])
        except (OSError, StopIteration):
            continue
    return total


def body(sc):
    recv, send = sc.standard_pair(timeout=5)
    recv.start()
    send.start()
    first = trail_name(1)
    sc.add_trail(first, 200_000)
    send.wait_log(rf"shipped {first}")

    recv.send_signal(signal.SIGSTOP)
    name = trail_name(2)
    size = 64 * 1024
    before = bytes_read(send)
    _, digest = sc.add_trail(name, size)
    link = os.path.join(sc.dist, name)
    # It opens the trail, reads it whole and queues the CLOSE in one go; the
    # frozen receiver cannot acknowledge it yet.
    wait_until(lambda: bytes_read(send) - before >= size, timeout=3, interval=0.005,
               what=f"the sender to read {name}")
    time.sleep(0.2)
    other = os.urandom(10_000)
    tmp = os.path.join(sc.source, "replacement.tmp")
    with open(tmp, "wb") as f:
        f.write(other)
    os.rename(tmp, link)
    recv.send_signal(signal.SIGCONT)

    send.wait_log(rf"shipped {name}|not removing \S*{name}", timeout=15)
    check(os.path.exists(link), "the replacement of the dist link was deleted unshipped")
    with open(link, "rb") as f:
        check(f.read() == other, "the file at the dist link is not the replacement")
    send.wait_log(rf"not removing \S*{name}: it replaced the trail shipped under this name")
    wait_until(lambda: os.path.exists(sc.remote_file(name)), timeout=10, what=f"{name} on the receiver")
    check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name} on the receiver")
    check(hashlib.sha256(other).hexdigest() != digest, "replacement equal to the original")
    sc.note("replacement left in place and reported; the receiver has the original")

    nxt = trail_name(3)
    _, digest3 = sc.add_trail(nxt, 100_000)
    send.wait_log(rf"shipped {nxt}", timeout=30)
    check_equal(sha256_file(sc.remote_file(nxt)), digest3, f"sha256 of {nxt}")
    check(os.path.exists(link), "the replacement was deleted later")


if __name__ == "__main__":
    run_scenario("dist_link_swapped", body)
