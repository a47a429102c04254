#!/usr/bin/env python3
"""`auditdistd log` never holds a shell up and the collector's policies
work (issue 14):
  - with no collector, a stopped collector (SIGSTOP) or a socket nobody
    accepts on, `auditdistd log` returns within 200 ms plus its start,
    exits 0 and prints nothing; with -v it says why and exits 75;
  - a listen queue that someone else's connections keep full is tried
    again until there is room, within the same budget;
  - one uid holding 600 idle connections gets all but 256 closed at once,
    and another uid is still served;
  - one uid flooding past rate_limit is cut and counted in a `suppressed`
    record while another uid's commands all pass;
  - a command longer than max_record_size is cut and marked, bytes that are
    not UTF-8 come back exactly;
  - heartbeats are written; SIGHUP and `rotate size` close the file as
    <start>.<end> (in dist too) and the next one's header names it."""
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SANITIZED, Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_config, commands, records  # noqa: E402

def raw_request(socket_path, text):
    """One command request (collector/request.hpp: "ADL1", the payload's
    length, then tag 1 with the command), and the reply byte."""
    field = bytes([1]) + len(text.encode()).to_bytes(4, "big") + text.encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(socket_path)
        s.sendall(b"ADL1" + len(field).to_bytes(4, "big") + field)
        return s.recv(1)


# Opens 600 connections, sends nothing, prints how many the server closed
# within a second, then holds the rest until killed.
HOLDER = """
import socket, sys, time, select
conns = []
for _ in range(600):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    conns.append(s)
time.sleep(1)
closed = 0
for s in conns:
    r, _, _ = select.select([s], [], [], 0)
    if r and s.recv(1) in (b"", b"S"):  # refused: answered suppressed, closed
        closed += 1
print(len(conns), closed, flush=True)
time.sleep(60)
"""
# The client's budget, plus exec and dynamic linking on a busy machine.
LIMIT = 0.2 + 0.15
# What the client may wait beyond its own start and exit, which is measured
# alongside by runs that fail at once (no such socket). On the 2 shared cores
# one start and exit took from 0.03 to 0.8 s while other tests ran (and over
# 3 s instrumented, under the sanitizers): each figure is the fastest of up
# to 7 runs, since load only ever adds time, and under the sanitizers only
# the difference is asserted.
WAIT_LIMIT = 0.2 + 0.1


def client(sc, socket_path, text, verbose=False, user=None):
    args = [sc.binary, "log", *(["-v"] if verbose else []), "-s", socket_path, "--", text]
    start = time.monotonic()
    p = subprocess.run(args, capture_output=True, timeout=10,
                       user=user, group=None if user is None else "nogroup",
                       extra_groups=None if user is None else [])
    return p, time.monotonic() - start


def timed_client(sc, socket_path, text, verbose=False, attempts=7):
    """client() and a run against no socket, up to 7 times each until the
    fastest of each are within the limits; the last run, the fastest time
    and the fastest time beyond the fastest start and exit. A client that
    waits beyond its budget exceeds it every time."""
    took = start_and_exit = float("inf")
    for _ in range(attempts):
        start_and_exit = min(start_and_exit, client(sc, sc.path("no-such.sock"), text, verbose)[1])
        p, t = client(sc, socket_path, text, verbose)
        took = min(took, t)
        if took - start_and_exit < WAIT_LIMIT and (SANITIZED or took < LIMIT):
            break
    return p, took, took - start_and_exit


def assert_fast(what, took, waited, absolute=True):
    check(waited < WAIT_LIMIT, f"{what}: waited {waited * 1000:.0f} ms beyond its start and exit")
    if absolute and not SANITIZED:
        check(took < LIMIT, f"{what}: took {took * 1000:.0f} ms")


def assert_quiet_and_fast(sc, socket_path, what):
    p, took, waited = timed_client(sc, socket_path, "x")
    check_equal((p.returncode, p.stdout, p.stderr), (0, b"", b""), f"{what}: exit and output")
    assert_fast(what, took, waited)
    p, took, waited = timed_client(sc, socket_path, "x", verbose=True)
    check_equal(p.returncode, 75, f"{what}: -v exit status")
    check(p.stderr.startswith(b"auditdistd log: "), f"{what}: -v says {p.stderr!r}")
    assert_fast(what + " (-v)", took, waited)
    return p.stderr.decode().strip()


def full_queue(sc):
    """A listen queue filled by someone else's connections: the client tries
    again until its budget ends, and gets in once there is room (it used
    to give up at once, silently)."""
    path = sc.path("run", "full.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    fillers = []
    for _ in range(16):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            s.close()
            break
        fillers.append(s)
    check(0 < len(fillers) < 16, f"the listen queue did not fill ({len(fillers)} connections)")
    args = [sc.binary, "log", "-v", "-s", path, "--", "after-a-full-queue"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.08)  # the client meets the full queue, and tries again
        listener.settimeout(5)
        for _ in fillers:
            listener.accept()[0].close()
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            check(False, f"the client never connected once the queue had room: "
                         f"exit {p.poll()}, {p.stderr.read() if p.poll() is not None else b''}")
        with conn:
            conn.settimeout(5)
            data = b""
            while len(data) < 8 or len(data) < 8 + int.from_bytes(data[4:8], "big"):
                chunk = conn.recv(65536)
                check(chunk != b"", f"the client closed after {len(data)} bytes")
                data += chunk
            check(data.startswith(b"ADL1") and b"after-a-full-queue" in data, f"request {data!r}")
            conn.sendall(b"W")
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for s in fillers:
            s.close()
        listener.close()
    check_equal((p.returncode, err), (0, b""), "the client that met a full queue")
    sc.note(f"a full listen queue ({len(fillers)} waiting): the client tried again and got in")


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (privilege drop, a second uid)")
    directory = sc.path("commands")
    socket_path = sc.path("run", "collect.sock")
    why = assert_quiet_and_fast(sc, socket_path, "no collector")
    sc.note(f"no collector: quiet, exit 0; -v: {why}")

    sc.mkdir("run")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(sc.path("run", "silent.sock"))
    silent.listen(1)
    why = assert_quiet_and_fast(sc, sc.path("run", "silent.sock"), "a socket nobody answers on")
    silent.close()
    sc.note(f"a socket nobody answers on: quiet; -v: {why}")
    full_queue(sc)

    conf = collector_config(sc, directory, socket_path,
                            "    rate_limit 5\n    max_record_size 300\n    heartbeat 1\n"
                            "    rotate size 8K")
    coll = sc.daemon("collector", conf, "collector").start()
    # The collector process: the supervisor's child that runs as the
    # collector's own user (the other child is the worker).
    children = [int(x) for x in os.popen(f"pgrep -P {coll.pid}").read().split()]
    uid = pwd.getpwnam(sc.collector_user()).pw_uid
    collector = [p for p in children if os.stat(f"/proc/{p}").st_uid == uid]
    check(len(collector) == 1, f"no single collector process among {children}")
    os.kill(collector[0], signal.SIGSTOP)
    try:
        why = assert_quiet_and_fast(sc, socket_path, "a stopped collector")
    finally:
        os.kill(collector[0], signal.SIGCONT)
    sc.note(f"a stopped collector: quiet, within {WAIT_LIMIT * 1000:.0f} ms beyond start and exit; -v: {why}")

    # One uid holding many idle connections does not take the others' places.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    holder = subprocess.Popen([python, "-c", HOLDER, socket_path], user="nobody",
                              group="nogroup", extra_groups=[], stdout=subprocess.PIPE, text=True)
    try:
        counts = holder.stdout.readline().split()
        check(len(counts) == 2, f"holder said {counts}")
        opened, closed = int(counts[0]), int(counts[1])
        check(opened == 600 and closed >= 600 - 256, f"{closed} of {opened} idle connections closed")
        # At most 3 runs: root's burst is 5 (rate_limit 5), and the flood below
        # counts what is suppressed.
        p, took, waited = timed_client(sc, socket_path, "while-held", verbose=True, attempts=3)
        check_equal(p.returncode, 0, "root's command while nobody holds 256 connections")
        assert_fast("root's command", took, waited, absolute=False)
    finally:
        holder.kill()
        holder.wait()
    sc.note(f"nobody opened {opened} idle connections: {closed} closed at once, root still served")

    # Rate limit: root floods (the burst is 5), nobody sends 3 meanwhile.
    # The flood is sent from here, not by 40 `auditdistd log` processes,
    # whose starts on a loaded machine can stretch it past the limit's pace.
    # 0 written, 75 suppressed, as the client's exit codes would be.
    # A fresh bucket, and what root's commands above had suppressed counted
    # (a count is written at the next sync interval, 1 s).
    # The idle connections past nobody's share were refused and counted.
    def suppressed(uid=0):
        return [r for _, r in records(directory) if r["type"] == "suppressed" and r["uid"] == uid]
    nobody = pwd.getpwnam("nobody").pw_uid
    wait_until(lambda: sum(r["count"] for r in suppressed(nobody)) >= closed, timeout=5,
               what="suppressed records counting nobody's refused connections")
    check(all(r["user"] == "nobody" for r in suppressed(nobody)), f"{suppressed(nobody)}")
    sc.note(f"nobody's {closed} refused connections counted in suppressed records")
    time.sleep(2.1)
    before = sum(r["count"] for r in suppressed())
    results = [{b"W": 0, b"S": 75}.get(raw_request(socket_path, f"flood-{i}"), -1) for i in range(40)]
    others = [client(sc, socket_path, f"other-{i}", verbose=True, user="nobody")[0].returncode
              for i in range(3)]
    check_equal(others, [0, 0, 0], "the other uid's commands")
    check(results.count(0) < 20 and results.count(75) > 15, f"flood results {results}")
    # Counts are written once per sync interval: a flood that spans two
    # intervals is counted in two records. Every suppressed one must be.
    wait_until(lambda: sum(r["count"] for r in suppressed()) - before >= results.count(75),
               timeout=5, what="suppressed records counting every refused command")
    sup = suppressed()
    check_equal(sum(r["count"] for r in sup) - before, results.count(75), "suppressed counts")
    check(all(r["user"] == "root" for r in sup), f"suppressed {sup}")
    sc.note(f"flood: {results.count(0)} written, {results.count(75)} suppressed and counted; "
            "the other uid unaffected")
    time.sleep(1.1)  # a fresh bucket

    raw = b"long-" + b"\xff\xfe" + "é".encode() * 400
    p = subprocess.run([sc.binary, "log", "-v", "-s", socket_path, "--", raw], capture_output=True,
                       timeout=10)
    check_equal(p.returncode, 0, "long command")
    c = [c for c in commands(directory) if c["claimed"]["command"].startswith("long-")][-1]["claimed"]
    check(c["truncated"] and c["command_length"] == len(raw), f"truncation marks: {c}")
    check_equal(c["command"].encode("utf-8", "surrogateescape"), raw[:300], "cut bytes")
    check(c["invalid_utf8"], "invalid_utf8 mark")
    sc.note("a 805-byte command: first 300 bytes kept exactly, truncated and length marked")
    # 100 KB: the server reads what it keeps and drops the rest.
    p, took = client(sc, socket_path, "huge-" + "h" * 99995, verbose=True)
    check_equal(p.returncode, 0, "a 100 KB command")
    c = [c for c in commands(directory) if c["claimed"]["command"].startswith("huge-")][-1]["claimed"]
    check_equal((len(c["command"]), c["command_length"], c["truncated"]), (300, 100000, True),
                "the 100 KB command's record")
    sc.note(f"a 100 KB command: answered in {took * 1000:.0f} ms, 300 bytes kept")

    wait_until(lambda: any(r["type"] == "heartbeat" for _, r in records(directory)), timeout=5,
               what="a heartbeat record")
    before = set(os.listdir(directory))
    coll.send_signal(signal.SIGHUP)
    wait_until(lambda: set(os.listdir(directory)) != before, timeout=5, what="a new file after SIGHUP")
    for i in range(60):  # past 8K: rotate size
        client(sc, socket_path, f"fill-{i}-" + "x" * 200, user="nobody")
        if i % 4 == 3:
            time.sleep(1)  # stay under the rate limit
    names = sorted(n for n in os.listdir(directory) if len(n) == 29)
    done = [n for n in names if not n.endswith(".not_terminated")]
    check(len(done) >= 3, f"closed files: {names}")
    for n in done:
        check(n[15:].isdigit() and n[15:] >= n[:14], f"closed file name {n}")
        check(os.path.exists(os.path.join(directory, "dist", n)), f"{n} not renamed in dist")
        check(os.path.getsize(os.path.join(directory, n)) <= 8192 + 1024, f"{n} too large")
    heads = [r for _, r in records(directory) if r["type"] == "header"]
    check_equal([h["previous_file"] for h in heads[1:]], done[:len(heads) - 1], "headers' previous_file")
    sc.note(f"SIGHUP and rotate size: {len(done)} closed files, each header names the previous")


if __name__ == "__main__":
    run_scenario("collector_client", scenario)
