#!/usr/bin/env python3
"""The collector benchmark's own tools (bench/run-collector) against what
they measure, so that its rows stay honest: the load generator
(adist_collect_load) drives the real collector, closed loop then open loop,
and every command it counts as answered is in the collector's file, each
once, with the generator's own pid and uid in the trusted block; the floor
(adist_collect_floor) answers the same generator, and its file holds each
request it answered, once. A generator that counted replies it never got,
a floor that answered without storing, or a record the collector lost
fails here."""
import os
import re
import signal
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_setup, commands  # noqa: E402

CLIENTS = 40
COMMAND = re.compile(r"bench-(\d+)-(\d+) ls -l /var/tmp")


def bench_binary(sc, name):
    path = os.path.join(os.path.dirname(os.path.dirname(sc.binary)), "bench", name)
    check(os.access(path, os.X_OK), f"bench tool not built: {path}")
    return path


def run_load(sc, socket_path, seconds, rate):
    """Runs the generator; returns (its pid, answered records)."""
    p = subprocess.Popen([bench_binary(sc, "adist_collect_load"), "collector", socket_path,
                          str(CLIENTS), str(seconds), str(rate)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=60)
    print(out, err, flush=True)
    check_equal(p.returncode, 0, "adist_collect_load exit status")
    fields = out.split()
    got = dict(zip(fields[0::2], fields[1::2]))
    check_equal(got.get("failed"), "0", "requests the generator saw fail")
    records = int(got["records"])
    check(records >= 50, f"only {records} records answered in {seconds} s")
    return p.pid, records


def check_commands(texts, answered, what):
    """Each command once; per client a run 0..k with no hole; at least the
    answered ones, at most one in flight per client more."""
    check_equal(len(set(texts)), len(texts), f"{what}: a command stored twice")
    per_client = {}
    for t in texts:
        m = COMMAND.fullmatch(t)
        check(m is not None, f"{what}: not a generator command: {t!r}")
        per_client.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    for c, ks in per_client.items():
        check_equal(sorted(ks), list(range(len(ks))), f"{what}: client {c}'s commands")
    check(answered <= len(texts) <= answered + CLIENTS,
          f"{what}: {len(texts)} stored for {answered} answered ({CLIENTS} clients)")


def accepts(path):
    """True once a Unix socket at `path` takes a connection (bound is not
    enough: the floor listens after its chmod)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def floor_requests(path):
    """The floor's file: each request (ADL1, 32-bit length, fields) and a
    newline; returns the command texts."""
    with open(path, "rb") as f:
        data = f.read()
    texts, at = [], 0
    while at < len(data):
        check(data[at:at + 4] == b"ADL1", f"floor file: no request at byte {at}")
        (n,) = struct.unpack(">I", data[at + 4:at + 8])
        payload = data[at + 8:at + 8 + n]
        check(data[at + 8 + n:at + 9 + n] == b"\n", f"floor file: request at {at} not ended")
        # The command is the last field's text: the generator's one ASCII command.
        m = re.search(rb"bench-\d+-\d+ ls -l /var/tmp", payload)
        check(m is not None, f"floor file: no command in the request at {at}")
        texts.append(m.group(0).decode())
        at += 9 + n
    return texts


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (the collector's privilege drop)")
    conf, directory, socket_path = collector_setup(sc, "    rate_limit 0")
    coll = sc.daemon("collector", conf, "collector").start()
    pid_closed, closed = run_load(sc, socket_path, 1, 0)
    pid_open, opened = run_load(sc, socket_path, 1, 2000)
    coll.stop()
    stored = commands(directory)
    for pid, answered, what in ((pid_closed, closed, "closed loop"), (pid_open, opened, "open loop")):
        mine = [r for r in stored if r["trusted"]["pid"] == pid]
        check(all(r["trusted"]["uid"] == 0 for r in mine), f"{what}: a record not of uid 0")
        check_commands([r["claimed"]["command"] for r in mine], answered, f"collector, {what}")
    check(all(r["trusted"]["pid"] in (pid_closed, pid_open) for r in stored),
          "a command record from neither generator run")

    floor_socket = sc.path("run", "floor.sock")
    floor_file = sc.path("floor.out")
    floor = subprocess.Popen([bench_binary(sc, "adist_collect_floor"), floor_socket, floor_file, "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: accepts(floor_socket), timeout=10, what="the floor listening")
        _, answered = run_load(sc, floor_socket, 1, 0)
    finally:
        floor.send_signal(signal.SIGTERM)
        out, _ = floor.communicate(timeout=15)
        print(out, flush=True)
    check_equal(floor.returncode, 0, "adist_collect_floor exit status")
    check_commands(floor_requests(floor_file), answered, "floor")


run_scenario("collector_load", scenario)
