#!/usr/bin/env python3
"""The sender starts before its dist directory exists (auditd not set up
yet): it says so, keeps retrying without exiting, and once the directory
appears with a trail in it, ships it; then the receiver starts with its
base directory missing too (it creates it) and the trail arrives identical."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, give_directories, run_scenario, sha256_file,  # noqa: E402
                     trail_name, write_random_file)


def body(sc):
    recv, send = sc.standard_pair()
    os.rmdir(sc.dist)
    check(not os.path.exists(sc.remote), "test bug: the receiver's directory exists already")
    send.start()
    send.wait_log(rf"cannot open dist directory {sc.dist}: .*; retrying in \d+ ms", count=2)
    os.mkdir(sc.dist, 0o750)
    if os.geteuid() == 0:  # the sender runs as nobody and removes shipped links
        give_directories(send.conf, "nobody")
    name = trail_name(100)
    digest = write_random_file(os.path.join(sc.dist, name), 500_000)
    send.wait_log(r"cannot connect to tls://127\.0\.0\.1:\d+: Connection refused")
    recv.start()
    send.wait_log(rf"shipped {name}\b", timeout=60)
    check_equal(file_size(sc.remote_file(name)), 500_000, f"size of {name}")
    check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name}")
    check_equal(os.listdir(sc.dist), [], "dist directory")
    sc.note("sender waited for its dist directory, then shipped; receiver made its directory")


if __name__ == "__main__":
    run_scenario("missing_dist", body)
