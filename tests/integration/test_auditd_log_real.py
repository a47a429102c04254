#!/usr/bin/env python3
"""Linux auditd_log with the real auditd (audit-userspace) where the kernel
lets one run: records made through the kernel (`auditctl -m`), rotations by
SIGUSR1 as `service auditd rotate` does. With num_logs 3 and the receiver
down for 5 rotations, every generation arrives byte-identical, in order,
under its final name, and every record exactly once. Skips, saying why,
where the audit subsystem is absent or another auditd holds it."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from auditd_log_setup import cleanup, remote_files, setup  # noqa: E402
from harness import Skip, check, check_equal, list_files, run_scenario, wait_until  # noqa: E402
import real_auditd  # noqa: E402

ROTATIONS = 5


def arrived(sc, aud):
    """Every rotated generation under a final name, byte for byte, and the
    current log open, as long as auditd has written it."""
    names = remote_files(sc)
    if len(names) != len(aud.generations) + 1:
        return False
    expected = aud.generations + [aud.current()]
    for i, (name, data) in enumerate(zip(names, expected)):
        last = i == len(names) - 1
        if name.endswith(".not_terminated") != last:
            return False
        with open(os.path.join(sc.host_dir, name), "rb") as f:
            if f.read() != data:
                return False
    return True


def body(sc):
    reason = real_auditd.unavailable()
    if reason:
        raise Skip(reason)
    recv, send, _ = setup(sc, num_logs=3, emulate=False)
    aud = real_auditd.RealAuditd(sc.log, sc.path("auditd-conf"), num_logs=3)
    try:
        aud.start()
        sc.note(f"real auditd pid {aud.proc.pid} registered with the kernel")
        recv.start()
        send.start()
        aud.record("adist-marker-0")
        wait_until(lambda: arrived(sc, aud), timeout=20, what="the first generation",
                   alive=(recv, send))
        recv.stop()
        for i in range(1, ROTATIONS + 1):
            aud.rotate()
            aud.record(f"adist-marker-{i}")
        check_equal(sorted(n for n in os.listdir(sc.logdir) if n.startswith("audit.log")),
                    ["audit.log", "audit.log.1", "audit.log.2"], "auditd's logs (num_logs 3)")
        wait_until(lambda: len(list_files(sc.dist)) == ROTATIONS + 1, timeout=10,
                   what=f"{ROTATIONS + 1} generations linked while the receiver is down",
                   alive=(send,))
        recv.start()
        wait_until(lambda: arrived(sc, aud), timeout=30, what="every generation",
                   alive=(recv, send))
        names = remote_files(sc)
        shipped = b"".join(open(os.path.join(sc.host_dir, n), "rb").read() for n in names)
        for i, marker in enumerate(aud.markers):
            check_equal(shipped.count(f"text={marker} ".encode()), 1, f"records of {marker}")
            if i:
                check(shipped.index(marker.encode()) > shipped.index(aud.markers[i - 1].encode()),
                      f"{marker} after {aud.markers[i - 1]}")
        wait_until(lambda: len(list_files(sc.dist)) == 1, timeout=10,
                   what="the shipped links to be removed", alive=(recv, send))
        sc.note(f"{len(names)} generations of the real auditd arrived in order, byte-identical")
    finally:
        aud.stop()
        cleanup(sc)


run_scenario("auditd_log_real", body)
