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
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check_equal, file_size, list_files, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


class Growing:
    """A trail the test writes like auditd: source/<name> hard-linked in dist/."""

    def __init__(self, sc, index):
        self.sc = sc
        self.name = trail_name(index, "not_terminated")
        self.index = index
        self.hash = hashlib.sha256()
        self.size = 0
        open(os.path.join(sc.source, self.name), "xb").close()
        os.link(os.path.join(sc.source, self.name), os.path.join(sc.dist, self.name))

    def append(self, n):
        data = os.urandom(n)
        with open(os.path.join(self.sc.source, self.name), "ab") as f:
            f.write(data)
        self.hash.update(data)
        self.size += n

    def rename(self, kind):
        new = trail_name(self.index, kind)
        for d in (self.sc.dist, self.sc.source):
            os.rename(os.path.join(d, self.name), os.path.join(d, new))
        self.name = new


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


def body(sc):
    recv, send = sc.standard_pair()
    both = (recv, send)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    done = []

    # A: shipped whole, renamed while the sender is stopped.
    a = Growing(sc, 50)
    a.append(300_000)
    wait_remote_size(sc, a.name, a.size, both)
    send.stop()
    a.rename("terminated")
    send.start()
    send.wait_log(rf"shipped {a.name}\b", timeout=30)
    done.append(a)
    check_final(sc, done, both)
    sc.note("A: renamed while the sender was stopped: renamed at the receiver too")

    # B: partly shipped (the sender is killed while the file grows), more
    # bytes, renamed to .crash_recovery while the sender is dead.
    b = Growing(sc, 51)
    b.append(200_000)
    wait_remote_size(sc, b.name, b.size, both)
    send.kill9()
    b.append(77_777)
    b.rename("crash_recovery")
    send.start()
    send.wait_log(rf"shipped {b.name}\b", timeout=30)
    done.append(b)
    check_final(sc, done, both)
    sc.note("B: renamed to .crash_recovery while the sender was dead: all bytes, new name")

    # C: the receiver is down while the producer appends and renames.
    c = Growing(sc, 52)
    c.append(150_000)
    wait_remote_size(sc, c.name, c.size, both)
    recv.stop()
    c.append(99_999)
    c.rename("terminated")
    recv.start()
    send.wait_log(rf"shipped {c.name}\b", timeout=30)
    done.append(c)
    check_final(sc, done, both)
    sc.note("C: appended and renamed while the receiver was down: all bytes, new name")


if __name__ == "__main__":
    run_scenario("rename_offline", body)
