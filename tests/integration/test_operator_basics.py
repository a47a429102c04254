#!/usr/bin/env python3
"""What an operator relies on around shipping:
  - `auditdistd -V` and `--version` print the version, and the start line
    carries it;
  - under systemd (JOURNAL_STREAM names stderr's device and inode) every
    line carries the sd-daemon priority prefix (`<3>` for errors, `<6>` for
    information), so `journalctl -p err` finds the errors; with
    JOURNAL_STREAM naming another stream the lines stay plain;
  - a daemon started with a relative `-c` detaches (chdir to /) and still
    reloads that file on SIGHUP; before detaching it warns on stderr when
    there is no syslog socket to log to; its pidfile is 0644 under umask 077;
  - a start that fails leaves no pidfile behind;
  - stopping a connected sender is an info line ("connection closed"), not
    a warning that a connection was lost;
  - `status -c FILE` with an unreadable FILE says so (exit 78) instead of
    answering for another daemon."""
import os
import re
import signal
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402


def version(sc):
    outs = []
    for flag in ("-V", "--version"):
        p = subprocess.run([sc.binary, flag], capture_output=True, text=True, timeout=10)
        check_equal(p.returncode, 0, f"exit code of {flag}")
        m = re.fullmatch(r"auditdistd (\d+\.\d+\.\d+) \(protocol versions 0 to 1\)\n", p.stdout)
        check(m is not None, f"{flag} printed {p.stdout!r}")
        outs.append(m.group(1))
    check_equal(outs[0], outs[1], "-V and --version")
    return outs[0]


def journal_prefix(sc, recv, ver):
    log = sc.path("journal.log")
    with open(log, "wb") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        # The supervisor's key and the sender's state in the scenario's
        # directory, never the machine's /var/lib/auditdistd.
        args = [sc.binary, "-F", "-c", recv.conf, "-P", "none", "--control-socket", "none",
                "--ledger-key", sc.path("ledger-key"), "--digest-state", sc.path("digests")]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=f, env=env)
    try:
        wait_until(lambda: "auditdistd started" in open(log).read(), timeout=20,
                   what="the journal-mode receiver to start")
        # An error: a stranger's connection that fails TLS is logged at
        # warning; a wrong configuration on reload is an error.
        with open(recv.conf) as c:
            good = c.read()
        sc.write_config(os.path.basename(recv.conf), good + "\nbogus-keyword\n")
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "keeping the running configuration" in open(log).read(), timeout=20,
                   what="the reload error")
        sc.write_config(os.path.basename(recv.conf), good)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
    lines = [l for l in open(log).read().splitlines() if l]
    check(lines, "no lines in journal mode")
    for line in lines:
        check(re.match(r"<[0-7]>(error|warning|info|debug|trace): ", line) is not None,
              f"a line without the priority prefix: {line!r}")
    check(any(l.startswith("<6>info: auditdistd started") and l.endswith(f"version {ver}")
              for l in lines), "no <6> start line with the version")
    check(any(l.startswith("<3>error: reload:") for l in lines), "no <3> line for the reload error")

    # JOURNAL_STREAM set, but stderr is another file: plain lines.
    plain = sc.path("plain.log")
    with open(plain, "wb") as f:
        env = dict(os.environ, JOURNAL_STREAM="1:1")
        p = subprocess.run([sc.binary, "-F", "-c", sc.path("missing.conf")], stdin=subprocess.DEVNULL,
                           stdout=f, stderr=f, env=env, timeout=20)
    text = open(plain).read()
    check(not text.startswith("<"), f"a prefix on a stream that is not the journal: {text!r}")


def relative_config(sc, recv):
    """Daemon mode changes to /; the configuration is read again on SIGHUP."""
    pidfile = sc.path("run", "rel.pid")
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    rel = os.path.relpath(recv.conf, sc.root)
    args = [sc.binary, "-c", rel, "-P", pidfile, "--control-socket", sc.path("run", "rel.sock"),
            "--ledger-key", sc.path("ledger-key"), "--digest-state", sc.path("digests")]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    p = subprocess.run(args, cwd=sc.root, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30, preexec_fn=lambda: os.umask(0o077))
    check_equal(p.returncode, 0, f"daemon mode start: {p.stdout}{p.stderr}")
    syslog = os.path.exists("/dev/log") and stat.S_ISSOCK(os.stat("/dev/log").st_mode)
    warned = "no syslog socket at /dev/log" in p.stderr
    check_equal(warned, not syslog, f"the no-syslog warning (syslog socket: {syslog}); "
                f"stderr {p.stderr!r}")
    pid = wait_until(lambda: int(open(pidfile).read().strip() or 0) if os.path.exists(pidfile)
                     else 0, timeout=20, what="the pidfile")
    check_equal(stat.S_IMODE(os.stat(pidfile).st_mode), 0o644, "the pidfile's mode under umask 077")
    sock = sc.path("run", "rel.sock")

    def status_lists(host):
        q = subprocess.run([sc.binary, "status", "--control-socket", sock], capture_output=True,
                           text=True, timeout=10)
        return q.returncode == 0 and host in q.stdout
    try:
        # Serving (the status socket answers): its signal handling is set up.
        wait_until(lambda: status_lists("web1"), timeout=20, what="the detached daemon's status")
        with open(recv.conf) as c:
            text = c.read()
        # Its directory made beforehand, as an operator would (the worker
        # cannot create it in a root-owned base directory).
        web7 = os.path.join(sc.remote, "web7")
        os.makedirs(web7, mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(web7, 65534, 65534)
        extra = '    host "web7" {\n        remote "127.0.0.7"\n        password "x"\n    }\n'
        sc.write_config(os.path.basename(recv.conf), text.rstrip()[:-1] + extra + "}\n")
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: status_lists("web7"), timeout=20,
                   what="host web7 in status after the reload")
        sc.write_config(os.path.basename(recv.conf), text)
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=20,
                   what="the detached daemon to exit")


def failed_starts(sc, recv):
    pidfile = sc.path("run", "failed.pid")
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    with open(recv.conf) as c:
        text = c.read()
    broken = sc.write_config("broken-cert.conf", re.sub(r'certfile "[^"]*"',
                                                        f'certfile "{sc.path("none.pem")}"', text))
    args = [sc.binary, "-F", "-c", broken, "-P", pidfile, "--control-socket", "none",
            "--ledger-key", sc.path("ledger-key"), "--digest-state", sc.path("digests")]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    check_equal(p.returncode, 78, f"a start with a missing certificate: {p.stderr}")
    check(not os.path.exists(pidfile), "a failed start left its pidfile behind")

    missing = sc.path("no-such.conf")
    p = subprocess.run([sc.binary, "status", "-c", missing], capture_output=True, text=True,
                       timeout=10)
    check_equal(p.returncode, 78, f"status -c of a missing file: {p.stdout}{p.stderr}")
    check(missing in p.stderr and "cannot open" in p.stderr, f"status -c message: {p.stderr!r}")


def planned_close(sc, recv, send):
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    mark = send.mark()
    send.stop()
    text = send.text(since=mark)
    check("connection closed (stopping or reloading)" in text, f"no planned-close line in {text!r}")
    check(re.search(r"(warning|error): .*connection lost", text) is None,
          f"a planned stop logged as a lost connection: {text!r}")
    recv.stop()


def body(sc):
    recv, send = sc.standard_pair()
    ver = version(sc)
    journal_prefix(sc, recv, ver)
    sc.note(f"version {ver}; journal priority prefixes only when stderr is the journal")
    relative_config(sc, recv)
    sc.note("relative -c: a detached daemon reloaded it; pidfile 0644; syslog warning as due")
    failed_starts(sc, recv)
    sc.note("a failed start leaves no pidfile; status -c of a missing file exits 78")
    planned_close(sc, recv, send)
    sc.note("stopping a connected sender: info, not a warning")


if __name__ == "__main__":
    run_scenario("operator_basics", body)
