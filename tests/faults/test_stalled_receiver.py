#!/usr/bin/env python3
"""A receiver that stops answering (SIGSTOP) in the middle of a transfer,
with `timeout 3` on both sides:
  1. a 1 s pause (shorter than the timeout) is ridden out: no reconnect, and
     the file arrives identical after SIGCONT;
  2. a pause longer than the timeout, while the sender's window is full: the
     sender notices within timeout + 3 s (it must not stall), and once the
     frozen receiver is killed and restarted the transfer resumes and the
     file arrives identical;
  3. a small trail (far from filling the window) sent while the receiver is
     frozen, so that the sender waits for acks with little in flight: it
     notices within timeout + 3 s without spinning (a livelock found by the
     network scenario: waiting for a keepalive it could not send returned at
     once), and after SIGCONT and a reconnect the trail arrives identical."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, check, check_equal, file_size, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

TIMEOUT = 3
SIZE = 64 * MiB


def start_and_freeze(sc, recv, send, index):
    name = trail_name(index)
    size, digest = sc.add_trail(name, SIZE)
    remote = sc.remote_file(name)
    wait_until(lambda: file_size(remote) >= SIZE // 5 or not os.path.exists(
        os.path.join(sc.dist, name)), timeout=30, interval=0.001,
        what=f"20% of {name} at the receiver", alive=(recv, send))
    check(file_size(remote) < SIZE, f"{name} was complete before the receiver could be stopped")
    recv.send_signal(signal.SIGSTOP)
    return name, digest, remote


def check_shipped(sc, recv, send, name, digest, remote):
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, name)), timeout=60,
               what=f"{name} to be shipped", alive=(recv, send))
    check_equal(file_size(remote), SIZE, f"size of {name}")
    check_equal(sha256_file(remote), digest, f"sha256 of {name}")


def body(sc):
    recv, send = sc.standard_pair(timeout=TIMEOUT)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")

    # 1. A short pause.
    mark = send.mark()
    name, digest, remote = start_and_freeze(sc, recv, send, 60)
    frozen_at = file_size(remote)
    time.sleep(1.0)
    recv.send_signal(signal.SIGCONT)
    check_shipped(sc, recv, send, name, digest, remote)
    lost = re.findall(r".*(?:connection lost|reconnecting).*", send.text(since=mark))
    check(not lost, f"a 1 s pause with timeout {TIMEOUT} made the sender reconnect: {lost[:2]}")
    sc.note(f"1: paused the receiver 1 s at {frozen_at} bytes: no reconnect, file identical")

    # 2. A pause longer than the timeout.
    mark = send.mark()
    name, digest, remote = start_and_freeze(sc, recv, send, 61)
    frozen = time.monotonic()
    m = send.wait_log(r"connection lost: .*timed out|connection lost: no reply", since=mark,
                      timeout=TIMEOUT + 10)
    noticed = time.monotonic() - frozen
    sc.note(f"2: the sender noticed the frozen receiver after {noticed:.1f} s: {m.group(0)!r}")
    check(noticed <= TIMEOUT + 3, f"the sender took {noticed:.1f} s to notice a receiver frozen "
                                  f"for longer than the {TIMEOUT} s timeout")
    recv.kill9()  # SIGKILL ends a stopped process too
    recv.start()
    send.wait_log(rf"resuming {name} at offset \d+", since=mark, timeout=30)
    check_shipped(sc, recv, send, name, digest, remote)
    sc.note("2: after a restart of the receiver the file arrived identical")

    # 3. Acks late with little in flight, longer than the keepalive interval.
    send.wait_log(r"shipped", since=mark)
    recv.send_signal(signal.SIGSTOP)
    mark = send.mark()
    name = trail_name(62)
    size, digest = sc.add_trail(name, 100 * 1024)
    frozen = time.monotonic()
    cpu_before = send.cpu_seconds()
    send.wait_log(r"connection lost: .*timed out|connection lost: no reply", since=mark,
                  timeout=TIMEOUT + 10)
    noticed = time.monotonic() - frozen
    cpu = send.cpu_seconds() - cpu_before
    sc.note(f"3: a 100 KiB trail to a frozen receiver: noticed after {noticed:.1f} s, "
            f"{cpu:.2f} CPU s meanwhile")
    check(noticed <= TIMEOUT + 3, f"the sender took {noticed:.1f} s to notice the frozen receiver")
    check(cpu < 1.0, f"the sender used {cpu:.2f} CPU seconds waiting for acks: it spins")
    recv.send_signal(signal.SIGCONT)
    remote = sc.remote_file(name)
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, name)), timeout=60,
               what=f"{name} to be shipped", alive=(recv, send))
    check_equal(file_size(remote), size, f"size of {name}")
    check_equal(sha256_file(remote), digest, f"sha256 of {name}")
    sc.note("3: after SIGCONT the trail arrived identical")


if __name__ == "__main__":
    run_scenario("stalled_receiver", body)
