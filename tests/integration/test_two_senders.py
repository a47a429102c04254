#!/usr/bin/env python3
"""One receiver, two senders on the same address told apart by name (and
password): "web1" over TLS and "web2" over plain tcp:// to a second listener
of the same receiver. Both ship files with the SAME trail names but
different contents; each lands in its own host directory, byte-identical,
and both dist directories end empty. Stray entries in web1's host directory
(non-trail names, near-miss names, and a symlink, a directory and a FIFO
with valid trail names newer than everything) are ignored, not followed and
left alone. Both sides warn that tcp:// is not encrypted."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until, write_random_file)

STRAYS = ["README", "20260101000000", "20260101000000.2026010100000x",
          "20260101000000.not_terminatex", "x0260101000000.20260101000000"]
STRAY_SYMLINK = "20991231235959.not_terminated"
STRAY_DIR = "20991231235959.crash_recovery"
STRAY_FIFO = "20991231235959.20991231235959"


def body(sc):
    cert, key, fp = sc.make_cert("receiver")
    tls_port, tcp_port = free_port(), free_port()
    remote = sc.path("remote")
    rconf = sc.receiver_config(
        "receiver.conf", [f"tls://127.0.0.1:{tls_port}", f"tcp://127.0.0.1:{tcp_port}"],
        remote, cert, key, [("web1", "127.0.0.1", "pw-one-111"),
                            ("web2", "127.0.0.1", "pw-two-222")])
    recv = sc.daemon("receiver", rconf, "receiver")
    senders = {}
    for name, url, password in (("web1", f"tls://127.0.0.1:{tls_port}", "pw-one-111"),
                                ("web2", f"tcp://127.0.0.1:{tcp_port}", "pw-two-222")):
        dist = sc.mkdir(name, "dist")
        if url.startswith("tcp"):
            text = "\n".join([f'name "{name}"', 'pidfile "none"', "timeout 5", "sender {",
                              f'    directory "{dist}"', '    host "collector" {',
                              f'        remote "{url}"', f'        password "{password}"',
                              "    }", "}", ""])
            conf = sc.write_config(f"{name}/sender.conf", text)
        else:
            conf = sc.sender_config(f"{name}/sender.conf", name, dist,
                                    [("collector", url, fp, password)])
        senders[name] = (sc.daemon(f"{name}/sender", conf, "sender"), dist)

    recv.start()
    recv.wait_log(rf"listening on tcp://127\.0\.0\.1:{tcp_port} without TLS")
    web1_dir = os.path.join(remote, "web1")
    for s in STRAYS:
        write_random_file(os.path.join(web1_dir, s), 1000)
    outside = sc.path("outside-target")
    write_random_file(outside, 10)
    os.symlink(outside, os.path.join(web1_dir, STRAY_SYMLINK))
    os.mkdir(os.path.join(web1_dir, STRAY_DIR))
    os.mkfifo(os.path.join(web1_dir, STRAY_FIFO))
    strays_before = {s: sha256_file(os.path.join(web1_dir, s)) for s in STRAYS}
    outside_sha = sha256_file(outside)

    names = [trail_name(70 + i) for i in range(3)] + [trail_name(73, "crash_recovery")]
    expected = {}
    for host, (send, dist) in senders.items():
        for i, n in enumerate(names):
            expected[(host, n)] = (write_random_file(os.path.join(dist, n), 100_000 * (i + 1)),
                                   100_000 * (i + 1))
        send.start()
    senders["web2"][0].wait_log(r"without TLS: traffic is not encrypted")

    daemons = [recv] + [s for s, _ in senders.values()]
    for host, (send, dist) in senders.items():
        wait_until(lambda: os.listdir(dist) == [], timeout=30,
                   what=f"{host}'s dist directory to be emptied", alive=daemons)
    for (host, n), (digest, size) in expected.items():
        path = os.path.join(remote, host, n)
        check_equal(file_size(path), size, f"size of {host}/{n}")
        check_equal(sha256_file(path), digest, f"sha256 of {host}/{n} (the other host's data?)")
    check_equal(sorted(os.listdir(os.path.join(remote, "web2"))), sorted(names),
                "web2's host directory")
    check_equal(sorted(os.listdir(web1_dir)),
                sorted(names + STRAYS + [STRAY_SYMLINK, STRAY_DIR, STRAY_FIFO]),
                "web1's host directory")
    for s, digest in strays_before.items():
        check_equal(sha256_file(os.path.join(web1_dir, s)), digest, f"stray file {s}")
    check(os.path.islink(os.path.join(web1_dir, STRAY_SYMLINK)), "the stray symlink was replaced")
    check_equal(sha256_file(outside), outside_sha, "the symlink's target outside the host dir")
    recv.wait_log(r"\[web2 127\.0\.0\.1:\d+\] authenticated")
    recv.wait_log(r"\[web1 127\.0\.0\.1:\d+\] authenticated")
    sc.note("two senders on one address: separate directories, identical files, strays ignored")


if __name__ == "__main__":
    run_scenario("two_senders", body)
