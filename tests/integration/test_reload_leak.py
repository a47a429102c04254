#!/usr/bin/env python3
"""Reloads free what they retire (docs/security.md, "Reloads"). 30 SIGHUPs,
each changing host web2 (its password), which retires web2's slot and opens
its directory again: the worker's descriptors (/proc/<worker>/fd) must stay
bounded, where each reload used to leak one directory descriptor. Host web1
keeps shipping across the reloads, and a sender of web2 with the last
password still connects."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, group_processes, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

RELOADS = 30
SLACK = 3  # descriptors a reload may legitimately leave (a connection in flight)


def worker_pid(daemon):
    if os.geteuid() != 0:
        return daemon.pid
    kids = wait_until(lambda: [p for p, f in group_processes(daemon.pid)
                               if p != daemon.pid and f[0] != "Z"],
                      timeout=10, what=f"the {daemon.label}'s worker")
    check_equal(len(kids), 1, "worker processes under the supervisor")
    return kids[0]


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def receiver_text(sc, cert, key, web2_password):
    return "\n".join([
        'pidfile "none"', "timeout 5", "receiver {", f'    listen "tls://127.0.0.1:{sc.port}"',
        f'    directory "{sc.remote}"', f'    certfile "{cert}"', f'    keyfile "{key}"',
        '    host "web1" {', '        remote "127.0.0.1"', '        password "s3cret"', "    }",
        '    host "web2" {', '        remote "127.0.0.2"', f'        password "{web2_password}"',
        "    }", "}", ""])


def body(sc):
    recv, send = sc.standard_pair()
    cert, key = sc.path("certs", "receiver.cert.pem"), sc.path("certs", "receiver.key.pem")
    conf = sc.write_config("receiver.conf", receiver_text(sc, cert, key, "pw-0"))
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    worker = worker_pid(recv)
    before = fds(worker)
    for i in range(1, RELOADS + 1):
        sc.write_config("receiver.conf", receiver_text(sc, cert, key, f"pw-{i}"))
        mark = recv.mark()
        recv.send_signal(signal.SIGHUP)
        recv.wait_log(r"configuration reloaded from .*receiver hosts changed: web2", since=mark,
                      timeout=10)
        if i % 10 == 0:  # web1 ships across the reloads
            name = trail_name(i)
            size, digest = sc.add_trail(name, 100_000)
            send.wait_log(rf"shipped {name}", timeout=30)
            check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name}")
    after = fds(worker)
    check_equal(worker_pid(recv), worker, "the worker (same process after the reloads)")
    sc.note(f"worker descriptors: {before} before, {after} after {RELOADS} reloads that "
            f"changed web2 (config {conf})")
    check(after <= before + SLACK, f"{after - before} more descriptors after {RELOADS} reloads: "
                                   f"retired host slots are not freed")


if __name__ == "__main__":
    run_scenario("reload_leak", body)
