#!/usr/bin/env python3
"""systemd's Type=notify, as systemd would see it: a datagram socket named
in NOTIFY_SOCKET receives, with the sender's credentials,
  - READY=1 once the daemon serves, from the process it started (the root
    supervisor; the worker keeps no NOTIFY_SOCKET of its own);
  - RELOADING=1 (with MONOTONIC_USEC) on SIGHUP, then READY=1 once the
    worker has applied the reload;
  - STOPPING=1 on SIGTERM.
Root only (the supervisor exists only when started as root)."""
import os
import re
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario  # noqa: E402


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def next(self, timeout=20):
        """(pid, {field: value}) of the next message."""
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        return pid, fields


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root: only a daemon started as root has a supervisor")
    path = sc.path("notify.sock")
    ns = NotifySocket(path)
    os.environ["NOTIFY_SOCKET"] = path
    try:
        recv, _ = sc.standard_pair()
        recv.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    pid, f = ns.next()
    check_equal(f.get("READY"), "1", f"first notification {f}")
    check_equal(pid, recv.pid, "the sender of READY=1 (the supervisor systemd started)")

    recv.send_signal(signal.SIGHUP)
    pid, f = ns.next()
    check_equal(f.get("RELOADING"), "1", f"notification after SIGHUP {f}")
    check(re.fullmatch(r"\d+", f.get("MONOTONIC_USEC", "")) is not None, f"MONOTONIC_USEC in {f}")
    check_equal(pid, recv.pid, "the sender of RELOADING=1")
    recv.wait_log(r"configuration reloaded from .*: no changes")
    pid, f = ns.next()
    check_equal(f.get("READY"), "1", f"notification after the reload {f}")
    check_equal(pid, recv.pid, "the sender of READY=1 after the reload")

    recv.stop()
    pid, f = ns.next()
    check_equal(f.get("STOPPING"), "1", f"notification after SIGTERM {f}")
    sc.note("READY, RELOADING + READY, STOPPING, each from the supervisor")


if __name__ == "__main__":
    run_scenario("systemd_notify", body)
