#!/usr/bin/env python3
"""The receiver's newest trail is open-ended (`.not_terminated`) and the
sender, when it reconnects, does not see that trail in its dist directory:
auditd was renaming it just then (one listing can miss both names of a file
being renamed), or it comes back a moment later. The sender must keep looking
for it: once the trail shows up again under its final name, the sender
resumes it at the receiver's size, closes it under the final name, and
removes the link. It must not wait forever, nor send anything newer first.

(Found in CI: the ledger scenario renamed the trail while the sender
resumed, and the sender then sat idle for good.)"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GrowingTrail, check, check_equal, file_size, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)


def body(sc):
    recv, send = sc.standard_pair()
    recv.start()
    send.start(debug=True)
    trail = GrowingTrail(sc, 2)
    trail.append(200_000)
    wait_until(lambda: file_size(sc.remote_file(trail.name)) == 200_000, timeout=30,
               what="the growing trail stored", alive=(recv, send))
    send.stop()

    # While the sender is down the link leaves the dist directory (the
    # source keeps the file), so the resume finds no continuation.
    hidden = os.path.join(sc.dist, trail.name)
    os.unlink(hidden)
    mark = send.mark()
    send.start(debug=True)
    send.wait_log(r"receiver has %s at 200000" % trail.name, since=mark)
    send.wait_log(r"the receiver's newest trail %s is not in the dist directory" % trail.name,
                  since=mark)

    # It comes back, grown and renamed to its final name.
    trail.append(80_000)
    final = trail_name(2)
    os.rename(os.path.join(sc.source, trail.name), os.path.join(sc.source, final))
    os.link(os.path.join(sc.source, final), os.path.join(sc.dist, final))
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, final)), timeout=30,
               what="the returned trail shipped and its link removed", alive=(recv, send))
    send.wait_log(r"resuming %s at offset 200000" % final, since=mark)
    check_equal(list_files(sc.host_dir), [final], "files on the receiver")
    check_equal(file_size(sc.remote_file(final)), trail.size, "size of the receiver's copy")
    check_equal(sha256_file(sc.remote_file(final)), trail.hash.hexdigest(),
                "sha256 of the receiver's copy")
    sc.note("a continuation missing at the resume is resumed once it shows up, at the "
            "receiver's size, and closed under its final name")

    # Nothing newer jumps ahead of it: a newer trail that appears while the
    # receiver's newest is missing is sent, and the missing one is then
    # passed over for good (the receiver only takes newer trails).
    nxt = GrowingTrail(sc, 4)
    nxt.append(1000)
    wait_until(lambda: file_size(sc.remote_file(nxt.name)) == 1000, timeout=30,
               what="the next trail stored", alive=(recv, send))
    send.stop()
    os.unlink(os.path.join(sc.dist, nxt.name))
    mark = send.mark()
    send.start(debug=True)
    send.wait_log(r"receiver has %s at 1000" % nxt.name, since=mark)
    newer = trail_name(5)
    sc.add_trail(newer, 5000)
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, newer)), timeout=30,
               what="the newer trail shipped", alive=(recv, send))
    check_equal(file_size(sc.remote_file(newer)), 5000, "size of the newer trail")
    sc.stop_all()


if __name__ == "__main__":
    run_scenario("unlisted_continuation", body)
