#!/usr/bin/env python3
"""A persistent error for one host never blocks another. One receiver, two
senders told apart by name. web1's host directory on the receiver is made
read-only to the receiver's user after startup (root-owned, mode 0555), so
every trail web1 opens is refused; meanwhile web2 ships 20 trails, byte-identical and without delay,
and web1 backs off (a bounded number of attempts and log lines, little
CPU). Once the directory is given back, web1 catches up without any restart and its
trails arrive byte-identical."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (check, check_equal, file_size, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until, write_random_file)

TRAILS = 20


def body(sc):
    cert, key, fp = sc.make_cert("receiver")
    port = free_port()
    url = f"tls://127.0.0.1:{port}"
    remote = sc.mkdir("remote")
    rconf = sc.receiver_config("receiver.conf", url, remote, cert, key,
                               [("web1", "127.0.0.1", "pw-one"), ("web2", "127.0.0.1", "pw-two")])
    recv = sc.daemon("receiver", rconf, "receiver")
    senders, dists = {}, {}
    for name, password in (("web1", "pw-one"), ("web2", "pw-two")):
        dists[name] = sc.mkdir(name, "dist")
        conf = sc.sender_config(f"{name}/sender.conf", name, dists[name],
                                [("collector", url, fp, password)])
        senders[name] = sc.daemon(f"{name}/sender", conf, "sender")
    host_dir = os.path.join(remote, "web1")
    expected = {"web1": {}, "web2": {}}

    def add(host, index, size):
        name = trail_name(index)
        src = sc.path(host, "src-" + name)
        expected[host][name] = write_random_file(src, size), size
        os.link(src, os.path.join(dists[host], name))

    add("web1", 1, 1 << 20)
    recv.start()
    wait_until(lambda: os.path.isdir(host_dir), timeout=10, what="web1's host directory")
    owner = os.stat(host_dir)
    os.chown(host_dir, 0, 0)
    os.chmod(host_dir, 0o555)
    for s in senders.values():
        s.start()
    web1, web2 = senders["web1"], senders["web2"]
    web1.wait_log(r"the receiver refused OPEN", timeout=30)
    mark1, rmark = web1.mark(), recv.mark()
    cpu_before = web1.cpu_seconds() + recv.cpu_seconds()
    started = time.monotonic()
    for i in range(TRAILS):
        add("web2", 10 + i, 256 * 1024)
    wait_until(lambda: os.listdir(dists["web2"]) == [], timeout=30,
               what="web2's trails to be shipped", alive=(recv, web1, web2))
    web2_time = time.monotonic() - started
    time.sleep(max(0.0, 8 - web2_time))
    window = time.monotonic() - started
    cpu = web1.cpu_seconds() + recv.cpu_seconds() - cpu_before
    attempts = web1.count_log(r"reconnecting in", since=mark1)
    lines = web1.count_log(r"\n", since=mark1) + recv.count_log(r"web1.*\n", since=rmark)
    sc.note(f"web2 shipped {TRAILS} trails in {web2_time:.2f} s while web1 was refused; "
            f"web1: {attempts} attempts, {lines} log lines about it (both daemons), {cpu:.2f} CPU s "
            f"in {window:.1f} s")
    check(web2_time < 10, f"web2 took {web2_time:.1f} s for {TRAILS} small trails")
    check(attempts <= 6, f"web1 tried {attempts} times in {window:.0f} s: no backoff")
    check(lines <= 40, f"{lines} log lines in {window:.0f} s: a retry path floods the log")
    check(cpu < 1.0, f"{cpu:.2f} CPU seconds in {window:.0f} s: something spins")
    check(recv.count_log(r"web1") > 0, "the receiver did not say why web1 is refused")

    os.chown(host_dir, owner.st_uid, owner.st_gid)
    os.chmod(host_dir, 0o700)
    add("web1", 2, 1 << 20)
    wait_until(lambda: os.listdir(dists["web1"]) == [], timeout=45,
               what="web1 to catch up once its directory can be made", alive=(recv, web1, web2))
    for host, trails in expected.items():
        for name, (digest, size) in trails.items():
            copy = os.path.join(remote, host, name)
            check_equal(file_size(copy), size, f"size of {host}/{name}")
            check_equal(sha256_file(copy), digest, f"sha256 of {host}/{name}")
    check_equal(sorted(os.listdir(os.path.join(remote, "web1"))), sorted(expected["web1"]),
                "web1's files on the receiver")


if __name__ == "__main__":
    run_scenario("one_host_broken", body)
