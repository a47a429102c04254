#!/usr/bin/env python3
"""Pidfile handling (FreeBSD: /var/run/auditdistd.pid, flock-protected):
  - a sender started with -P FILE (overriding pidfile "none" in its config)
    writes its pid there, a second instance with the same pidfile is refused
    (exit 75, EX_TEMPFAIL, naming the running pid), SIGHUP reloads the
    unchanged configuration ("no changes"), and after SIGTERM it exits 0 and
    the pidfile is gone;
  - the same for a receiver started as root with -u nobody: its pidfile, in
    a root-owned directory like /var/run, must be removed at exit too."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, check_equal, run_scenario  # noqa: E402

EX_TEMPFAIL = 75


def exercise(sc, daemon, pidfile):
    daemon.extra_args += ["-P", pidfile]
    daemon.start()
    check(os.path.exists(pidfile), f"{daemon.label}: no pidfile {pidfile}")
    with open(pidfile) as f:
        check_equal(f.read().strip(), str(daemon.pid), f"{daemon.label}: pid in {pidfile}")
    args = [sc.binary, "-F", "-c", daemon.conf, "-P", pidfile, "--digest-state", sc.path("digests")]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    check_equal(p.returncode, EX_TEMPFAIL, f"{daemon.label}: exit code of a second instance")
    check(f"already running (pid {daemon.pid})" in p.stderr,
          f"{daemon.label}: second instance's message: {p.stderr.strip()!r}")
    with open(pidfile) as f:
        check_equal(f.read().strip(), str(daemon.pid),
                    f"{daemon.label}: pid in {pidfile} after the refused second instance")
    mark = daemon.mark()
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log(r"configuration reloaded from .*: no changes", since=mark, timeout=10)
    time.sleep(0.2)
    daemon.assert_running("after SIGHUP")
    daemon.stop()
    daemon.wait_log(r"auditdistd stopped", must_run=False, timeout=5)


def body(sc):
    recv, send = sc.standard_pair()
    run_dir = sc.mkdir("run", mode=0o755)  # root-owned, like /var/run

    send_pid = os.path.join(run_dir, "sender.pid")
    exercise(sc, send, send_pid)
    check(not os.path.exists(send_pid), "sender: pidfile left behind after a clean exit")
    sc.note("sender: pidfile written, locked against a second instance, removed at exit")

    recv_pid = os.path.join(run_dir, "receiver.pid")
    exercise(sc, recv, recv_pid)
    sc.note("receiver: pidfile written and locked against a second instance")
    if os.path.exists(recv_pid):
        dropped = os.geteuid() == 0
        raise TestFailure(
            "DAEMON BUG (daemon/run.cpp: `if (pid) pid->remove();` runs after "
            "common::drop_privileges(), and pidfile::remove() in common/daemon_util.cpp ignores "
            "the unlink error): the receiver left its pidfile "
            f"{recv_pid} behind after a clean exit"
            + (" (it runs as nobody by then and cannot unlink in a root-owned directory)"
               if dropped else ""))


if __name__ == "__main__":
    run_scenario("pidfile", body)
