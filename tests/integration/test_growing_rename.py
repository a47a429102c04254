#!/usr/bin/env python3
"""A `.not_terminated` trail is followed while it grows: pieces written over
~2 s each reach the receiver quickly (every latency < 2 s; the median is
printed). Then the producer appends a last piece and at once renames the file
to its final name (as auditd does on rotation): the receiver's copy gets the
final name, holding every byte (size and sha256), and the dist link is
removed after the CLOSE. Meanwhile the next `.not_terminated` trail, created
right after the rotation and written in 2000 small records, is followed too
and finally renamed to `.crash_recovery`: in the end the receiver holds
exactly the two final names, identical."""
import hashlib
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, list_files, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

PIECES = 20
PERIOD = 0.1          # seconds between pieces: ~2 s of writing
MAX_LATENCY = 2.0     # seconds from write() to the bytes being in the receiver's file


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()
    send.start()
    send.wait_log(r"connected to .*; receiver has no file yet")

    growing = trail_name(3, "not_terminated")
    final = trail_name(3)
    check(final[:15] == growing[:15], "test bug: the final name must keep the start time")
    src = os.path.join(sc.source, growing)
    remote_growing = sc.remote_file(growing)

    rng = random.Random(0x5EED)
    h = hashlib.sha256()
    total = 0
    fd = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    try:
        os.link(src, os.path.join(sc.dist, growing))
        wait_until(lambda: os.path.exists(remote_growing), timeout=10,
                   what=f"the receiver to create {growing}", alive=(recv, send))
        latencies = []
        next_at = time.monotonic()
        sizes = [1, 17, 65535, 65536, 65537] + [rng.randint(1, 300_000) for _ in range(PIECES - 5)]
        for i, n in enumerate(sizes):
            piece = os.urandom(n)
            written_at = time.monotonic()
            check_equal(os.write(fd, piece), n, "bytes written")
            h.update(piece)
            total += n
            want = total
            wait_until(lambda: file_size(remote_growing) >= want, timeout=10, interval=0.002,
                       what=f"piece {i} ({n} bytes) at the receiver", alive=(recv, send))
            latency = time.monotonic() - written_at
            latencies.append(latency)
            check_equal(file_size(remote_growing), total, f"receiver size after piece {i}")
            next_at += PERIOD
            time.sleep(max(0.0, next_at - time.monotonic()))
        median = statistics.median(latencies)
        sc.note(f"{len(latencies)} pieces, {total} bytes: latency median {median * 1000:.1f} ms, "
                f"max {max(latencies) * 1000:.1f} ms")
        worst = max(latencies)
        check(worst < MAX_LATENCY, f"a piece took {worst:.2f} s to reach the receiver "
                                   f"(limit {MAX_LATENCY} s)")
        check_equal(sha256_file(remote_growing), h.hexdigest(), "sha256 of the growing copy")

        # Rotation: a last piece, then the rename right away (no pause: the
        # sender must read to the end again after it sees the rename).
        last = os.urandom(123_457)
        os.write(fd, last)
        h.update(last)
        total += len(last)
    finally:
        os.close(fd)
    os.rename(os.path.join(sc.dist, growing), os.path.join(sc.dist, final))
    os.rename(src, os.path.join(sc.source, final))
    # auditd opens the next trail right after the rotation, and writes to it
    # at once, in many small records.
    nxt = trail_name(4, "not_terminated")
    nxt_final = trail_name(4, "crash_recovery")
    nxt_src = os.path.join(sc.source, nxt)
    h2 = hashlib.sha256()
    total2 = 0
    with open(nxt_src, "xb", buffering=0) as f:
        os.link(nxt_src, os.path.join(sc.dist, nxt))
        for i in range(2000):
            record = os.urandom(rng.randint(1, 64))
            f.write(record)
            h2.update(record)
            total2 += len(record)

    send.wait_log(rf"shipped {final}\b", timeout=30)
    recv.wait_log(rf"CLOSE {final}: ok", timeout=5)
    check(not os.path.exists(os.path.join(sc.dist, final)), f"dist link {final} not removed")
    remote_final = sc.remote_file(final)
    check_equal(file_size(remote_final), total, f"size of the receiver's {final}")
    check_equal(sha256_file(remote_final), h.hexdigest(), f"sha256 of the receiver's {final}")
    check_equal(sha256_file(os.path.join(sc.source, final)), h.hexdigest(), "sha256 of the source")
    sc.note(f"rotation: {final} complete ({total} bytes) and closed under its final name")

    wait_until(lambda: file_size(sc.remote_file(nxt)) >= total2, timeout=10,
               what=f"2000 small records of {nxt} at the receiver", alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(nxt)), h2.hexdigest(), f"sha256 of {nxt}")
    # This one ends as a crash_recovery trail (auditd restarted after a crash).
    os.rename(os.path.join(sc.dist, nxt), os.path.join(sc.dist, nxt_final))
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30,
               what="the dist directory to be emptied", alive=(recv, send))
    check_equal(list_files(sc.host_dir), sorted([final, nxt_final]),
                "files in the receiver's host directory")
    check_equal(file_size(sc.remote_file(nxt_final)), total2, f"size of {nxt_final}")
    check_equal(sha256_file(sc.remote_file(nxt_final)), h2.hexdigest(), f"sha256 of {nxt_final}")
    sc.note(f"next trail: 2000 small records ({total2} bytes), renamed to {nxt_final}: identical")


if __name__ == "__main__":
    run_scenario("growing_rename", body)
