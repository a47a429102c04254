#!/usr/bin/env python3
"""Crash loop: while a 512 MiB trail and a growing `.not_terminated` trail
are shipped, the receiver and the sender are killed with SIGKILL by turns,
30 times, each restarted at once: 20 kills spread over the 512 MiB (at
evenly spaced points of progress plus a random 0 to 50 ms), 10 at random
moments (0 to 0.6 s after the previous restart's connection). A producer
thread keeps appending pieces of random size (1 byte to 64 KiB: records are
cut anywhere) to the growing trail all along, and renames it to its final
name at the end.
Both copies must end byte-identical (size: nothing lost, nothing written
twice; sha256), with their dist links removed. After every receiver kill,
its copy must not be longer than the source (no garbage). Each sender run
gets a random window of 64 to 128 KiB (--window), so that the resume code
sees many window sizes.

The seed is printed; set ADIST_SEED to replay a run."""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (GrowingTrail, MiB, check, check_equal, file_size,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)

KILLS = 30
KILLS_IN_BIG = 20  # spread over the 512 MiB trail; the rest hit the growing one
BIG = 512 * MiB
LOOP_LIMIT = 240  # seconds for the whole kill loop


class Producer(threading.Thread):
    """Appends random pieces to a GrowingTrail every few milliseconds."""

    def __init__(self, trail, rng):
        super().__init__(daemon=True)
        self.trail = trail
        self.rng = random.Random(rng.random())
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            for _ in range(1_000_000):  # bounded; stopped long before
                if self.stop.wait(self.rng.uniform(0.002, 0.02)):
                    return
                self.trail.append(self.rng.choice([1, 7, 512, 4096, 65536, self.rng.randrange(1, 65537)]))
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def body(sc):
    seed = int(os.environ.get("ADIST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    sc.note(f"seed {seed} (ADIST_SEED={seed} replays it)")
    recv, send = sc.standard_pair()
    big = trail_name(1)
    big_size, big_digest = sc.add_trail(big, BIG)
    growing = GrowingTrail(sc, 2)
    producer = Producer(growing, rng)
    send.extra_args = ["--window", str(64 * 1024)]
    recv.start()
    send.start()
    producer.start()
    daemons = {"receiver": recv, "sender": send}
    big_copy = sc.remote_file(big)
    kills_during_big = 0
    started = time.monotonic()
    try:
        for n in range(KILLS):
            check(time.monotonic() - started < LOOP_LIMIT,
                  f"the kill loop took more than {LOOP_LIMIT} s ({n} kills)")
            victim = "receiver" if n % 2 == 0 else "sender"
            if n < KILLS_IN_BIG:
                # Spread over the 512 MiB: wait for the next point of
                # progress, then a random few milliseconds more.
                point = big_size * (n + 1) // (KILLS_IN_BIG + 1)
                wait_until(lambda: file_size(big_copy) >= point, timeout=60, interval=0.002,
                           what=f"the 512 MiB copy to pass {point} bytes", alive=(recv, send))
                time.sleep(rng.uniform(0.0, 0.05))
            else:
                # A random moment: in the middle of the growing trail's data,
                # sometimes during the connection or the handshake.
                time.sleep(rng.uniform(0.0, 0.6))
            if file_size(big_copy) < big_size:
                kills_during_big += 1
            daemons[victim].kill9()
            if victim == "sender":
                send.extra_args = ["--window", str(rng.choice([64, 96, 128]) * 1024)]
            held = file_size(big_copy)
            check(held <= big_size, f"kill {n + 1}: the copy has {held} bytes, more than the source")
            mark = send.mark()
            daemons[victim].start()
            # Let the pair reconnect before the next kill (bounded).
            send.wait_log(r"connected to ", since=mark, timeout=60)
            check(producer.error is None, f"producer failed: {producer.error}")
        loop_time = time.monotonic() - started
        sc.note(f"{KILLS} kills in {loop_time:.1f} s, {kills_during_big} of them while the "
                f"512 MiB trail was still incomplete; growing trail at {growing.size} bytes")
        check(kills_during_big >= KILLS_IN_BIG - 2,
              f"only {kills_during_big} kills hit the 512 MiB transfer")
    finally:
        producer.stop.set()
        producer.join(timeout=10)
    check(producer.error is None, f"producer failed: {producer.error}")
    growing.rename("terminated")
    send.wait_log(rf"shipped {big}", since=0, timeout=120)
    send.wait_log(rf"shipped {growing.name}", since=0, timeout=120)
    check_equal(file_size(big_copy), big_size, f"size of {big} at the receiver")
    check_equal(sha256_file(big_copy), big_digest, f"sha256 of {big}")
    copy = sc.remote_file(growing.name)
    check_equal(file_size(copy), growing.size, f"size of {growing.name} at the receiver")
    check_equal(sha256_file(copy), growing.hash.hexdigest(), f"sha256 of {growing.name}")
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=10, what="the dist directory to be empty")
    check_equal(sorted(os.listdir(sc.host_dir)), sorted([big, growing.name]),
                "files on the receiver")
    resumes = send.count_log(r"resuming .* at offset")
    sc.note(f"both trails byte-identical; the sender resumed {resumes} times")


if __name__ == "__main__":
    run_scenario("crash_loop", body)
