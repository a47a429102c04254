#!/usr/bin/env python3
"""Resume beyond 4 GiB (64-bit sizes on the wire and in the resume logic),
without moving 4 GiB: the receiver already holds a sparse copy of a
`.not_terminated` trail with 4 GiB + 12345 bytes; the sender's file is the
same plus a 3 MiB tail. The receiver reports that size, the sender resumes
at exactly that offset and sends only the tail (the copy stays sparse), the
producer renames the trail while it is shipped, and the copy ends with the
final name and the right bytes around and after the 4 GiB mark."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MiB, Skip, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, trail_name, wait_until)

PREFIX = 4 * 1024 * MiB + 12345
TAIL = 3 * MiB + 7


def sparse_copy(path, block):
    """A file of PREFIX bytes: a hole, then `block` at its end."""
    with open(path, "xb") as f:
        f.truncate(PREFIX - len(block))
        f.seek(PREFIX - len(block))
        f.write(block)


def region_sha(path, start, end):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            b = f.read(min(left, MiB))
            check(b, f"{path}: short read at {end - left}")
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()  # creates the host directory, owned by the receiver's user
    name = trail_name(95, "not_terminated")
    final = trail_name(95)
    block = os.urandom(MiB)
    src = os.path.join(sc.source, name)
    sparse_copy(src, block)
    if os.stat(src).st_blocks * 512 > 64 * MiB:
        raise Skip(f"{sc.root} does not keep files sparse: a 4 GiB test file would be written")
    with open(src, "ab") as f:
        f.write(os.urandom(TAIL))
    total = PREFIX + TAIL
    remote = sc.remote_file(name)
    sparse_copy(remote, block)
    st = os.stat(sc.host_dir)
    os.chown(remote, st.st_uid, st.st_gid)
    os.chmod(remote, 0o600)
    os.link(src, os.path.join(sc.dist, name))

    send.start()
    send.wait_log(rf"connected to .*; receiver has {name} at {PREFIX}\b")
    send.wait_log(rf"resuming {name} at offset {PREFIX}\b")
    wait_until(lambda: file_size(remote) >= total, timeout=30,
               what=f"the {TAIL}-byte tail at the receiver", alive=(recv, send))
    os.rename(os.path.join(sc.dist, name), os.path.join(sc.dist, final))
    send.wait_log(rf"shipped {final}\b", timeout=30)
    check_equal(list_files(sc.host_dir), [final], "files in the receiver's host directory")
    copy = sc.remote_file(final)
    check_equal(file_size(copy), total, f"size of {final}")
    start = PREFIX - len(block)
    check_equal(region_sha(copy, start, total), region_sha(src, start, total),
                f"bytes {start}..{total} of {final}")
    check_equal(region_sha(copy, 0, MiB), hashlib.sha256(bytes(MiB)).hexdigest(),
                f"first MiB of {final} (a hole: zeros)")
    allocated = os.stat(copy).st_blocks * 512
    check(allocated < 64 * MiB, f"{final} has {allocated} bytes allocated: the prefix was "
                                f"written again instead of resumed")
    sc.note(f"resumed at offset {PREFIX} (> 4 GiB), sent the {TAIL}-byte tail only")


if __name__ == "__main__":
    run_scenario("resume_large_offset", body)
