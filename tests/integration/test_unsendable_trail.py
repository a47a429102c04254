#!/usr/bin/env python3
"""Trails that cannot be sent are never silent (issue 11, item 4, sender side).
The sender runs with --repeat-interval 2 (default 600 s) and a status socket.
  - Older than the receiver's newest (a clock set back): after trail 5 is
    shipped, trails 1 and 2 appear. They are never sent and their links stay;
    `status` shows the host connected, their bytes as unacknowledged and the
    error; the line about each is logged again after the interval (not once
    per process), a bounded number of times.
  - Refused by the receiver (its host directory made unwritable, so OPEN is
    refused with `cannot create trail file`; per-host limits and future names
    refuse the same way): `status` shows the refusal and counts the trail as
    unacknowledged, the refusal line comes again after the interval, the
    sender reconnects with backoff (a bounded number of attempts, no spinning),
    and ships the trail once the directory is writable again."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)


def sender_status(sc, sock):
    p = subprocess.run([sc.binary, "status", "--json", "--control-socket", sock],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, 0, f"exit status of auditdistd status ({p.stderr.strip()})")
    hosts = [h for h in json.loads(p.stdout)["hosts"] if h["role"] == "sender"]
    check_equal(len(hosts), 1, "sender entries in the status")
    return hosts[0]


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (status socket, making the receiver's directory unwritable)")
    sc.mkdir("run")
    sock = sc.path("run", "sender.sock")
    recv, send = sc.standard_pair(sender_args=["--control-socket", sock,
                                               "--repeat-interval", "2"])
    recv.start()
    send.start()
    newest = trail_name(5)
    sc.add_trail(newest, 100_000)
    send.wait_log(rf"shipped {newest}")

    # 1. Older than the receiver's newest.
    old1, old2 = trail_name(1), trail_name(2)
    size1, _ = sc.add_trail(old1, 300_000)
    size2, _ = sc.add_trail(old2, 70_000)
    line = rf"not sending \S*{old1}: it sorts before {newest}"
    send.wait_log(line, timeout=10)
    wait_until(lambda: "not sending" in (sender_status(sc, sock)["last_error"] or ""),
               timeout=10, what="the error in the sender's status")
    s = sender_status(sc, sock)
    sc.note(f"older trails: status connected={s['connected']}, unacked={s['unacked_bytes']}, "
            f"last_error={s['last_error']!r}")
    check(s["connected"], f"the sender is not connected: {s}")
    check_equal(s["unacked_bytes"], size1 + size2, "unacknowledged bytes (the two older trails)")
    mark = send.mark()
    started = time.monotonic()
    send.wait_log(line, since=mark, timeout=10)
    again = time.monotonic() - started
    time.sleep(5)
    repeats = send.count_log(line, since=mark)
    sc.note(f"the line about {old1} came again after {again:.1f} s; {repeats} times in "
            f"{time.monotonic() - started:.1f} s")
    check(2 <= repeats <= 6, f"{repeats} lines about {old1} in about 7 s with a 2 s interval")
    for name in (old1, old2):
        check(os.path.exists(os.path.join(sc.dist, name)), f"the link of {name} was removed")
        check(not os.path.exists(sc.remote_file(name)), f"{name} reached the receiver")

    # 2. Refused by the receiver.
    owner = os.stat(sc.host_dir)
    os.chown(sc.host_dir, 0, 0)
    os.chmod(sc.host_dir, 0o555)
    refused = trail_name(6)
    size6, digest6 = sc.add_trail(refused, 50_000)
    refusal = rf"the receiver refused OPEN {refused}: cannot create trail file"
    send.wait_log(refusal, timeout=15)
    wait_until(lambda: "refused OPEN" in (sender_status(sc, sock)["last_error"] or ""),
               timeout=10, what="the refusal in the sender's status")
    s = sender_status(sc, sock)
    sc.note(f"refused: unacked={s['unacked_bytes']}, last_error={s['last_error']!r}")
    check_equal(s["unacked_bytes"], size1 + size2 + size6,
                "unacknowledged bytes (the two older trails and the refused one)")
    mark = send.mark()
    cpu_before, started = send.cpu_seconds(), time.monotonic()
    time.sleep(8)
    cpu = send.cpu_seconds() - cpu_before
    attempts = send.count_log(r"reconnecting in", since=mark)
    lines = send.count_log(refusal, since=mark)
    sc.note(f"refused for 8 s: {attempts} reconnections, {lines} refusal lines, {cpu:.2f} CPU s")
    check(1 <= lines <= attempts, f"{lines} refusal lines for {attempts} attempts in 8 s")
    check(attempts <= 6, f"{attempts} reconnections in 8 s: no backoff")
    check(cpu < 1.0, f"{cpu:.2f} CPU seconds in 8 s while refused: something spins")

    os.chown(sc.host_dir, owner.st_uid, owner.st_gid)
    os.chmod(sc.host_dir, 0o700)
    send.wait_log(rf"shipped {refused}", since=mark, timeout=60)
    check_equal(sha256_file(sc.remote_file(refused)), digest6, f"sha256 of {refused}")
    wait_until(lambda: sender_status(sc, sock)["unacked_bytes"] == size1 + size2, timeout=10,
               what="only the older trails left unacknowledged")


if __name__ == "__main__":
    run_scenario("unsendable_trail", body)
