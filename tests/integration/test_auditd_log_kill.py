#!/usr/bin/env python3
"""Linux auditd_log: kill -9 of the sending daemon (supervisor and worker) in
the middle of auditd's rotation, at each of its steps (after the fchmod,
the close, the renames, the reopen), several times, with records written
while it is down. After each restart every generation arrives exactly once,
byte-identical, in order, under its final name: the record in
/var/lib/auditdistd and the dist directory together never link a file
twice and never skip one."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auditd_log_setup import arrived, cleanup, remote_files, setup  # noqa: E402
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402

STEPS = ["fchmod", "close", "rename audit.log.2", "rename audit.log.1", "renamed log", "open"]


def body(sc):
    recv, send, emu = setup(sc, num_logs=4)
    try:
        recv.start()
        send.start()
        for _ in range(10):
            emu.record()
        wait_until(lambda: arrived(sc, emu), timeout=20, what="the first generation",
                   alive=(recv, send))
        for round_, at in enumerate(STEPS * 2):
            def step(name, at=at):
                if name == at and send.running():
                    send.kill9()
            for _ in range(7):
                emu.record()
            # Half of the rounds give the linker a moment before the kill.
            if round_ >= len(STEPS):
                time.sleep(0.01)
            emu.rotate(step)
            check(not send.running(), f"round {round_}: the kill at {at!r} did not happen")
            for _ in range(3):
                emu.record()
            send.start()
            wait_until(lambda: arrived(sc, emu), timeout=30,
                       what=f"every generation after a kill -9 at {at!r}", alive=(recv, send))
        names = remote_files(sc)
        check_equal(len(names), len(emu.generations), "generations on the receiver")
        check(len(set(n[:14] for n in names)) == len(names), f"a start given twice: {names}")
        sc.note(f"{len(STEPS) * 2} kills mid-rotation: {len(names)} generations, each once")
        emu.close()
    finally:
        cleanup(sc)


run_scenario("auditd_log_kill", body)
