#!/usr/bin/env python3
"""A failed fdatasync on the receiver is never forgotten. The receiver's
directory is an ext4 file system (no journal, inline data) on a loop device
whose backing file sits on a small tmpfs. 1 MiB of a growing trail is shipped
and synced; then the tmpfs is filled, so the next writeback fails and the
receiver's fdatasync returns an error (ENOSPC/EIO from the loop device) while
the trail's size already counts the unsynced bytes. The receiver must:
record the failure in <host dir>/.auditdistd-sync-failed with the trail and
its last synced size (at least the acked 1 MiB, less than the file's
size); after a restart still refuse the host
(log and `status`, text and JSON) and never offer a resume point past the
synced size; and, once an operator frees the space, cuts the trail to the
recorded size and removes the marker (docs/troubleshooting.md), accept the
host again at the synced size, so that the stored bytes equal the source.
Skipped (77) without root, tmpfs, mkfs.ext4 or a loop device."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, GrowingTrail, Skip, check, check_equal, file_size,  # noqa: E402
                     run_scenario, sha256_file, wait_until)

MARKER = ".auditdistd-sync-failed"


def run(args, skip_reason=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        message = f"{' '.join(args)}: {p.stderr.strip()}"
        if skip_reason:
            raise Skip(f"{skip_reason} ({message})")
        raise AssertionError(message)
    return p.stdout.strip()


def failing_disk(sc, cleanup):
    """ext4 on a loop device backed by a sparse file on a 16 MiB tmpfs,
    mounted at sc.remote; returns the backing directory."""
    if os.geteuid() != 0:
        raise Skip("needs root (tmpfs, loop device, mount)")
    back = sc.mkdir("back")
    run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", back], "cannot mount a tmpfs")
    cleanup.append(["umount", "-l", back])
    image = os.path.join(back, "ext4.img")
    with open(image, "wb") as f:
        f.truncate(64 * MiB)
    # 4 KiB blocks, like the tmpfs pages: a write into a page the backing
    # file lacks fails whole. (With 1 KiB blocks a write can start in a page
    # it has and end in one it lacks; the loop driver then reports the short
    # write as success and drops the rest: a disk that lies, which no
    # software can detect.) No lazy inode table init: it would write (and
    # punch holes in) the backing file behind the test's back.
    run(["mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "^has_journal,inline_data",
         "-E", "lazy_itable_init=0,lazy_journal_init=0", image], "no mkfs.ext4")
    loop = run(["losetup", "-f", "--show", image], "no loop device")
    cleanup.insert(0, ["losetup", "-d", loop])
    os.makedirs(sc.remote, exist_ok=True)
    run(["mount", "-o", "errors=continue,noinit_itable", loop, sc.remote],
        "cannot mount the loop device")
    cleanup.insert(0, ["umount", "-l", sc.remote])
    return back


def prepare_host_dir(sc):
    """The host directory, its blocks written while the tmpfs has room: a
    directory grown past inline data, and inode table blocks in use, so that
    creating the small marker later needs no new block of the backing file."""
    os.mkdir(sc.host_dir, 0o700)
    names = [os.path.join(sc.host_dir, f"{'x' * 200}{i}") for i in range(32)]
    for n in names:
        open(n, "wb").close()
    os.sync()
    for n in names:
        os.unlink(n)
    os.chown(sc.host_dir, 65534, 65534)
    os.sync()


def fill(back):
    with open(os.path.join(back, "filler"), "wb") as f:
        try:
            for _ in range(64):
                f.write(b"\xff" * MiB)
                f.flush()
        except OSError:
            pass
    used = os.statvfs(back)
    check(used.f_bavail == 0, "the tmpfs behind the loop device is not full")


def status(sc, pidfile, json_out):
    args = [sc.binary, "status", "-P", pidfile] + (["--json"] if json_out else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"exit status of auditdistd status (stderr: {p.stderr.strip()})")
    return json.loads(p.stdout)["hosts"][0] if json_out else p.stdout


def first_difference(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        x, y = fa.read(), fb.read()
    n = next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), min(len(x), len(y)))
    return n


def resume_offsets(recv, since):
    return [int(m) for m in re.findall(r"resume point \S+ at (\d+)", recv.text(since))]


def body(sc):
    cleanup = []
    pidfile = sc.path("receiver.pid")
    recv, send = sc.standard_pair(receiver_args=["-P", pidfile])
    try:
        back = failing_disk(sc, cleanup)
        prepare_host_dir(sc)
        trail = GrowingTrail(sc, 1)
        trail.append(MiB)
        recv.start()
        send.start()
        copy = sc.remote_file(trail.name)
        wait_until(lambda: os.path.exists(copy) and file_size(copy) == MiB, timeout=30,
                   what="the first MiB on the receiver")
        time.sleep(1)  # its group commit (fdatasync) and ack follow the write at once

        fill(back)
        trail.append(4 * MiB)
        recv.wait_log(r"fdatasync failed", timeout=30)
        time.sleep(0.5)  # the failure is recorded right after the failed call
        refused = status(sc, pidfile, True).get("refused")
        run1 = recv.text()

        # A restart does not forget it: the host is refused, no resume point
        # past the synced size is offered.
        recv.stop()
        mark = recv.mark()
        recv.start()
        recv.wait_log(r"refused: |resume point", timeout=60)
        offsets = resume_offsets(recv, mark)
        check(all(o <= MiB for o in offsets),
              f"resume points past the acked size ({MiB}) after a restart: {offsets}")
        recv.wait_log(r"this host is refused until an operator removes .*" + MARKER)
        recv.wait_log(r"refused: an earlier fdatasync failed, so the stored size is no safe "
                      r"resume point", timeout=60)
        check(re.search(r"sync failure recorded in .*" + MARKER, run1),
              "the receiver did not log that it recorded the failure")
        check(refused and MARKER in refused, f"status before the restart: {refused}")
        # The marker: the trail and its size at the last fdatasync that
        # succeeded (the acked MiB, or a little more if a batch still fit in
        # blocks the backing file already had).
        marker = os.path.join(sc.host_dir, MARKER)
        with open(marker) as f:
            content = f.read()
        m = re.fullmatch(re.escape(trail.name) + r" (\d+)\n", content)
        check(m, f"the marker's contents: {content!r}")
        synced = int(m.group(1))
        sc.note(f"fdatasync failed; the marker says {synced} bytes synced of {file_size(copy)} stored")
        check(MiB <= synced < file_size(copy),
              f"synced size {synced}: not between the acked MiB and the size {file_size(copy)}")
        check_equal(offsets, [], "resume points offered while the failure is not cleared")
        doc = status(sc, pidfile, True)
        check(doc["refused"] and f"{trail.name}: {synced} bytes known synced" in doc["refused"],
              f"status JSON after the restart: {doc}")
        text = status(sc, pidfile, False)
        check("REFUSED:" in text and MARKER in text, f"status text after the restart:\n{text}")
        check_equal(resume_offsets(recv, mark), [], "resume points offered while the marker is there")

        # The operator: room again, the trail cut to the synced size, the marker removed.
        os.unlink(os.path.join(back, "filler"))
        subprocess.run(["chattr", "-a", copy], capture_output=True, timeout=30)
        os.truncate(copy, synced)
        mark = recv.mark()
        os.unlink(marker)
        recv.wait_log(rf"resume point {trail.name} at {synced}\b", since=mark, timeout=90)
        recv.wait_log(r"was removed: accepting this host again", since=mark)
        wait_until(lambda: file_size(copy) == trail.size, timeout=60,
                   what="the whole trail on the receiver")
        check(all(o <= synced for o in resume_offsets(recv, mark)),
              "a resume point past the synced size")
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")  # compare what is on the disk, not the page cache
        check(sha256_file(copy) == trail.hash.hexdigest(),
              f"the copy differs from the source from offset "
              f"{first_difference(os.path.join(sc.source, trail.name), copy)} "
              f"(synced size in the marker: {synced})")
        check(status(sc, pidfile, True)["refused"] is None, "status still shows the refusal")
        sc.stop_all()
    finally:
        sc.kill_all()
        for args in cleanup:
            subprocess.run(args, capture_output=True, timeout=60)


if __name__ == "__main__":
    run_scenario("sync_failure", body)
