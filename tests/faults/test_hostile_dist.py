#!/usr/bin/env python3
"""A hostile or odd dist directory (docs/faults.md, "The dist directory").
The sender runs as user nobody here (setpriv), so that a file with mode 000
is really unreadable to it. In the dist directory, next to good trails:
  - names that are not trail names (one with terminal escapes), a symlink to
    /etc/passwd, a directory and a FIFO under valid trail names: each logged
    once, never sent, left in place; the trails after them are shipped;
  - a trail that sorts before one already shipped (a clock set back): logged
    once (again only after the repeat interval, 600 s), not sent, link left;
    the next trail is shipped;
  - a trail unreadable for 3 s: retried, then shipped whole;
  - a trail unreadable for good: logged twice (first failure, giving up after
    25 to 31 s), never blocks the trail after it, and the sender stays idle while
    it waits (CPU time bounded);
  - a `.not_terminated` trail left behind (a newer trail appears and it is
    never renamed): closed as it is after 2 s, the newer one shipped.
Every good trail arrives byte-identical; nothing else arrives."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, Skip, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)

NOBODY = 65534
ODD_NAMES = ["notes.txt", "20260101000000.garbage", ".hidden", "evil\x1b[31mred"]


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root to run the sender as another user")
    recv, send = sc.standard_pair()
    send.wrapper = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    for path in (sc.dist, sc.path("sender.conf")):
        os.chown(path, NOBODY, NOBODY)
    expected = {}

    def good(index, size=MiB, kind="terminated", mode=0o600):
        """A trail owned by the sender's user, linked into dist only once its
        mode is set (mode 0: unreadable to the sender)."""
        name = trail_name(index, kind)
        expected[name] = sc.add_trail(name, size, link=False)
        src = os.path.join(sc.source, name)
        os.chown(src, NOBODY, NOBODY)
        os.chmod(src, mode)
        os.link(src, os.path.join(sc.dist, name))
        return name

    def shipped(name, timeout=30):
        send.wait_log(rf"shipped {name}", since=0, timeout=timeout)

    # 1. Odd entries before, between and after good trails.
    first = good(1)
    for odd in ODD_NAMES:
        open(os.path.join(sc.dist, odd), "w").close()
    link_name, dir_name, fifo_name = trail_name(2), trail_name(3), trail_name(4)
    os.symlink("/etc/passwd", os.path.join(sc.dist, link_name))
    os.mkdir(os.path.join(sc.dist, dir_name))
    os.mkfifo(os.path.join(sc.dist, fifo_name))
    after = good(5)
    recv.start()
    send.start()
    shipped(first)
    shipped(after)
    for i in range(6, 9):  # more listings: the odd entries must not be logged again
        shipped(good(i))
    for odd in ODD_NAMES:
        check(os.path.lexists(os.path.join(sc.dist, odd)), f"{odd!r} was removed")
    check_equal(send.count_log(r"ignoring .*not a trail file name"), len(ODD_NAMES),
                "warnings about names that are not trail names (once each)")
    check(send.count_log(r"\x1b") == 0, "a terminal escape from a file name reached the log")
    for name, what in ((link_name, "symbolic link"), (dir_name, "directory"), (fifo_name, "FIFO")):
        check_equal(send.count_log(rf"{name}.*{what}"), 1, f"warnings about the {what} {name}")
        check(os.path.lexists(os.path.join(sc.dist, name)), f"the {what} {name} was removed")
    sc.note("odd names, a symlink, a directory and a FIFO: one warning each, trails after them shipped")

    # 2. A clock set back: a trail that sorts before what the receiver has.
    back = good(0)
    nxt = good(9)
    shipped(nxt)
    check_equal(send.count_log(rf"not sending .*{back}: it sorts before"), 1,
                "warnings about the trail older than the receiver's newest")
    check(os.path.exists(os.path.join(sc.dist, back)), "the older trail's link was removed")
    check(not os.path.exists(sc.remote_file(back)), "the older trail reached the receiver")
    del expected[back]
    sc.note("a trail older than the receiver's newest: one warning, link kept, next trail shipped")

    # 3. Unreadable for a few seconds, then readable: shipped after a retry.
    flaky = good(10, mode=0)
    send.wait_log(rf"cannot open .*{flaky}: Permission denied; retrying", since=0)
    time.sleep(3)
    os.chmod(os.path.join(sc.source, flaky), 0o644)
    shipped(flaky, timeout=20)
    sc.note("a trail unreadable for 3 s: retried, then shipped")

    # 4. Unreadable for good: given up after 25 to 31 s, never blocks the next one.
    mark = send.mark()
    stuck = good(11, mode=0)
    behind = good(12)
    send.wait_log(rf"cannot open .*{stuck}", since=mark)
    cpu_before, started = send.cpu_seconds(), time.monotonic()
    send.wait_log(rf"giving up on .*{stuck}", since=mark, timeout=45)
    waited = time.monotonic() - started
    cpu = send.cpu_seconds() - cpu_before
    shipped(behind)
    check(24 <= waited <= 40, f"gave up after {waited:.1f} s, expected 25 to 31 s")
    check(cpu < 1.0, f"the sender used {cpu:.2f} CPU seconds while waiting to retry")
    check_equal(send.count_log(rf"{stuck}", since=mark), 2,
                "log lines about the unreadable trail (first failure, giving up)")
    check(os.path.exists(os.path.join(sc.dist, stuck)), "the unreadable trail's link was removed")
    del expected[stuck]
    sc.note(f"a trail unreadable for good: given up after {waited:.1f} s with {cpu:.2f} CPU s, "
            "the next trail shipped")

    # 5. A .not_terminated trail left behind by a crashed producer.
    left = good(13, size=300_000, kind="not_terminated")
    time.sleep(0.5)
    newer = good(14)
    shipped(left, timeout=20)
    shipped(newer)
    check_equal(send.count_log(rf"{left} was left behind"), 1, "left-behind warnings")
    sc.note("a .not_terminated trail left behind: closed as it is, the newer trail shipped")

    # Every good trail arrived exactly; nothing else did.
    for name, (size, digest) in expected.items():
        copy = sc.remote_file(name)
        wait_until(lambda: file_size(copy) == size, timeout=10, what=f"{name} complete")
        check_equal(sha256_file(copy), digest, f"sha256 of {name}")
    check_equal(sorted(list_files(sc.host_dir)), sorted(expected), "files on the receiver")


if __name__ == "__main__":
    run_scenario("hostile_dist", body)
