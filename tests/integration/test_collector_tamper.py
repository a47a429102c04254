#!/usr/bin/env python3
"""Tampering with the collector's open file is noticed within one batch
(issue 14): root changes its owner, appends to it, truncates it; each time
the collector logs an ALERT naming the problem, closes the file, continues
in a new one that holds a `tamper` record (file, problem), and takes the
next command there. With `on_tamper abort` the daemon stops instead."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_setup, collector_config, records  # noqa: E402


def log_command(sc, socket_path, text):
    p = subprocess.run([sc.binary, "log", "-v", "-s", socket_path, "--", text],
                       capture_output=True, text=True, timeout=10)
    check_equal((p.returncode, p.stderr), (0, ""), f"auditdistd log {text!r}")


def open_file(directory):
    names = [n for n in os.listdir(directory) if n.endswith(".not_terminated")]
    check_equal(len(names), 1, f"open files in {directory}: {names}")
    return os.path.join(directory, names[0])


TAMPERS = [
    ("chown", lambda f: os.chown(f, 0, 0), "owner changed"),
    ("append", lambda f: open(f, "ab").write(b'{"type":"command","forged":true}\n'), "(appended to)"),
    ("truncate", lambda f: os.truncate(f, os.path.getsize(f) - 20), "(truncated)"),
    ("chmod", lambda f: os.chmod(f, 0o644), "mode changed from 0600 to 0644"),
    ("unlink dist", None, "link count is 1"),
]


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (privilege drop, chown)")
    conf, directory, socket_path = collector_setup(sc, "    sync_records 1000")
    coll = sc.daemon("collector", conf, "collector").start()
    for i, (what, tamper, problem) in enumerate(TAMPERS):
        log_command(sc, socket_path, f"before-{i}")
        victim = open_file(directory)
        name = os.path.basename(victim)
        if tamper is None:
            os.unlink(os.path.join(directory, "dist", name))
        else:
            tamper(victim)
        started = time.monotonic()
        coll.wait_log(rf"ALERT: collector: .*{name} was tampered with: .*{problem.replace('(', '.').replace(')', '.')}",
                      timeout=5)
        noticed = time.monotonic() - started
        check(noticed < 3, f"{what}: noticed after {noticed:.1f} s (sync_interval is 1 s)")
        log_command(sc, socket_path, f"after-{i}")
        new = open_file(directory)
        check(new != victim, f"{what}: the collector still writes the tampered file")
        recs = [r for _, r in records(directory, os.path.basename(new)[:15])]
        kinds = [r["type"] for r in recs]
        check_equal(kinds[:2], ["header", "tamper"], f"{what}: start of the new file")
        check_equal(recs[1]["file"], name, f"{what}: the tamper record's file")
        check(problem in recs[1]["problem"], f"{what}: tamper record says {recs[1]['problem']!r}")
        check(any(r.get("claimed", {}).get("command") == f"after-{i}" for r in recs),
              f"{what}: the next command is in the new file")
        sc.note(f"{what}: noticed in {noticed:.2f} s, new file with a tamper record")
    coll.stop()

    conf = collector_config(sc, directory, socket_path, "    on_tamper abort")
    coll = sc.daemon("collector-abort", conf, "collector").start()
    log_command(sc, socket_path, "abort-before")
    os.chown(open_file(directory), 0, 0)
    coll.wait_log(r"on_tamper abort: stopping the daemon", timeout=5)
    wait_until(lambda: not coll.running(), timeout=10, what="the daemon to stop")
    coll.expect_running = False
    check_equal(coll.proc.returncode, 65, "exit status after on_tamper abort (EX_DATAERR)")
    sc.note("on_tamper abort: the daemon stopped with EX_DATAERR")


if __name__ == "__main__":
    run_scenario("collector_tamper", scenario)
