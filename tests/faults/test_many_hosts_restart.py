#!/usr/bin/env python3
"""Receiver restart with many hosts: 20 senders shipping at once, receiver
killed (kill -9) and restarted: all 20 complete exactly.

One receiver with 20 host entries and 20 sender daemons, each with its own
name, dist directory and source directory. Hosts 01-10 all connect from
127.0.0.1 (the receiver tells them apart by the name in the handshake);
hosts 11-20 bind their own loopback address 127.0.0.11-20 with the sender's
`source` statement (the receiver matches them by peer address first).

Each sender ships a 16 MiB trail (2 MiB for hosts 05, 10, 15 and 20) and
then a `.not_terminated` trail that keeps growing, also while the receiver
is down, and is renamed to its final name at the end. The receiver is killed
with SIGKILL once it holds 30% of the first trails' bytes and one of the
2 MiB hosts has begun its growing trail (at 55% at the latest; the 2 MiB
hosts' links come first, the others once one of them is in its growing trail): at least 10 of
the 16 MiB copies must be incomplete then, and at least one host (one of
the 2 MiB ones) must be in its growing trail. It stays down 3 s and is
restarted. Then, for every host:
  - the receiver reports its copy's size at the kill as the resume point,
    and the sender logs the same name and size ("receiver has ... at N",
    and "resuming ... at offset N" when it continues that file);
  - both copies end byte-identical to the source (size and sha256), the
    final one renamed, nothing else in the host directory;
  - the dist directory is empty (every link removed after its CLOSE ack).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, check, check_equal, file_size, free_port, list_files,  # noqa: E402
                     run_scenario, sha256_file, trail_name, wait_until)

HOSTS = 20
SHARED = 10            # hosts 1..SHARED connect from 127.0.0.1, the rest from 127.0.0.<n>
BIG = 16 * MiB         # the terminated trail each host ships first ...
SMALL = 2 * MiB        # ... except these hosts, which are in their growing trail at the kill
SMALL_HOSTS = (5, 10, 15, 20)
GROW_START = 256 * 1024
GROW_CHUNK = 96 * 1024 + 17  # odd size: appends do not line up with 64 KiB frames
KILL_AT = 0.30         # kill once the copies hold 30% of all first-trail bytes and one
KILL_AT_LATEST = 0.55  # of the 2 MiB hosts is in its growing trail (or at 55% regardless)
MIN_INCOMPLETE = 10    # at least this many 16 MiB copies must be incomplete at the kill
DOWN_SECONDS = 3.0
TIMEOUT = 5
PASSWORD_FMT = "pw-{}-secret"


def host_name(i):
    return f"host{i:02d}"


def host_address(i):
    return "127.0.0.1" if i <= SHARED else f"127.0.0.{i}"


def append_random(path, n):
    with open(path, "ab") as f:
        f.write(os.urandom(n))


def newest(directory):
    """(name, size) of the greatest trail name in `directory`, ("", 0) if none."""
    names = sorted(n for n in os.listdir(directory) if len(n) == 29) if os.path.isdir(
        directory) else []
    if not names:
        return "", 0
    return names[-1], file_size(os.path.join(directory, names[-1]))


class Host:
    def __init__(self, sc, i, url, fingerprint):
        self.i = i
        self.name = host_name(i)
        self.address = host_address(i)
        self.password = PASSWORD_FMT.format(i)
        self.dist = sc.mkdir("dist", self.name)
        self.source = sc.mkdir("source", self.name)
        self.remote_dir = sc.path("remote", self.name)
        self.big = trail_name(10)
        self.big_size = SMALL if i in SMALL_HOSTS else BIG
        self.grow = trail_name(11, "not_terminated")
        self.grow_final = trail_name(11)
        lines = [f'name "{self.name}"', 'pidfile "none"', f"timeout {TIMEOUT}", "sender {",
                 f'    directory "{self.dist}"']
        if self.address != "127.0.0.1":
            lines.append(f'    source "{self.address}"')
        lines += ['    host "collector" {', f'        remote "{url}"',
                  f'        fingerprint "{fingerprint}"', f'        password "{self.password}"',
                  "    }", "}"]
        conf = sc.write_config(f"sender-{self.name}.conf", "\n".join(lines) + "\n")
        self.daemon = sc.daemon(f"sender-{self.name}", conf, "sender")

    def src(self, name):
        return os.path.join(self.source, name)

    def copy(self, name):
        return os.path.join(self.remote_dir, name)

    def prepare(self):
        """Source files are written before the senders start; the dist links
        come later, all at once (link())."""
        with open(self.src(self.big), "wb") as f:
            for _ in range(self.big_size // MiB):
                f.write(os.urandom(MiB))
        with open(self.src(self.grow), "wb") as f:
            f.write(os.urandom(GROW_START))

    def link(self):
        os.link(self.src(self.big), os.path.join(self.dist, self.big))
        os.link(self.src(self.grow), os.path.join(self.dist, self.grow))

    def grow_more(self, n=GROW_CHUNK):
        append_random(self.src(self.grow), n)  # same inode as the dist link

    def big_held(self):
        return max(file_size(self.copy(self.big)), 0)


def body(sc):
    cert, key, fp = sc.make_cert("receiver")
    port = free_port("127.0.0.1")
    url = f"tls://127.0.0.1:{port}"
    remote = sc.path("remote")
    hosts = [Host(sc, i, url, fp) for i in range(1, HOSTS + 1)]
    rconf = sc.receiver_config("receiver.conf", url, remote, cert, key,
                               [(h.name, h.address, h.password) for h in hosts], timeout=TIMEOUT)
    recv = sc.daemon("receiver", rconf, "receiver")
    senders = [h.daemon for h in hosts]
    everyone = (recv, *senders)
    t0 = time.monotonic()
    for h in hosts:
        h.prepare()
    total = sum(h.big_size for h in hosts)
    sc.note(f"{HOSTS} source trees written ({(total + HOSTS * GROW_START) // MiB} MiB) in "
            f"{time.monotonic() - t0:.1f} s")

    recv.start()
    for d in senders:
        d.start()
    for h in hosts:
        h.daemon.wait_log(r"connected to .*; receiver has no file yet", timeout=30)
    # Every host connected from the address it should (name vs. address matching).
    for h in hosts:
        recv.wait_log(rf"\[{h.name} {re.escape(h.address)}:\d+\] authenticated; resume point "
                      r"\(no file yet\) at 0", timeout=10)
    sc.note(f"{HOSTS} senders connected: {SHARED} share 127.0.0.1, "
            f"{HOSTS - SHARED} use source 127.0.0.{SHARED + 1}..{HOSTS}")

    # Ship: all dist links at once, then kill the receiver mid-way.
    started = time.monotonic()
    small = [h for h in hosts if h.big_size == SMALL]
    # The 2 MiB hosts first, until one is in its growing trail: when the
    # network outruns the disk, the big hosts' group commits would otherwise
    # hold the small hosts' CLOSE and next OPEN in the sync pool until the big
    # copies are nearly complete.
    for h in small:
        h.link()
    wait_until(lambda: any(os.path.exists(h.copy(h.grow)) for h in small), timeout=30,
               interval=0.001, what="a 2 MiB host in its growing trail", alive=everyone)
    for h in hosts:
        if h not in small:
            h.link()

    def kill_point():
        held = sum(h.big_held() for h in hosts)
        growing = any(os.path.exists(h.copy(h.grow)) for h in small)
        return held >= total * KILL_AT_LATEST or (held >= total * KILL_AT and growing)

    wait_until(kill_point, timeout=60, interval=0.001,
               what=f"{KILL_AT:.0%} of all first-trail bytes and a growing trail at the receiver",
               alive=everyone)
    recv.kill9()
    killed = time.monotonic()
    at_kill = {h.name: newest(h.remote_dir) for h in hosts}
    big_at_kill = {h.name: h.big_held() for h in hosts}
    # Which senders still had the newest file's dist link (they must continue it).
    linked_at_kill = {h.name: bool(at_kill[h.name][0]) and os.path.exists(
        os.path.join(h.dist, at_kill[h.name][0])) for h in hosts}
    incomplete = [h.name for h in hosts if big_at_kill[h.name] < h.big_size]
    in_grow = [h.name for h in hosts if at_kill[h.name][0] == h.grow]
    held = sum(big_at_kill.values())
    sc.note(f"receiver killed after {killed - started:.2f} s holding {held / MiB:.1f} of "
            f"{total // MiB} MiB; {len(incomplete)}/{HOSTS} first trails incomplete, "
            f"{len(in_grow)} hosts in their growing trail; per host (MiB): "
            + " ".join(f"{big_at_kill[h.name] / MiB:.1f}" for h in hosts))
    check(len(incomplete) >= MIN_INCOMPLETE,
          f"only {len(incomplete)} of {HOSTS} copies were incomplete at the kill (want at least "
          f"{MIN_INCOMPLETE}): the transfer was not caught mid-way")
    check(in_grow, "no host was in its growing trail at the kill")
    sc.note("growing trails at the kill: " + ", ".join(
        f"{n} at {at_kill[n][1]} bytes" for n in in_grow))
    for h in hosts:
        check(big_at_kill[h.name] <= h.big_size, f"{h.name}: the copy holds "
                                                 f"{big_at_kill[h.name]} bytes, more than the "
                                                 f"{h.big_size} sent")
        if at_kill[h.name][0] == h.grow:
            check(at_kill[h.name][1] <= file_size(h.src(h.grow)),
                  f"{h.name}: the growing copy is larger than the source")
    marks = {h.name: h.daemon.mark() for h in hosts}

    # The receiver is down: the senders retry, the not_terminated trails grow.
    deadline = killed + DOWN_SECONDS
    grown = 0
    for _ in range(1000):
        if time.monotonic() >= deadline:
            break
        for h in hosts:
            h.grow_more()
        grown += 1
        time.sleep(0.5)
    for d in senders:
        d.assert_running("while the receiver was down")
    after_down = {h.name: newest(h.remote_dir) for h in hosts}
    check_equal(after_down, at_kill, "the receiver's copies while it was down")
    recv.start()
    restarted = time.monotonic()
    sc.note(f"receiver restarted after {restarted - killed:.1f} s down; each growing trail got "
            f"{grown} appends meanwhile")

    # Every host reconnects and resumes exactly at the size of the copy at the kill.
    reconnect_times = []
    for h in hosts:
        name, size = at_kill[h.name]
        d = h.daemon
        if name:
            m = d.wait_log(rf"connected to .*; receiver has {re.escape(name)} at (\d+)",
                           since=marks[h.name], timeout=45)
        else:
            m = d.wait_log(r"connected to .*; receiver has no file yet", since=marks[h.name],
                           timeout=45)
        reconnect_times.append(time.monotonic() - restarted)
        if name:
            check_equal(int(m.group(1)), size, f"{h.name}: resume size the sender got vs. the "
                                               f"size of the copy at the kill")
        shown = re.escape(name) if name else r"\(no file yet\)"
        r = recv.wait_log(rf"\[{h.name} {re.escape(h.address)}:\d+\] authenticated; resume point "
                          rf"{shown} at (\d+)", timeout=10)
        check_equal(int(r.group(1)), size, f"{h.name}: the receiver's resume point vs. the size "
                                           f"of its copy at the kill")
        if linked_at_kill[h.name]:
            m = d.wait_log(rf"resuming {re.escape(name)} at offset (\d+)", since=marks[h.name],
                           timeout=10)
            check_equal(int(m.group(1)), size, f"{h.name}: the sender's resume offset")
    resumed = sum(1 for h in hosts if linked_at_kill[h.name])
    sc.note(f"all {HOSTS} reconnected within {max(reconnect_times):.1f} s of the restart; "
            f"{resumed} resumed a file at the receiver's size, "
            f"{HOSTS - resumed} started a new file")

    # The big files complete; then one last append and the rename, at once.
    for h in hosts:
        wait_until(lambda: not os.path.exists(os.path.join(h.dist, h.big)), timeout=60,
                   what=f"{h.name}: {h.big} to be shipped", alive=everyone)
    for h in hosts:
        h.grow_more(GROW_CHUNK + h.i)
        os.rename(os.path.join(h.dist, h.grow), os.path.join(h.dist, h.grow_final))
    for h in hosts:
        wait_until(lambda: not list_files(h.dist), timeout=60,
                   what=f"{h.name}: the dist directory to empty", alive=everyone)
        h.daemon.wait_log(rf"shipped {h.grow_final}\b", timeout=5)
    elapsed = time.monotonic() - started

    for h in hosts:
        check_equal(list_files(h.remote_dir), sorted([h.big, h.grow_final]),
                    f"{h.name}: files in the receiver's host directory")
        for src, dst in ((h.big, h.big), (h.grow, h.grow_final)):
            want_size = file_size(h.src(src))
            check_equal(file_size(h.copy(dst)), want_size,
                        f"{h.name}: size of {dst} (no byte lost or written twice)")
            check_equal(sha256_file(h.copy(dst)), sha256_file(h.src(src)),
                        f"{h.name}: sha256 of {dst}")
    grow_size = file_size(hosts[0].src(hosts[0].grow))
    sc.note(f"all {HOSTS} hosts identical ({BIG // MiB} or {SMALL // MiB} MiB + "
            f"{grow_size / MiB:.2f} MiB growing trail each), dist directories empty, "
            f"{elapsed:.1f} s from the first link")
    refused = recv.count_log(r"refused|protocol violation", since=0)
    check_equal(refused, 0, "refusals or protocol violations in the receiver log")


if __name__ == "__main__":
    run_scenario("many_hosts_restart", body)
