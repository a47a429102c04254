#!/usr/bin/env python3
"""Linux auditd_log: the supervisor links auditd's log into the dist directory
and follows its rotations. With num_logs 3 and the receiver down for 10
rotations, every generation still arrives, byte-identical, in order, under
its final name (the links keep the rotated-away files). Then a restart of the
sender with generations already linked (and two more rotations while it was
down): nothing is linked or sent twice and nothing is skipped. The sender's
host block carries its own name: the receiver files the stream under it."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auditd_log_setup import arrived, cleanup, remote_files, setup  # noqa: E402
from harness import check, check_equal, list_files, run_scenario, wait_until  # noqa: E402


def records(emu, n):
    for _ in range(n):
        emu.record()


def body(sc):
    recv, send, emu = setup(sc, num_logs=3)
    try:
        recv.start()
        send.start()
        records(emu, 20)
        wait_until(lambda: arrived(sc, emu), timeout=20, what="the first generation",
                   alive=(recv, send))
        recv.stop()
        for _ in range(10):
            # auditd rotates after max_log_file MiB: never as fast as a loop
            # can; 20 a second here.
            time.sleep(0.05)
            emu.rotate()
            records(emu, 15)
        check_equal(sorted(os.listdir(sc.logdir)), ["audit.log", "audit.log.1", "audit.log.2",
                                                   "dist"], "the log directory (num_logs 3)")
        wait_until(lambda: len(list_files(sc.dist)) == 11, timeout=10,
                   what="11 generations linked while the receiver is down", alive=(send,))
        recv.start()
        wait_until(lambda: arrived(sc, emu), timeout=30, what="all 11 generations",
                   alive=(recv, send))
        names = remote_files(sc)
        check(names == sorted(set(names)) and len(set(n[:14] for n in names)) == len(names),
              f"names must strictly increase: {names}")
        sc.note(f"{len(names)} generations arrived in order, byte-identical")

        # A restart with generations already linked, two rotations while down.
        send.stop()
        records(emu, 5)
        emu.rotate()
        records(emu, 5)
        emu.rotate()
        records(emu, 5)
        send.start()
        wait_until(lambda: arrived(sc, emu), timeout=30, what="the generations after a restart",
                   alive=(recv, send))
        check_equal(len(remote_files(sc)), 13, "generations on the receiver")
        wait_until(lambda: len(list_files(sc.dist)) == 1, timeout=10,
                   what="the shipped links to be removed", alive=(recv, send))
        check(list_files(sc.dist)[0].endswith(".not_terminated"), "the open generation stays")
        check_equal(send.count_log(r"auditd_log: linked ", since=0), 13, "links made in all")
        emu.close()
    finally:
        cleanup(sc)


run_scenario("auditd_log_rotation", body)
