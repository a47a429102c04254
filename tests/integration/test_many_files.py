#!/usr/bin/env python3
"""50 small terminated trail files, 25 present before the sender starts and
25 linked while it runs, with sizes on the 64 KiB frame boundaries and an
empty one: all arrive byte-identical under exactly the same names, are opened
and shipped in name order, and the dist directory ends empty."""
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check_equal, file_size, list_files, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

COUNT = 50


def body(sc):
    recv, send = sc.standard_pair()
    rng = random.Random(50)
    special = [0, 1, 65535, 65536, 65537, 131072, 200_000]
    sizes = special + [rng.randint(1, 100_000) for _ in range(COUNT - len(special))]
    rng.shuffle(sizes)
    names = [trail_name(10 + i) for i in range(COUNT)]
    expected = {}

    for name, size in zip(names[:25], sizes[:25]):
        expected[name] = sc.add_trail(name, size)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    for name, size in zip(names[25:], sizes[25:]):
        expected[name] = sc.add_trail(name, size)

    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60,
               what="the dist directory to be emptied", alive=(recv, send))
    check_equal(list_files(sc.host_dir), sorted(names), "names in the receiver's host directory")
    for name in names:
        size, digest = expected[name]
        remote = sc.remote_file(name)
        check_equal(file_size(remote), size, f"size of {name}")
        check_equal(sha256_file(remote), digest, f"sha256 of {name}")
    opened = re.findall(r"OPEN (\d{14}\.\S+): ok", recv.text())
    check_equal(opened, sorted(names), "order of the OPENs at the receiver")
    shipped = re.findall(r"shipped (\S+)", send.text())
    check_equal(shipped, sorted(names), "order of the 'shipped' lines of the sender")
    sc.note(f"{COUNT} files, {sum(sizes)} bytes, shipped in name order")


if __name__ == "__main__":
    run_scenario("many_files", body)
