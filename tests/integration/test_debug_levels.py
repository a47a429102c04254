#!/usr/bin/env python3
"""-d levels (auditdistd(8), DEBUGGING): with no -d neither side logs
per-connection or per-request detail; with -d each side logs per
connection (the sender's connect and TLS session with the pinned
certificate, the receiver's accepted connection and TLS session) and per
file (the sender's file and offset, OPEN and CLOSE sent and acknowledged);
with -dd also per request (every APPEND on both sides, the receiver's
group commits with their fdatasync time). Each level ships the same bytes."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, sha256_file, trail_name, wait_until  # noqa: E402

PER_CONNECTION = {
    "sender": [r"debug: \[collector\] connecting to 127\.0\.0\.1 port \d+",
               r"debug: \[collector\] TLSv1\.3, \S+; the certificate matches the pinned fingerprint"],
    "receiver": [r"debug: connection from 127\.0\.0\.1:\d+ \(1 host configured with this address\)",
                 r"debug: \[[^\]]*127\.0\.0\.1:\d+\] TLSv1\.3, "],
}
PER_FILE = {
    "sender": [r"debug: \[collector\] sending {name} \(\d+ bytes now\) from offset 0",
               r"debug: \[collector\] OPEN {name} sent \(request \d+\)",
               r"debug: \[collector\] the receiver acknowledged OPEN {name}",
               r"debug: \[collector\] CLOSE {name} sent \(request \d+, 300000 bytes\)",
               r"debug: \[collector\] the receiver acknowledged CLOSE {name} \(stored and synced\)"],
    "receiver": [],
}
PER_REQUEST = {
    "sender": [r"trace: \[collector\] APPEND request \d+: \d+ bytes of {name} up to offset 300000"],
    "receiver": [r"trace: \[web1 127\.0\.0\.1:\d+\] APPEND request \d+: \d+ bytes to {name}: ok",
                 r"trace: \[web1 127\.0\.0\.1:\d+\] group commit: one fdatasync \(\d+ us\) for \d+ "
                 r"replies"],
}


def run_level(sc, level):
    recv, send = sc.standard_pair(receiver_args=["-d"] * level, sender_args=["-d"] * level)
    recv.start()
    send.start()
    name = trail_name(10 + level)
    size, digest = sc.add_trail(name, 300_000)
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30, what="the trail to be shipped",
               alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(name)), digest, f"bytes shipped at -d x{level}")
    sc.stop_all()
    logs = {"sender": send.full_text(), "receiver": recv.full_text()}
    counts = {}
    for group, wanted_from in ((PER_CONNECTION, 1), (PER_FILE, 1), (PER_REQUEST, 2)):
        for role, patterns in group.items():
            for pattern in patterns:
                found = re.search(pattern.format(name=re.escape(name)), logs[role]) is not None
                check_equal(found, level >= wanted_from,
                            f"/{pattern}/ in the {role}'s log at level {level}")
    for role, text in logs.items():
        counts[role] = len(re.findall(r"(debug|trace): ", text))
    if level == 0:
        check(counts == {"sender": 0, "receiver": 0}, f"debug lines without -d: {counts}")
    sc.note(f"-d x{level}: {counts['sender']} sender and {counts['receiver']} receiver "
            "debug/trace lines, as documented")


def body(sc):
    # Each level gets fresh daemons, directories and logs under its own root.
    for level in (0, 1, 2):
        base = sc.root
        sc.root = os.path.join(base, f"level{level}")
        os.makedirs(sc.root)
        os.chmod(sc.root, 0o755)
        try:
            run_level(sc, level)
        finally:
            sc.root = base


if __name__ == "__main__":
    run_scenario("debug_levels", body)
