#!/usr/bin/env python3
"""Fan-out with an optional receiver that never comes back: c1 is required,
c2 (`optional yes`, `max_lag_bytes 1K`) points at a port where nothing
listens. Every trail's link goes as soon as c1 acknowledged its CLOSE (c2
never holds one); c1 holds byte-identical trails; `status` shows c2 lagging
by the bytes removed before it got them, and `status --check` is CRITICAL
for c2 only. The optional receiver is only ever connected to, never
waited for.
Then reloads (SIGHUP): with c2 required, a new trail's link stays for it;
made optional again, that link goes at the reload itself (c1 has it).
Last, a receiver appears at c2's address while c1's is stopped: c2 ships
the one trail still there and reports the gap of the 4 it never got
(warning, status error, missed_files 4, no longer lagging)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)
from fanout_util import TRAIL_SIZE, receiver, sender, sender_conf, status  # noqa: E402


def body(sc):
    if os.geteuid() != 0:
        from harness import Skip
        raise Skip("needs root (the status socket is root-only)")
    cert, key, fp = sc.make_cert("receiver")
    r1, url1, dir1 = receiver(sc, "receiver1", cert, key)
    gone_port = free_port()
    gone = f"tls://127.0.0.1:{gone_port}"  # nothing listens there until the end
    sc.pair_dirs()
    sc.mkdir("run")
    sock = sc.path("run", "sender.sock")
    send = sender(sc, sc.dist, fp, [("c1", url1, []),
                                    ("c2", gone, ["optional yes", "max_lag_bytes 1K"])],
                  ["--control-socket", sock])
    r1.start()
    send.start()
    names = [trail_name(20 + i) for i in range(3)]
    expected = {n: sc.add_trail(n, TRAIL_SIZE * (i + 1)) for i, n in enumerate(names)}
    daemons = [r1, send]

    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60,
               what="the links to go once c1 has the trails", alive=daemons)
    check_equal(sorted(os.listdir(dir1)), names, "trails on c1")
    for n, (size, digest) in expected.items():
        check_equal(file_size(os.path.join(dir1, n)), size, f"size of {n} on c1")
        check_equal(sha256_file(os.path.join(dir1, n)), digest, f"sha256 of {n} on c1")
    check_equal(send.count_log(r"its link stays until"), 0, "links held for the optional c2")
    total = sum(size for size, _ in expected.values())

    st = status(sc, sock)
    check(st["c1"]["lagging"] is None and st["c1"]["unacked_bytes"] == 0, f"c1: {st['c1']}")
    c2 = st["c2"]
    check(not c2["connected"], f"c2 connected? {c2}")
    check(c2["lagging"] and f"{total} removed before it got them" in c2["lagging"],
          f"c2 lagging by the {total} bytes removed: {c2}")
    code, line = status(sc, sock, check=True)
    check(code == 2 and "sender c2: lagging: " in line and "sender c1" not in line,
          f"status --check: {code} {line}")
    sc.note(f"optional c2 never back: links gone after c1, {line[:100]}...")

    def reload(c2_extra):
        sender_conf(sc, sc.dist, fp, [("c1", url1, []), ("c2", gone, c2_extra)])
        mark = send.mark()
        send.send_signal(signal.SIGHUP)
        send.wait_log(r"configuration reloaded from .*sender hosts changed: c2", since=mark)
        return mark

    reload(["max_lag_bytes 1K"])  # c2 required now
    late = trail_name(30)
    size, digest = sc.add_trail(late, TRAIL_SIZE)
    send.wait_log(rf"\[c1\] shipped {late}; its link stays until c2 has it too")
    check_equal(os.listdir(sc.dist), [late], "the link kept for the required c2")
    mark = reload(["optional yes", "max_lag_bytes 1K"])
    send.wait_log(rf"shipped {sc.dist}/{late}: every required receiver has it after the reload",
                  since=mark)
    check_equal(os.listdir(sc.dist), [], "dist after c2 was made optional again")
    check_equal(sha256_file(os.path.join(dir1, late)), digest, f"sha256 of {late} on c1")
    sc.note("reloads: c2 required holds a new link; made optional, the link goes at the reload")

    r1.stop()
    r2, _, dir2 = receiver(sc, "receiver2", cert, key, port=gone_port)
    r2.start()
    daemons = [r2, send]
    send.wait_log(r"\[c2\] connected to ", timeout=60)
    last = trail_name(40)
    sc.add_trail(last, TRAIL_SIZE)
    gap = send.wait_log(r"\[c2\] optional receiver skipped (\d+) trail\(s\) \((\d+) bytes")
    check_equal((int(gap.group(1)), int(gap.group(2))), (4, total + TRAIL_SIZE), "c2's gap")
    check_equal(os.listdir(dir2), [last], "c2's trails: what still existed")
    check_equal(os.listdir(sc.dist), [last], "the link kept for c1, stopped")
    c2 = status(sc, sock)["c2"]
    check(c2["counters"]["missed_files"] == 4 and c2["lagging"] is None and
          "optional receiver skipped 4 trail(s)" in (c2["last_error"] or ""), f"c2 after its gap: {c2}")
    r1.start()
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=60, what="the link to go once c1 has it",
               alive=[r1, *daemons])
    sc.note("c2 came back: 4 trails reported as its gap, the newest shipped")


if __name__ == "__main__":
    run_scenario("fanout_optional", body)
