#!/usr/bin/env python3
"""A 256 MiB terminated trail file arrives byte-identical (size and sha256),
the sender logs "shipped NAME" and removes its dist link only then, and the
receiver's host directory holds exactly that one file, private (0700/0600)
and owned by the receiver's unprivileged user (when run as root)."""
import os
import pwd
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MiB, check, check_equal, file_size, fmt_rate, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)

SIZE = 256 * MiB


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()
    send.start()
    send.wait_log(r"\[collector\] connected to tls://127\.0\.0\.1:\d+; receiver has no file yet")

    name = trail_name(1)
    t0 = time.monotonic()
    size, digest = sc.add_trail(name, SIZE)  # written in source/, then linked into dist/
    sc.note(f"generated {size} bytes in {time.monotonic() - t0:.2f} s")
    dist_link = os.path.join(sc.dist, name)
    remote = sc.remote_file(name)

    t0 = time.monotonic()
    wait_until(lambda: not os.path.exists(dist_link), timeout=120,
               what=f"the dist link {name} to be removed", alive=(recv, send))
    elapsed = time.monotonic() - t0
    sc.note(f"shipped {SIZE // MiB} MiB in {elapsed:.2f} s ({fmt_rate(SIZE, elapsed)})")

    send.wait_log(rf"shipped {name}\b", timeout=5)
    recv.wait_log(rf"CLOSE {name}: ok", timeout=5)
    # The link goes only after the CLOSE ack, which comes after the receiver
    # synced the whole file: everything must already be there.
    check_equal(file_size(remote), size, f"size of the receiver's {name}")
    check_equal(sha256_file(remote), digest, f"sha256 of the receiver's {name}")
    check_equal(sha256_file(os.path.join(sc.source, name)), digest, "sha256 of the source file")
    check_equal(list_files(sc.host_dir), [name], "files in the receiver's host directory")
    check_equal(os.listdir(sc.dist), [], "dist directory after shipping")
    st = os.stat(remote)
    check(st.st_mode & 0o077 == 0,
          f"the received file is open to group/others (mode {st.st_mode & 0o777:o})")
    dst = os.stat(sc.host_dir)
    check(dst.st_mode & 0o077 == 0,
          f"the host directory is open to group/others (mode {dst.st_mode & 0o777:o})")
    if os.geteuid() == 0:  # the receiver ran with -u nobody
        nobody = pwd.getpwnam("nobody").pw_uid
        check_equal(dst.st_uid, nobody, "owner of the host directory (the receiver's user)")
        check_equal(st.st_uid, nobody, "owner of the received file (the receiver's user)")
    check_equal(send.count_log(r"shipped "), 1, "number of 'shipped' lines")


if __name__ == "__main__":
    run_scenario("big_file", body)
