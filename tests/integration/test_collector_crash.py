#!/usr/bin/env python3
"""kill -9 of the collector under load (issue 14): CLIENTS concurrent
`auditdistd log -v` loops send numbered commands to a collector that also
ships its files to a receiver; the daemon (supervisor and worker) is killed
with SIGKILL twice while they run and restarted. Afterwards:
  - every command whose client got the "written" reply (exit 0 with -v) is
    in the receiver's copy, and no command is there twice;
  - the sequence numbers of the local files never repeat and only grow;
  - the files a killed collector left open were closed at the restart
    (renamed to <start>.<end>, with a `recovery` record)."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_setup, commands, receiver_for, records  # noqa: E402

CLIENTS = 16


class Load:
    def __init__(self, binary, socket_path):
        self.binary, self.socket_path = binary, socket_path
        self.acked, self.sent, self.lock = set(), 0, threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(CLIENTS)]

    def run(self, client):
        n = 0
        while not self.stop.is_set() and n < 100000:
            text = f"load-{client}-{n}"
            n += 1
            p = subprocess.run([self.binary, "log", "-v", "-s", self.socket_path, "--", text],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            with self.lock:
                self.sent += 1
                if p.returncode == 0:
                    self.acked.add(text)
            if p.returncode != 0:
                time.sleep(0.01)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (privilege drop)")
    recv, url, fp, host_dir = receiver_for(sc)
    conf, directory, socket_path = collector_setup(sc, "    rate_limit 0", sender=(url, fp, "s3cret"))
    coll = sc.daemon("collector", conf, "collector")
    recv.start()
    coll.start()
    def acked():
        with load.lock:
            return len(load.acked)

    # Counted, not timed: each kill comes after 60 more acknowledged commands
    # (an ASan build on 2 shared cores acks far fewer a second).
    with Load(sc.binary, socket_path) as load:
        for round_ in range(3):
            want = 60 * (round_ + 1)
            wait_until(lambda: acked() >= want, timeout=60, what=f"{want} acked commands")
            if round_ == 2:
                break
            coll.kill9()
            sc.note(f"kill -9 after {acked()} acked commands")
            time.sleep(0.3)
            coll.start()
    check(len(load.acked) >= 180, f"only {len(load.acked)} commands acked")
    sc.note(f"{load.sent} sent, {len(load.acked)} acked")

    def shipped():
        got = {c["claimed"]["command"] for c in commands(host_dir)} if os.path.isdir(host_dir) else set()
        return load.acked <= got
    wait_until(shipped, timeout=60, what="every acked command on the receiver")
    seen = {}
    for c in commands(host_dir):
        text = c["claimed"]["command"]
        check(text not in seen, f"{text!r} is on the receiver twice")
        seen[text] = c
    seqs = [r["seq"] for _, r in records(directory)]
    check(all(a < b for a, b in zip(seqs, seqs[1:])), "sequence numbers repeat or go back")
    names = sorted(n for n in os.listdir(directory) if len(n) == 29)
    check_equal(sum(n.endswith(".not_terminated") for n in names), 1, f"open files: {names}")
    recovered = [r for _, r in records(directory) if r["type"] == "recovery"]
    check_equal(len(recovered), 2, "recovery records (one per kill)")
    sc.note(f"all acked commands shipped once; {len(names)} files, seqs increasing, "
            f"{sum(r['partial_line'] for r in recovered)} cut lines marked")


if __name__ == "__main__":
    run_scenario("collector_crash", scenario)
