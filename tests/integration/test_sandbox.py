#!/usr/bin/env python3
"""The running worker is sandboxed (common/sandbox.hpp) and still ships:
  - the workers of the receiver and of the sender (as root: each the child
    of its supervisor, user nobody) have NoNewPrivs 1, Seccomp 2 (filter)
    and Umask 0077 in /proc/PID/status, and log that they entered the sandbox;
  - the root supervisors hold no TCP socket, directory, certificate or key
    file of the worker's setup;
  - a trail ships byte-identical through both, the sender resolving the
    receiver's host name (`localhost`: getaddrinfo on Asio's resolver thread,
    created inside the sandbox);
  - a receiver reload that adds a host whose directory lies outside the
    sandboxed directories is refused as needing a restart (the worker keeps
    running); one that adds a host named by a host name beneath the base
    directory is applied (the worker resolves it and makes its directory);
    a sender reload still works; a second trail ships after both."""
import grp
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, group_processes, proc_status, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


def children(pid):
    """The live processes of the daemon's process group but its leader (the
    supervisor): the worker."""
    return [p for p, f in group_processes(pid) if p != pid and f[0] != "Z"]


def worker_pid(daemon):
    """A daemon started as root is a supervisor and its worker child."""
    if os.geteuid() != 0:
        return daemon.pid
    kids = wait_until(lambda: children(daemon.pid), timeout=10,
                      what=f"the {daemon.label}'s worker")
    check_equal(len(kids), 1, "worker processes under the supervisor")
    return kids[0]


def check_sandboxed(label, pid):
    f = proc_status(pid)
    check_equal(f.get("NoNewPrivs"), "1", f"{label} (pid {pid}) NoNewPrivs")
    check_equal(f.get("Seccomp"), "2", f"{label} (pid {pid}) Seccomp mode")
    check_equal(f.get("Umask"), "0077", f"{label} (pid {pid}) Umask")
    return f


def tcp_socket_inodes():
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in list(f)[1:]:
                    inodes.add(line.split()[9])
        except FileNotFoundError:
            pass
    return inodes


def check_supervisor_holds_nothing(label, pid):
    """The root supervisor let go of what the worker's setup opened: no TCP
    socket (the listeners), no directory (host and dist directories), no
    certificate or key file; only its channels, signalfd and pidfile."""
    tcp = tcp_socket_inodes()
    fd_dir = f"/proc/{pid}/fd"
    held = []
    for fd in sorted(os.listdir(fd_dir), key=int):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except FileNotFoundError:
            continue
        held.append(f"{fd}->{target}")
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        check(not (m and m.group(1) in tcp), f"the {label}'s supervisor holds TCP socket fd {fd}")
        if target.startswith("/"):
            check(not os.path.isdir(target), f"the {label}'s supervisor holds directory {target}")
            check(not target.endswith(".pem"), f"the {label}'s supervisor holds {target}")
    sc_note = ", ".join(held)
    return sc_note


def ship(sc, send, index):
    name = trail_name(index)
    size, digest = sc.add_trail(name, size=300_000)
    send.wait_log(rf"shipped {name}\b", timeout=60)
    check_equal(sha256_file(sc.remote_file(name)), digest, f"sha256 of {name}")


def body(sc):
    recv, send = sc.standard_pair()
    with open(send.conf) as conf:
        text = conf.read()
    check("tls://127.0.0.1:" in text, "test bug: the sender's remote is not 127.0.0.1")
    sc.write_config(os.path.basename(send.conf),
                    text.replace("tls://127.0.0.1:", "tls://localhost:"))
    recv.start()
    send.start()
    for d in (recv, send):
        d.wait_log(r"sandbox entered: seccomp allowlist")
    worker = worker_pid(recv)
    f = check_sandboxed("receiver worker", worker)
    if os.geteuid() == 0:
        check(f["Uid"].split()[0] == "65534", f"the receiver's worker runs as nobody: {f['Uid']}")
    sender = worker_pid(send)
    f = check_sandboxed("sender worker", sender)
    if os.geteuid() == 0:
        check(f["Uid"].split()[0] == "65534", f"the sender's worker runs as nobody: {f['Uid']}")
    send.wait_log(r"connected to ")
    ship(sc, send, 1)
    if os.geteuid() == 0:
        for d in (recv, send):
            sc.note(f"{d.label}'s supervisor holds: " + check_supervisor_holds_nothing(d.label, d.pid))

    # A host directory outside the sandbox: refused, nothing applied.
    with open(recv.conf) as conf:
        text = conf.read()
    outside = sc.mkdir("elsewhere")
    extra = (f'    host "web9" {{\n        remote "127.0.0.9"\n        password "x"\n'
             f'        directory "{outside}/web9"\n    }}\n')
    sc.write_config(os.path.basename(recv.conf), text.rstrip()[:-1] + extra + "}\n")
    mark = recv.mark()
    recv.send_signal(signal.SIGHUP)
    recv.wait_log(r"reload: the new configuration changes host web9's directory .*/elsewhere/web9,"
                  r" outside the sandbox, which needs a restart", since=mark)
    check(not os.path.exists(os.path.join(outside, "web9")), "the refused reload made a directory")
    recv.assert_running("after the refused reload")
    check_equal(worker_pid(recv), worker, "the worker's pid after the refused reload")

    # A host named by a host name, beneath the base directory: applied. As
    # the Debian package sets it up (root:auditdistd 0770), so that only the
    # sandbox could refuse the worker's mkdir.
    if os.geteuid() == 0:
        os.chown(sc.remote, 0, grp.getgrnam("nogroup").gr_gid)
        os.chmod(sc.remote, 0o770)
    extra = '    host "web8" {\n        remote "localhost"\n        password "y"\n    }\n'
    sc.write_config(os.path.basename(recv.conf), text.rstrip()[:-1] + extra + "}\n")
    mark = recv.mark()
    recv.send_signal(signal.SIGHUP)
    recv.wait_log(r"configuration reloaded from .*receiver hosts added: web8", since=mark)
    check(os.path.isdir(os.path.join(sc.remote, "web8")), "the reload did not make remote/web8")

    # The sender reads its own configuration on SIGHUP: the sandbox lets it.
    mark = send.mark()
    send.send_signal(signal.SIGHUP)
    send.wait_log(r"configuration reloaded from .*: no changes", since=mark)
    ship(sc, send, 2)
    for d in (recv, send):
        check(not re.search(r"SIGSYS|signal 31|Bad system call", d.full_text()),
              f"{d.label}: a seccomp kill in the log")
    sc.note(f"receiver worker {worker} and sender worker {sender}: no_new_privs, seccomp filter, "
            "umask 077; shipped two trails over a resolved host name; a reload outside the "
            "sandbox was refused, one adding a host by name beneath it applied")


run_scenario("sandbox", body)
