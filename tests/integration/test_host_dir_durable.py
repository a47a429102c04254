#!/usr/bin/env python3
"""A host directory the receiver creates is durable like the files in it:
after mkdir(<base>/web1) the receiver fsyncs <base>, so the new entry
survives a crash. Checked on the real daemon under strace (mkdir, open and
fsync calls of the receiver's startup). Skips (77) without root or strace."""
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, run_scenario, wait_until  # noqa: E402


def traced_start(sc, conf, trace, log_path):
    """Starts the receiver under strace until it has started, then stops it."""
    cmd = ["strace", "-f", "-qq", "-e", "trace=mkdir,mkdirat,open,openat,fsync", "-o", trace,
           "--", sc.binary, "-F", "-c", conf, "-u", "nobody", "--ledger-key", sc.path("ledger-key"),
           "--digest-state", sc.path("digests")]
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
    try:
        wait_until(lambda: b"auditdistd started" in open(log_path, "rb").read(), timeout=30,
                   what="the traced receiver to start")
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def parent_synced_after_mkdir(lines, host_dir, parent):
    """True when a successful mkdir(host_dir) is followed, in the same
    process, by an open of `parent` returning N and then fsync(N) = 0."""
    mk = re.compile(r'^(\d+)\s+mkdir(?:at\(AT_FDCWD, |\()"' + re.escape(host_dir) +
                    r'", 0700\)\s+= 0')
    for i, line in enumerate(lines):
        m = mk.match(line)
        if not m:
            continue
        pid = m.group(1)
        op = re.compile(r"^" + pid + r'\s+open(?:at\(AT_FDCWD, |\()"' + re.escape(parent) +
                        r'", [^)]*\)\s+= (\d+)')
        for j in range(i + 1, len(lines)):
            o = op.match(lines[j])
            if not o:
                continue
            sync = re.compile(rf"^{pid}\s+fsync\({o.group(1)}\)\s+= 0")  # strace aligns " = "
            return any(sync.match(ln) for ln in lines[j + 1:])
        return False
    raise AssertionError(f"no successful mkdir of {host_dir} in the trace")


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (the receiver creates the host directory for -u nobody)")
    if shutil.which("strace") is None:
        raise Skip("strace is not installed")
    recv, _ = sc.standard_pair()
    os.makedirs(sc.remote, 0o755)
    trace = sc.path("receiver.strace")
    traced_start(sc, recv.conf, trace, sc.path("receiver-traced.log"))
    check(os.path.isdir(sc.host_dir), "the receiver did not create the host directory")
    with open(trace) as f:
        lines = f.read().splitlines()
    check(parent_synced_after_mkdir(lines, sc.host_dir, sc.remote),
          f"after creating {sc.host_dir} the receiver did not fsync {sc.remote}")


if __name__ == "__main__":
    run_scenario("host_dir_durable", body)
