#!/usr/bin/env python3
"""The fan-in load generator of bench/ (adist_fanin) against the real
receiver: 50 hosts, all with remote 127.0.0.1 and their own name and
password, connect through the real TLS and protocol handshakes (ramped: at
most 8 handshakes in flight, under the receiver's 16 unauthenticated
connections per address), each ships 96 KiB from its own offset of a shared
source file with OPEN/APPEND/CLOSE, and every stored file must equal the
bytes that host sent. Keeps bench/run's fan-in figure honest: a generator
that stopped speaking the protocol, or lost bytes, fails here."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port, run_scenario,  # noqa: E402
                     write_random_file)

HOSTS = 50
PER_HOST = 96 * 1024 + 123  # not a multiple of the 64 KiB APPEND size
TRAIL = "20260101000000.20260101010000"


def fanin_binary(sc):
    path = os.environ.get("ADIST_FANIN") or os.path.join(
        os.path.dirname(os.path.dirname(sc.binary)), "bench", "adist_fanin")
    check(os.access(path, os.X_OK), f"load generator not built: {path}")
    return path


def body(sc):
    cert, key, fp = sc.make_cert("receiver")
    port = free_port()
    remote = sc.path("remote")
    hosts = [(f"fan{i}", "127.0.0.1", f"fan-password-{i}") for i in range(HOSTS)]
    rconf = sc.receiver_config("receiver.conf", f"tls://127.0.0.1:{port}", remote, cert, key, hosts)
    recv = sc.daemon("receiver", rconf, "receiver")
    recv.start()
    source = sc.path("source")
    write_random_file(source, 1024 * 1024)
    p = subprocess.run([fanin_binary(sc), "--port", str(port), "--fingerprint", fp,
                        "--source", source, "--hosts", str(HOSTS), "--bytes", str(PER_HOST),
                        "--window", str(128 * 1024), "--timeout-s", "30"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    print(p.stdout, p.stderr, flush=True)
    check_equal(p.returncode, 0, "adist_fanin exit status")
    check(f"connected {HOSTS} of {HOSTS}" in p.stdout, "not every host connected")
    check(f"shipped {HOSTS} failed 0" in p.stdout, "not every host shipped")
    with open(source, "rb") as f:
        data = f.read()
    for i in range(HOSTS):
        # adist_fanin's source_offset(): host i starts at i * 4096, wrapped.
        at = (i * 4096) % (len(data) - PER_HOST + 1)
        with open(os.path.join(remote, f"fan{i}", TRAIL), "rb") as f:
            got = f.read()
        check(got == data[at:at + PER_HOST], f"fan{i}: stored {len(got)} bytes differ from the sent ones")
    recv.wait_log(r"CLOSE " + TRAIL.replace(".", r"\.") + r": ok", count=HOSTS, timeout=10)


run_scenario("fanin", body)
