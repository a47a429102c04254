#!/usr/bin/env python3
"""max_host_bytes caps what one host stores (docs/security.md, "Per-host
limits"). Host web1 may keep 1 MiB on disk: a first trail of 500,000 bytes
arrives; the second, of 800,000 bytes, is cut where the cap would be passed
(APPEND refused with "cannot write trail file", logged by both sides, shown
in the receiver's status) and the bytes on disk of the host directory stay
under the cap. A reload raising the cap to 4 MiB (a limits-only change, the
host's connection is not touched by it) lets the sender, retrying with
backoff, complete the second trail byte-identical."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)

CAP = 1 << 20


def disk_bytes(directory):
    return sum(os.stat(os.path.join(directory, n)).st_blocks * 512 for n in os.listdir(directory))


def status(sc, sock):
    p = subprocess.run([sc.binary, "status", "--control-socket", sock, "--json"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"exit status of auditdistd status ({p.stderr.strip()})")
    return [h for h in json.loads(p.stdout)["hosts"] if h["role"] == "receiver"][0]


def body(sc):
    sc.mkdir("run")
    sock = sc.path("run", "receiver.sock")
    recv, send = sc.standard_pair(receiver_args=["--control-socket", sock])
    conf = recv.conf
    with open(conf) as f:
        text = f.read()
    capped = text.replace("receiver {", f"receiver {{\n    max_host_bytes {CAP}", 1)
    check(capped != text, "could not add max_host_bytes to the receiver's configuration")
    sc.write_config(os.path.basename(conf), capped)
    first, second = trail_name(1), trail_name(2)
    size1, digest1 = sc.add_trail(first, 500_000)
    recv.start()
    send.start()
    send.wait_log(rf"shipped {first}")
    check_equal(sha256_file(sc.remote_file(first)), digest1, f"sha256 of {first}")
    mark, smark = recv.mark(), send.mark()
    size2, digest2 = sc.add_trail(second, 800_000)
    m = recv.wait_log(r"\[web1 127\.0\.0\.1:\d+\] APPEND refused: host over max_host_bytes "
                      r"\((\d+) bytes stored of (\d+)\)", since=mark, timeout=30)
    send.wait_log(r"the receiver refused APPEND: cannot write trail file", since=smark, timeout=10)
    stored = file_size(sc.remote_file(second))
    on_disk = disk_bytes(sc.host_dir)
    sc.note(f"receiver logged {m.group(0)!r}; {second} holds {stored} of {size2} bytes, "
            f"the host directory {on_disk} bytes on disk (cap {CAP})")
    check_equal(int(m.group(2)), CAP, "the cap in the refusal")
    check(stored < size2, f"{second} was stored whole ({stored} bytes) past the cap")
    check(on_disk <= CAP + 8192, f"{on_disk} bytes on disk for web1, over the {CAP} cap")
    st = status(sc, sock)
    check("max_host_bytes" in (st["last_error"] or ""), f"the status does not show it: {st}")
    # Raise the cap: a limits-only reload.
    sc.write_config(os.path.basename(conf), capped.replace(f"max_host_bytes {CAP}",
                                                           f"max_host_bytes {4 * CAP}"))
    rmark = recv.mark()
    recv.send_signal(signal.SIGHUP)
    recv.wait_log(r"\[web1\] limits changed by the new configuration: .*max_host_bytes "
                  rf"{4 * CAP}", since=rmark, timeout=10)
    send.wait_log(rf"shipped {second}", since=smark, timeout=60)
    check_equal(file_size(sc.remote_file(second)), size2, f"size of {second} after the reload")
    check_equal(sha256_file(sc.remote_file(second)), digest2, f"sha256 of {second}")
    sc.note(f"after the reload raised the cap, {second} arrived whole")
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, second)), timeout=10,
               what="the dist link to go", alive=(recv, send))


if __name__ == "__main__":
    run_scenario("host_bytes_cap", body)
