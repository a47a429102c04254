#!/usr/bin/env python3
"""A `.not_terminated` trail renamed while the sender or the receiver is down
(protocol-v0.md, "Resume": known bugs of the original to avoid):
  A. fully shipped, sender stopped (SIGTERM), renamed to its final name
     with no new bytes, sender restarted;
  B. partly shipped, sender killed (-9), bytes appended, renamed to
     `.crash_recovery`, sender restarted;
  C. partly shipped, receiver stopped, bytes appended, renamed to its final
     name, receiver restarted.
Each time the receiver ends with the new name only, holding every byte
(size and sha256), and the dist link is removed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (GrowingTrail as Growing, check_equal, file_size, list_files, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


def wait_remote_size(sc, name, size, daemons):
    wait_until(lambda: file_size(sc.remote_file(name)) >= size, timeout=30,
               what=f"{size} bytes of {name} at the receiver", alive=daemons)


def check_final(sc, trails, daemons):
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30,
               what="the dist directory to be emptied", alive=daemons)
    check_equal(list_files(sc.host_dir), sorted(t.name for t in trails),
                "files in the receiver's host directory")
    for t in trails:
        check_equal(file_size(sc.remote_file(t.name)), t.size, f"size of {t.name}")
        check_equal(sha256_file(sc.remote_file(t.name)), t.hash.hexdigest(), f"sha256 of {t.name}")


def offline_rename(sc, done, both, index, first, down, extra, kind, up, note):
    """Ships `first` bytes of a growing trail, takes a daemon down with
    `down`, appends `extra` bytes and renames the trail to `kind` meanwhile,
    brings the daemon back with `up`: the receiver must end with the new
    name and every byte."""
    g = Growing(sc, index)
    g.append(first)
    wait_remote_size(sc, g.name, g.size, both)
    down()
    if extra:
        g.append(extra)
    g.rename(kind)
    up()
    both[1].wait_log(rf"shipped {g.name}\b", timeout=30)
    done.append(g)
    check_final(sc, done, both)
    sc.note(note)


def body(sc):
    recv, send = sc.standard_pair()
    both = (recv, send)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    done = []
    offline_rename(sc, done, both, 50, 300_000, send.stop, 0, "terminated", send.start,
                   "A: shipped whole, renamed while the sender was stopped: renamed at the "
                   "receiver too")
    offline_rename(sc, done, both, 51, 200_000, send.kill9, 77_777, "crash_recovery",
                   send.start, "B: partly shipped, sender killed, more bytes, renamed to "
                   ".crash_recovery while it was dead: all bytes, new name")
    offline_rename(sc, done, both, 52, 150_000, recv.stop, 99_999, "terminated", recv.start,
                   "C: appended and renamed while the receiver was down: all bytes, new name")

if __name__ == "__main__":
    run_scenario("rename_offline", body)
