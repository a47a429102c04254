#!/usr/bin/env python3
"""The sudo plugin when the collector is not there (issue 15): with no
collector, sudo refuses the command (and runs it with fail_open=yes); when
the collector is killed (kill -9) mid-session, the command ends at its next
input, and after the restart every line the plugin had acknowledged is on
the receiver; `sudo-extract` reports the session that has no close."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402
from sudo_util import (Pty, SudoSite, extract, require_sudo, run_on_pty, session_bytes,  # noqa: E402
                       stream_records, sudo_setup, write_sudo_conf)

SUDO = ["sudo", "-u", "nobody"]


def scenario(sc):
    require_sudo()
    site = SudoSite(sc)
    recv, daemon, host_dir = site.recv, site.daemon, site.host_dir
    plugin, socket_path = site.plugin, site.socket_path
    with sudo_setup(plugin, socket_path, site.iolog_dir):
        p = run_on_pty(SUDO + ["sh", "-c", "echo must-not-run"])
        check(p.status != 0, "sudo without a collector fails")
        check(b"must-not-run" not in p.out, "the command did not run")
        check(b"refusing to run the command" in p.out, f"sudo says why: {p.out!r}")
        write_sudo_conf(plugin, socket_path, "fail_open=yes")
        p = run_on_pty(SUDO + ["sh", "-c", "echo ran-anyway"])
        check(p.status == 0 and b"ran-anyway" in p.out, f"fail_open runs it: {p.out!r}")
        write_sudo_conf(plugin, socket_path)

        recv.start()
        daemon.start()
        p = Pty(SUDO + ["sh", "-c", "echo started; while read l; do echo \"got $l\"; done"])
        p.read_until(b"started")
        for i in range(3):
            p.write(f"line{i}\n".encode())
            p.read_until(f"got line{i}".encode())
        daemon.kill9()
        sc.note("collector killed with a session open")
        p.write(b"after-kill\n")
        status = p.wait(timeout=30)
        check(status != 0, f"the command ended with a failure ({status})")
        check(b"got after-kill" not in p.out, "input after the kill did not reach the command")

    daemon.start()
    def acked_on_receiver():
        recs = stream_records(host_dir)
        opens = [r["session"] for r in recs if r["type"] == "open"]
        return (opens and b"got line2" in session_bytes(recs, opens[-1], "ttyout")
                and any(r["type"] == "recovery" for r in recs))
    # The output may have been shipped before the kill: wait for the
    # restarted collector's recovery record too.
    wait_until(acked_on_receiver, timeout=60,
               what="the acknowledged output and the recovery record on the receiver")
    recs = stream_records(host_dir)
    session = [r for r in recs if r["type"] == "open"][-1]["session"]
    check(b"after-kill" not in session_bytes(recs, session, "ttyin"), "nothing after the kill")
    check(not any(r["type"] == "close" and r["session"] == session for r in recs),
          "no close for the killed session")
    out = sc.path("rebuilt")
    text = extract(sc.binary, host_dir, out, 30)
    check(f"gap: session {session}: no close yet" in text, f"extract reports it: {text}")
    check("1 sessions opened, 0 closed, 2 gaps" in text, f"the summary counts both gaps: {text}")
    check("the collector was killed and restarted" in text, f"the recovery is reported: {text}")
    with open(os.path.join(out, session, "ttyout"), "rb") as f:
        check(b"got line2" in f.read(), "the rebuilt ttyout has the acknowledged output")
    sc.note("refused without collector, ended on kill, acked data rebuilt; " +
            text.strip().splitlines()[-1])


if __name__ == "__main__":
    run_scenario("sudo_collector_down", scenario)
