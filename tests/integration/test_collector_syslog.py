#!/usr/bin/env python3
"""`replicate syslog` against a real rsyslog (issue 14): a private rsyslogd
(imuxsock on a socket of its own, authpriv to a file with omfile) stands in
for the system's; the collector runs in a mount namespace whose /dev/log
leads to that socket (the machine's /dev is untouched). Every command
record appears in rsyslog's file, once, as the very JSON line of the
collector's file."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_setup  # noqa: E402


def private_dev(sc, log_socket):
    """A /dev with the few nodes a daemon uses and log -> rsyslog's socket."""
    d = sc.mkdir("dev")
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("random", 1, 8), ("urandom", 1, 9)):
        os.mknod(os.path.join(d, name), 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(os.path.join(d, name), 0o666)
    os.symlink(log_socket, os.path.join(d, "log"))
    return d


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (mount namespace, mknod)")
    rsyslogd = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if not rsyslogd or not shutil.which("unshare"):
        raise Skip("rsyslogd or unshare missing (scripts/install-deps installs rsyslog)")
    log_socket = sc.path("rsyslog.sock")
    out = sc.path("authpriv.log")
    conf = sc.path("rsyslog.conf")
    with open(conf, "w") as f:
        f.write(f'global(workDirectory="{sc.mkdir("rsyslog-work")}")\n'
                'module(load="imuxsock" SysSock.Use="off")\n'
                f'input(type="imuxsock" Socket="{log_socket}")\n'
                f'authpriv.* action(type="omfile" File="{out}" template="RSYSLOG_FileFormat")\n')
    rs = subprocess.Popen([rsyslogd, "-n", "-f", conf, "-i", sc.path("rsyslog.pid")],
                          stdout=subprocess.DEVNULL, stderr=open(sc.path("rsyslogd.log"), "wb"))
    try:
        wait_until(lambda: os.path.exists(log_socket), timeout=10, what="rsyslogd's socket")
        dev = private_dev(sc, log_socket)
        cconf, directory, socket_path = collector_setup(sc, "    replicate syslog")
        coll = sc.daemon("collector", cconf, "collector")
        coll.wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f'mount --bind "{dev}" /dev && exec "$@"', "sh"]
        coll.start()
        sent = [f"syslog-{i} \"quoted\" é" for i in range(20)]
        for text in sent:
            p = subprocess.run([sc.binary, "log", "-v", "-s", socket_path, "--", text],
                               capture_output=True, timeout=10)
            check_equal(p.returncode, 0, f"auditdistd log {text!r}")

        def lines():
            if not os.path.exists(out):
                return []
            with open(out, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        wait_until(lambda: sum("syslog-" in line for line in lines()) >= len(sent), timeout=10,
                   what="every record in rsyslog's file")
        raw = []
        for name in sorted(os.listdir(directory)):
            if len(name) == 29:
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    raw += [line for line in f.read().splitlines() if '"type":"command"' in line]
        check_equal(len(raw), len(sent), "command lines in the collector's file")
        for line in raw:
            match = [got for got in lines() if got.endswith(" " + line)]
            check_equal(len(match), 1, f"rsyslog lines carrying {line[:60]}...")
        sc.note(f"{len(sent)} records in rsyslog's authpriv file, one line each")
        coll.stop()
    finally:
        rs.terminate()
        rs.wait(timeout=10)


if __name__ == "__main__":
    run_scenario("collector_syslog", scenario)
