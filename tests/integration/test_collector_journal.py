#!/usr/bin/env python3
"""`replicate journal` against a real systemd-journald (issue 14). The
machine's journald may not run (systemd is not PID 1 here), so a private
one runs in a mount namespace of its own: a tmpfs over /run (its sockets
under /run/systemd/journal, its files under /run/log/journal) and a
journald.conf with Storage=volatile bound over the machine's, so nothing
reaches the machine's /run or /var/log/journal. The collector runs in that
namespace (nsenter). Every command record is in the journal once, as the
very JSON line of the collector's file, with SYSLOG_IDENTIFIER
auditdistd-collector and ADIST_UID the sender's uid."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_setup  # noqa: E402

JOURNALD = "/lib/systemd/systemd-journald"

# Runs as the namespace's first process, then becomes journald.
SETUP = """set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal
printf '[Journal]\\nStorage=volatile\\nRateLimitBurst=0\\n' >/run/journald.conf
mount --bind /run/journald.conf /etc/systemd/journald.conf
exec "$0"
"""


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (mount namespace)")
    for tool in ("unshare", "nsenter", "journalctl"):
        if not shutil.which(tool):
            raise Skip(f"{tool} missing (util-linux, systemd)")
    if not os.access(JOURNALD, os.X_OK) or not os.path.exists("/etc/systemd/journald.conf"):
        raise Skip(f"{JOURNALD} or /etc/systemd/journald.conf missing (package systemd)")
    jd = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", SETUP, JOURNALD],
                          stdout=subprocess.DEVNULL, stderr=open(sc.path("journald.log"), "wb"))
    inside = ["nsenter", f"--mount=/proc/{jd.pid}/ns/mnt", "--"]
    try:
        wait_until(lambda: subprocess.run(inside + ["test", "-S", "/run/systemd/journal/socket"]).returncode == 0,
                   timeout=20, what="the private journald's socket")
        conf, directory, socket_path = collector_setup(sc, "    replicate journal")
        coll = sc.daemon("collector", conf, "collector")
        coll.wrapper = inside
        coll.start()
        sent = [f"journal-{i} \"quoted\" é" for i in range(20)]
        for text in sent:
            p = subprocess.run([sc.binary, "log", "-v", "-s", socket_path, "--", text],
                               capture_output=True, timeout=10)
            check_equal(p.returncode, 0, f"auditdistd log {text!r}")

        def entries():
            p = subprocess.run(inside + ["journalctl", "-D", "/run/log/journal", "-o", "json",
                                         "SYSLOG_IDENTIFIER=auditdistd-collector"],
                               capture_output=True, text=True, timeout=30)
            return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        wait_until(lambda: sum("journal-" in e.get("MESSAGE", "") for e in entries()) >= len(sent),
                   timeout=20, what="every record in the journal")
        got = entries()
        raw = []
        for name in sorted(os.listdir(directory)):
            if len(name) == 29:
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    raw += [line for line in f.read().splitlines() if '"type":"command"' in line]
        check_equal(len(raw), len(sent), "command lines in the collector's file")
        for line in raw:
            match = [e for e in got if e.get("MESSAGE") == line]
            check_equal(len(match), 1, f"journal entries carrying {line[:60]}...")
            check_equal(match[0].get("ADIST_UID"), str(os.getuid()), "ADIST_UID")
            check_equal(match[0].get("PRIORITY"), "6", "PRIORITY")
        sc.note(f"{len(sent)} records in the private journal, one entry each")
        coll.stop()
    finally:
        jd.terminate()
        jd.wait(timeout=10)


if __name__ == "__main__":
    run_scenario("collector_journal", scenario)
