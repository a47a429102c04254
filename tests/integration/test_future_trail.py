#!/usr/bin/env python3
"""One trail name must not wedge a host. A trail named
99991231235959.not_terminated (a sender clock far ahead) is refused with
INVALID_NAME instead of becoming the receiver's newest, so real trails made
after it still arrive, byte-identical. Trails already stored with an
impossible time (20261399999999.*) or far in the future (9999...) are
ignored by the receiver's newest-trail scan, with a warning, so they cannot
wedge the host either; the receiver never creates the future trail."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, run_scenario, sha256_file, trail_name,  # noqa: E402
                     wait_until)

FUTURE = "99991231235959.not_terminated"
STORED_FUTURE = "99991231235958.crash_recovery"
STORED_IMPOSSIBLE = "20261399999999.not_terminated"


def seed_receiver(sc):
    """Wedging names already in the host directory, owned by the receiver's user."""
    os.makedirs(sc.host_dir, mode=0o700, exist_ok=True)
    for name in (STORED_FUTURE, STORED_IMPOSSIBLE):
        with open(os.path.join(sc.host_dir, name), "wb") as f:
            f.write(b"stale\n")
    if os.geteuid() == 0:
        for p in (sc.host_dir, *(os.path.join(sc.host_dir, n)
                                             for n in (STORED_FUTURE, STORED_IMPOSSIBLE))):
            os.chown(p, 65534, 65534)


def ship_and_check(sc, send, names):
    for name in names:
        send.wait_log(rf"shipped {name}", timeout=60)
        wait_until(lambda: os.path.exists(sc.remote_file(name)), what=f"{name} on the receiver")
        check_equal(sha256_file(sc.remote_file(name)), sha256_file(os.path.join(sc.source, name)),
                    f"sha256 of {name} on the receiver")


def body(sc):
    recv, send = sc.standard_pair()
    seed_receiver(sc)
    first = trail_name(1)
    sc.add_trail(first, 100_000)
    sc.add_trail(FUTURE, 50_000)
    recv.start()
    send.start()
    ship_and_check(sc, send, [first])
    recv.wait_log(rf"ignoring .*{STORED_IMPOSSIBLE}: not a real time")
    recv.wait_log(rf"ignoring .*{STORED_FUTURE}: starts more than 86400 s after")
    recv.wait_log(rf"OPEN {FUTURE}: invalid name", timeout=30)
    recv.wait_log(r"OPEN refused \(invalid name\): the trail starts more than 86400 s "
                  r"\(max_clock_skew\) after this receiver's clock", timeout=30)
    send.wait_log(rf"the receiver refused OPEN {FUTURE}", timeout=30)
    check(not os.path.exists(sc.remote_file(FUTURE)), f"the receiver created {FUTURE}")

    # Real trails written after the future one still arrive.
    later = [trail_name(2), trail_name(3, "crash_recovery")]
    for name in later:
        sc.add_trail(name, 70_000)
    ship_and_check(sc, send, later)
    # Each ignored name is reported once, not at every connection.
    check_equal(recv.count_log(rf"ignoring .*{STORED_IMPOSSIBLE}"), 1,
                f"warnings about {STORED_IMPOSSIBLE}")
    check(not os.path.exists(sc.remote_file(FUTURE)), f"the receiver created {FUTURE}")
    check_equal(sorted(n for n in os.listdir(sc.host_dir) if not n.startswith(".")),
                sorted([first, *later, STORED_FUTURE, STORED_IMPOSSIBLE]),
                "files in the receiver's host directory")
    sc.stop_all()


if __name__ == "__main__":
    run_scenario("future_trail", body)
