#!/usr/bin/env python3
"""The dist directory is removed and created again while the sender runs (an
administrator re-creating /var/audit/dist): the sender notices, opens the
new directory and ships the files that appear in it."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (check_equal, give_directories, run_scenario, sha256_file,  # noqa: E402
                     trail_name)


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()
    send.start()
    first = trail_name(80)
    sc.add_trail(first, 100_000)
    send.wait_log(rf"shipped {first}")

    shutil.rmtree(sc.dist)
    os.mkdir(sc.dist)
    if os.geteuid() == 0:  # the sender runs as nobody and removes shipped links
        give_directories(send.conf, "nobody")
    send.wait_log(r"dist directory .* (was removed|removed or replaced)", timeout=30)
    second = trail_name(81)
    _, digest = sc.add_trail(second, 200_000)
    send.wait_log(rf"shipped {second}", timeout=60)
    check_equal(sha256_file(sc.remote_file(second)), digest, "sha256 of the file shipped "
                "from the new dist directory")


if __name__ == "__main__":
    run_scenario("dist_replaced", body)
