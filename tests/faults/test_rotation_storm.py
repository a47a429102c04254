#!/usr/bin/env python3
"""Rotation after rotation: 40 `.not_terminated` trails in a row, each
written in a few pieces while the sender follows it (so the sender sits at
the end of the file), then a last piece and the rename to the final name
right away, and the next trail created at once, as auditd does on `audit -n`.
Bytes written just before a rename must not be lost: every trail arrives
under its final name (a terminated name, or `.crash_recovery` for every
fifth one) with every byte, and nothing else is left."""
import hashlib
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (check_equal, file_size, list_files, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)

COUNT = 40


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    rng = random.Random(40)
    expected = {}
    for i in range(COUNT):
        name = trail_name(200 + i, "not_terminated")
        final = trail_name(200 + i, "crash_recovery" if i % 5 == 4 else "terminated")
        path = os.path.join(sc.dist, name)
        h = hashlib.sha256()
        size = 0
        with open(path, "xb", buffering=0) as f:
            for _ in range(3):
                piece = os.urandom(rng.randint(1, 5000))
                f.write(piece)
                h.update(piece)
                size += len(piece)
                time.sleep(0.005)
            last = os.urandom(rng.randint(1, 70_000))
            f.write(last)
            h.update(last)
            size += len(last)
            os.rename(path, os.path.join(sc.dist, final))
        expected[final] = (size, h.hexdigest())

    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60,
               what="the dist directory to be emptied", alive=(recv, send))
    check_equal(list_files(sc.host_dir), sorted(expected), "files in the receiver's host dir")
    lost = []
    for name, (size, digest) in sorted(expected.items()):
        got = file_size(sc.remote_file(name))
        if got != size or sha256_file(sc.remote_file(name)) != digest:
            lost.append(f"{name}: {got} of {size} bytes")
    check_equal(lost, [], "trails that arrived incomplete or different")
    sc.note(f"{COUNT} rotations: all trails complete under their final names")


if __name__ == "__main__":
    run_scenario("rotation_storm", body)
