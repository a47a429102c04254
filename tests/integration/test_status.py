#!/usr/bin/env python3
"""`auditdistd status` over the root-only status socket, and the progress
lines of a long catch-up.
  - The receiver (root, dropping to nobody, -P pidfile) serves
    <pidfile minus .pid>.sock, mode 0600 root; the sender one given with
    --control-socket. Text and --json answers describe each host: connected
    and since when, current file and offset (the receiver: bytes stored),
    bytes not yet acknowledged (the sender), last ack, last error.
  - With the receiver killed, the sender reports itself disconnected, the
    connection error, and as unacknowledged exactly the bytes of the trail
    added meanwhile; after a restart (the stale socket of the killed receiver
    is replaced) it drains to 0.
  - A client that is not root is refused: by the file mode, and (socket
    made 0666 on purpose) by the daemon's SO_PEERCRED check.
  - A 192 MiB catch-up with --progress-interval 1 logs "catching up" lines
    with bytes, rate and what is left.
  - A clean exit removes both sockets (the receiver's by its root supervisor)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MiB, check, check_equal, file_size, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def status(sc, args, json_out=True, prefix=(), expect=0):
    cmd = [*prefix, sc.binary, "status", *args] + (["--json"] if json_out else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, expect, f"exit status of {' '.join(cmd)} (stderr: {p.stderr.strip()})")
    if expect != 0:
        return p.stderr
    return json.loads(p.stdout) if json_out else p.stdout


def one(doc, role):
    hosts = [h for h in doc["hosts"] if h["role"] == role]
    check_equal(len(hosts), 1, f"{role} entries in the status")
    return hosts[0]


def body(sc):
    if os.geteuid() != 0:
        from harness import Skip
        raise Skip("needs root (the status socket is root-only)")
    pidfile = sc.path("run", "receiver.pid")
    sc.mkdir("run")
    sender_sock = sc.path("run", "sender.sock")
    recv, send = sc.standard_pair(receiver_args=["-P", pidfile],
                                  sender_args=["--control-socket", sender_sock,
                                               "--progress-interval", "1", "--window", "65536"])
    recv_sock = pidfile[:-4] + ".sock"
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    name = trail_name(1)
    size, digest = sc.add_trail(name, 3 * MiB)
    send.wait_log(rf"shipped {name}")

    st = os.stat(recv_sock)
    check_equal((st.st_mode & 0o777, st.st_uid), (0o600, 0), "mode and owner of the status socket")
    r = one(status(sc, ["-P", pidfile]), "receiver")
    check(r["host"] == "web1" and r["connected"] and r["since"], f"receiver status: {r}")
    check_equal((r["file"], r["offset"]), (name, size), "receiver's file and stored bytes")
    check(r["last_ack"] is not None and r["last_error"] is None, f"receiver status: {r}")
    s = one(status(sc, ["--control-socket", sender_sock]), "sender")
    check(s["host"] == "collector" and s["connected"], f"sender status: {s}")
    check_equal(s["unacked_bytes"], 0, "sender's unacknowledged bytes once shipped")
    text = status(sc, ["-P", pidfile], json_out=False)
    check("receiver web1" in text and "connected since" in text and name in text,
          f"text status:\n{text}")
    sc.note("status of both sides while connected: " + " | ".join(text.strip().splitlines()[:2]))

    # The receiver killed: the sender reports its lag and the error.
    recv.kill9()
    send.wait_log(r"connection lost|cannot connect", since=0)
    name2 = trail_name(2)
    size2, digest2 = sc.add_trail(name2, 5 * MiB + 123)
    wait_until(lambda: one(status(sc, ["--control-socket", sender_sock]), "sender")["last_error"],
               timeout=30, what="a last error in the sender's status")
    s = one(status(sc, ["--control-socket", sender_sock]), "sender")
    check(not s["connected"], f"sender still says connected: {s}")
    check_equal(s["unacked_bytes"], size2, "sender's unacknowledged bytes while the receiver is down")
    sc.note(f"receiver down: sender reports {s['unacked_bytes']} bytes unacknowledged, "
            f"last error {s['last_error']!r}")
    recv.start()  # over the stale socket of the killed one
    send.wait_log(rf"shipped {name2}", since=0, timeout=60)
    s = one(status(sc, ["--control-socket", sender_sock]), "sender")
    check_equal(s["unacked_bytes"], 0, "sender's unacknowledged bytes after catching up")
    check_equal(sha256_file(sc.remote_file(name2)), digest2, f"sha256 of {name2}")

    # Not root: refused by the file mode, and by SO_PEERCRED when the mode is opened up.
    st = os.stat(recv_sock)
    check_equal((st.st_mode & 0o777, st.st_uid), (0o600, 0),
                "mode and owner of the status socket made over a stale one")
    err = status(sc, ["-P", pidfile], prefix=NOBODY, expect=77)
    check("root only" in err or "Permission denied" in err, f"non-root client said: {err}")
    os.chmod(recv_sock, 0o666)
    err = status(sc, ["-P", pidfile], prefix=NOBODY, expect=77)
    check("root only" in err, f"non-root client through a 0666 socket said: {err}")
    recv.wait_log(r"status socket: refused a client running as uid 65534", since=0)
    sc.note("non-root clients refused (file mode, then SO_PEERCRED)")

    # A long catch-up logs its progress.
    big = trail_name(3)
    bsize, bdigest = sc.add_trail(big, 192 * MiB)
    send.wait_log(rf"shipped {big}", since=0, timeout=120)
    lines = send.count_log(r"catching up: \S+ \S+ acknowledged in \d+ s \(\S+ \S+/s\), \S+ \S+ still to send")
    check(lines >= 1, "no progress line during a 192 MiB catch-up with --progress-interval 1")
    check_equal(file_size(sc.remote_file(big)), bsize, f"size of {big}")
    sc.note(f"192 MiB catch-up: {lines} progress lines, e.g. "
            f"{send.wait_log(r'catching up: .*', since=0).group(0)!r}")

    # A clean exit removes the socket (the supervisor does, as the worker cannot).
    recv.stop()
    send.stop()
    check(not os.path.exists(recv_sock), "the receiver's status socket is left after its exit")
    check(not os.path.exists(sender_sock), "the sender's status socket is left after its exit")


if __name__ == "__main__":
    run_scenario("status", body)
