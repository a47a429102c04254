#!/usr/bin/env python3
"""Fan-out, two required receivers: one sender's dist directory feeds c1
and c2 (two `host` blocks with one `directory`). c2 speaks protocol 0, as
FreeBSD's receiver does, and is down at first: c1 receives every trail, but
every link stays (the log says it waits for c2), c2 lags past its
max_lag_bytes (an error in `status`, `status --check` CRITICAL), and c1's
own backlog is zero, also after a restart of the sender (it keeps no
state: c1's resume point proves what it holds). Once c2 is started it
catches up from its own resume point; the links go only then, and both receivers hold byte-identical
trails. Then, after a restart of the sender with c1 down, c2 (now
behind) gets new trails first; c1's resume point, when it comes back,
settles their links at once."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, run_config_check, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)
from fanout_util import TRAIL_SIZE, receiver, sender, status  # noqa: E402


def body(sc):
    if os.geteuid() != 0:
        from harness import Skip
        raise Skip("needs root (the status socket is root-only)")
    cert, key, fp = sc.make_cert("receiver")
    r1, url1, dir1 = receiver(sc, "receiver1", cert, key)
    r2, url2, dir2 = receiver(sc, "receiver2", cert, key, ["--protocol-version", "0"])
    sc.pair_dirs()
    sc.mkdir("run")
    sock = sc.path("run", "sender.sock")
    send = sender(sc, sc.dist, fp, [("c1", url1, []), ("c2", url2, ["max_lag_bytes 1K"])],
                  ["--control-socket", sock])
    r1.start()
    send.start()  # as root, gives the dist directory to the daemon's user first
    code, out, err = run_config_check(sc.binary, send.conf)
    check(code == 0 and f"fan-out: {sc.dist} feeds c1, c2; a link goes once c1, c2 acknowledged"
          in out, f"-n: {code} {out} {err}")
    names = [trail_name(10 + i) for i in range(3)]
    expected = {n: sc.add_trail(n, TRAIL_SIZE * (i + 1)) for i, n in enumerate(names)}
    daemons = [r1, send]

    wait_until(lambda: all(os.path.exists(os.path.join(dir1, n)) and
                           file_size(os.path.join(dir1, n)) == expected[n][0] for n in names),
               timeout=60, what="c1 to receive every trail", alive=daemons)
    send.wait_log(r"\[c1\] shipped .*; its link stays until c2 has it too", count=3, timeout=60)
    check_equal(sorted(os.listdir(sc.dist)), names, "dist links while c2 is down")
    st = status(sc, sock)
    check_equal(st["c1"]["unacked_bytes"], 0, "c1's backlog (what is kept only for c2)")
    check(st["c1"]["lagging"] is None, f"c1 lagging: {st['c1']}")
    total = sum(size for size, _ in expected.values())
    check_equal(st["c2"]["unacked_bytes"], total, "c2's backlog")
    check(st["c2"]["lagging"] and "more than max_lag_bytes 1024" in st["c2"]["lagging"],
          f"c2 lagging: {st['c2']}")
    code, line = status(sc, sock, check=True)
    check(code == 2 and "sender c2: lagging: " in line, f"status --check: {code} {line}")
    sc.note(f"c2 down: links kept, status --check: {line[:90]}...")

    # A restart of the sender keeps no state: c1's resume point (its newest
    # trail) proves it holds the older ones, which stay only for c2.
    mark = send.mark()
    send.stop()
    send.start()
    send.wait_log(r"\[c1\] connected to ", since=mark)
    wait_until(lambda: status(sc, sock)["c1"]["unacked_bytes"] == 0, timeout=30,
               what="c1's backlog after the sender's restart to be zero", alive=daemons)
    check_equal(sorted(os.listdir(sc.dist)), names, "dist links after the sender's restart")

    r2.start()
    daemons.append(r2)
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60,
               what="the links to go once c2 has the trails", alive=daemons)
    for d in (dir1, dir2):
        check_equal(sorted(os.listdir(d)), names, f"trails in {d}")
        for n, (size, digest) in expected.items():
            check_equal(file_size(os.path.join(d, n)), size, f"size of {d}/{n}")
            check_equal(sha256_file(os.path.join(d, n)), digest, f"sha256 of {d}/{n}")
    send.wait_log(r"\[c2\] connected to .*\(protocol version 0\)")
    for n in names:
        send.wait_log(rf"\[c2\] shipped {re.escape(n)}\n")
    st = status(sc, sock)
    check(st["c2"]["lagging"] is None and st["c2"]["unacked_bytes"] == 0, f"c2 after: {st['c2']}")
    check_equal(send.count_log(r"not sending|removed before"), 0, "trails reported not sent")
    sc.note("c2 back: caught up from its own resume point, links gone, both copies identical")
    restart_behind_first(sc, send, r1, r2, dir1, dir2)


def restart_behind_first(sc, send, r1, r2, dir1, dir2):
    """New trails reach c1 while c2 is down. The sender restarts with c1
    down: c2, now behind, gets them first, and they stay for c1, which has
    not resumed yet. c1's resume point then shows that it holds them: the
    links go at once (the older one by the resume point, the newest by its
    CLOSE sent again), never reported as left behind."""
    more = [trail_name(20 + i) for i in range(2)]
    r2.stop()
    mark = send.mark()
    expected = {n: sc.add_trail(n, TRAIL_SIZE) for n in more}
    send.wait_log(r"\[c1\] shipped .*; its link stays until c2 has it too", since=mark, count=2,
                  timeout=60)
    send.stop()
    r1.stop()
    r2.start()
    mark = send.mark()
    send.start()
    for n in more:
        send.wait_log(rf"\[c2\] shipped {re.escape(n)}; its link stays until c1 has it too",
                      since=mark, timeout=60)
    check_equal(sorted(os.listdir(sc.dist)), more, "links kept for c1, which has not resumed")
    r1.start()
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60,
               what="the links to go once c1's resume point shows it holds them",
               alive=[r1, r2, send])
    send.wait_log(rf"shipped {re.escape(sc.dist)}/{re.escape(more[0])}: every required receiver "
                  rf"has it \(c1's newest trail is {re.escape(more[1])}\)", since=mark)
    for d in (dir1, dir2):
        for n, (size, digest) in expected.items():
            check_equal(sha256_file(os.path.join(d, n)), digest, f"sha256 of {d}/{n}")
    check_equal(send.count_log(r"not sending|not removing", since=mark), 0,
                "trails reported after c1's resume")
    sc.note("restart with the behind receiver first: links settled by the other's resume point")


if __name__ == "__main__":
    run_scenario("fanout_required", body)
