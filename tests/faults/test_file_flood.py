#!/usr/bin/env python3
"""An authenticated sender floods the collector with empty trails
(docs/security.md, "Per-host limits"). The real sender of host web1 finds
3,000 empty trails in its dist directory (it ships ~1,300 a second when
nothing stops it); the receiver has max_files_per_minute 60 and
max_files_burst 100. Checks:
  - within 10 s of web1's first file, the receiver created at most the burst
    plus 10 s of refill (100 + 10, +2 for timing);
  - the refusal is logged ("OPEN ... refused: host over max_files_per_minute")
    at most a few times a minute, the sender logs it and reconnects with
    backoff, and the receiver's status shows it as web1's last error;
  - meanwhile host web2 (another address, its own sender) ships a 2 MiB
    trail byte-identical: one host's flood does not starve another."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, check, check_equal, file_size, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

FLOOD = 3000
RATE = 60      # max_files_per_minute
BURST = 100    # max_files_burst
WINDOW = 10.0  # seconds watched after web1's first file
PASSWORD = "flood-secret"


def receiver_conf(sc, port, cert, key):
    return sc.write_config("receiver.conf", f"""pidfile "none"
timeout 5
receiver {{
    listen "tls://127.0.0.1:{port}"
    directory "{sc.remote}"
    certfile "{cert}"
    keyfile "{key}"
    max_files_per_minute {RATE}
    max_files_burst {BURST}
    host "web1" {{
        remote "127.0.0.1"
        password "{PASSWORD}"
    }}
    host "web2" {{
        remote "127.0.0.2"
        password "{PASSWORD}"
    }}
}}
""")


def sender_conf(sc, name, source, dist, port, fp):
    return sc.write_config(f"{name}.conf", f"""name "{name}"
pidfile "none"
timeout 5
sender {{
    source "{source}"
    directory "{dist}"
    host "collector" {{
        remote "tls://127.0.0.1:{port}"
        fingerprint "{fp}"
        password "{PASSWORD}"
    }}
}}
""")


def status(sc, sock):
    p = subprocess.run([sc.binary, "status", "--control-socket", sock, "--json"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"exit status of auditdistd status ({p.stderr.strip()})")
    return {h["host"]: h for h in json.loads(p.stdout)["hosts"] if h["role"] == "receiver"}


def count(directory):
    try:
        return len(os.listdir(directory))
    except FileNotFoundError:
        return 0


def body(sc):
    sc.pair_dirs()
    dist2 = sc.mkdir("dist2")
    cert, key, fp = sc.make_cert("receiver")
    port = free_port()
    sc.mkdir("run")
    sock = sc.path("run", "receiver.sock")
    recv = sc.daemon("receiver", receiver_conf(sc, port, cert, key), "receiver",
                     ["--control-socket", sock])
    web1 = sc.daemon("web1", sender_conf(sc, "web1", "127.0.0.1", sc.dist, port, fp), "sender")
    web2 = sc.daemon("web2", sender_conf(sc, "web2", "127.0.0.2", dist2, port, fp), "sender")
    for i in range(FLOOD):
        sc.add_trail(trail_name(i), data=b"")
    recv.start()
    web2.start()
    web2.wait_log(r"connected to ")
    web1.start()
    host1 = os.path.join(sc.remote, "web1")
    wait_until(lambda: count(host1) > 0, timeout=30, what="web1's first file", alive=(recv, web1))
    first = time.monotonic()
    # web2 ships a real trail while web1 floods.
    name2 = trail_name(5000)
    data2 = os.urandom(2 * MiB)
    src2 = os.path.join(sc.source, "web2." + name2)
    with open(src2, "wb") as f:
        f.write(data2)
    os.link(src2, os.path.join(dist2, name2))
    samples = []
    for _ in range(int(WINDOW * 10) + 10):
        elapsed = time.monotonic() - first
        if elapsed >= WINDOW:
            break
        samples.append((elapsed, count(host1)))
        time.sleep(0.1)
    created = count(host1)
    waited = time.monotonic() - first
    bound = BURST + int(waited * RATE / 60) + 2
    sc.note(f"web1: {created} files created in the {waited:.1f} s after its first "
            f"(bound {bound}); samples {samples[::20]}")
    check(created <= bound, f"the receiver created {created} files for web1 in {waited:.1f} s: "
                            f"over max_files_burst {BURST} + {RATE}/min")
    check(created >= BURST, f"only {created} files: the burst of {BURST} should pass at once")
    copy2 = os.path.join(sc.remote, "web2", name2)
    wait_until(lambda: not os.path.exists(os.path.join(dist2, name2)), timeout=30,
               what="web2's trail to be shipped during the flood", alive=(recv, web1, web2))
    check_equal(file_size(copy2), len(data2), "size of web2's trail")
    check_equal(sha256_file(copy2), sha256_file(src2), "sha256 of web2's trail")
    refusal = r"\[web1 127\.0\.0\.1:\d+\] OPEN \d{14}\.\d{14} refused: host over max_files_per_minute"
    m = recv.wait_log(refusal, timeout=10)
    sc.note(f"receiver logged {m.group(0)!r}")
    web1.wait_log(r"the receiver refused OPEN \S+: ", timeout=10)
    r = web1.wait_log(r"reconnecting in \d+ ms", timeout=10)
    sc.note(f"web1 logged the refusal, then {r.group(0)!r}")
    st = status(sc, sock)
    check("max_files_per_minute" in (st["web1"]["last_error"] or ""),
          f"web1's status does not show the refusal: {st['web1']}")
    check(not st["web2"]["last_error"], f"web2's status shows an error: {st['web2']}")
    sc.note(f"status of web1: last_error {st['web1']['last_error']!r}")
    logged = len(re.findall(refusal, recv.text()))
    refused = int(re.search(r"(\d+) refusals since start", st["web1"]["last_error"]).group(1))
    sc.note(f"{refused} refusals, {logged} of them logged")
    check(logged <= 3 * (int((time.monotonic() - first) / 60) + 1),
          f"{logged} refusal lines: not rate-limited")


if __name__ == "__main__":
    run_scenario("file_flood", body)
