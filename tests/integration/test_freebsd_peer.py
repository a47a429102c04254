#!/usr/bin/env python3
"""FreeBSD's own auditdistd against ours, when a build of it is at hand:
ADIST_FREEBSD_AUDITDISTD=/absolute/path/to/auditdistd, built from openbsm
with its TLS code unchanged (TLS 1.0 only; docs/performance.md, "FreeBSD's
auditdistd, side by side", says how). Skipped without it, or when not
root (FreeBSD's daemon runs unsandboxed as root on Linux): its code is not
in this repository, so CI has none; a maintainer runs it before a release.
FreeBSD's processes get security level 0 from the OpenSSL configuration
docs/operations.md gives FreeBSD 14 hosts (OPENSSL_CONF, theirs only).
Over tls://127.0.0.1, with tls_min_version "1.0" in our host block of each
FreeBSD peer:

  1. FreeBSD's sender to our receiver: a finished trail, and a
     .not_terminated trail that grows while connected (the receiver's copy
     grows, over one connection) and is then renamed to its final name.
     Both arrive byte for byte under the final names, our copies end
     immutable, and FreeBSD's sender removes its links.
  2. Our sender to FreeBSD's receiver: the same; our sender removes each
     link after FreeBSD's acknowledged its CLOSE (its log says so).
  3. Fan-out: our sender with two required receivers on one dist directory,
     ours and FreeBSD's; FreeBSD's starts only once ours acknowledged the
     trail. Our sender keeps the link for FreeBSD's (it says so), removes
     it once FreeBSD's acknowledged, and both copies match."""
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until, write_random_file)

PASSWORD = "freebsd-peer-secret"
MiB = 1 << 20
WAIT = 30  # FreeBSD's sender looks at its dist directory once a second on Linux
# docs/operations.md, "TLS 1.0 with FreeBSD": FreeBSD 14's auditdistd on OpenSSL 3.
SECLEVEL0 = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT@SECLEVEL=0
"""


class FreeBSD:
    """One daemon of FreeBSD's auditdistd (-F), in its own process group."""

    def __init__(self, sc, binary, label, conf_text):
        self.sc, self.label = sc, label
        self.conf = sc.write_config(f"{label}.conf", conf_text)
        self.pidfile = sc.path(f"{label}.pid")
        self.log_path = sc.path(f"{label}.log")
        env = dict(os.environ, OPENSSL_CONF=sc.write_config("seclevel0.cnf", SECLEVEL0))
        with open(self.log_path, "ab") as log:
            self.p = subprocess.Popen([binary, "-F", "-c", self.conf, "-P", self.pidfile],
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      start_new_session=True, env=env)
        # It acts on SIGTERM every 5 s only; nothing of it is kept.
        sc.cleanups.append(self.kill)

    def kill(self):
        # The whole group, even when the main process is gone already: its
        # workers and TLS helpers would outlive it.
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(timeout=10)

    def alive(self):
        check(self.p.poll() is None,
              f"FreeBSD's {self.label} exited ({self.p.returncode}); see {self.log_path}")
        return True


def wait_listening(port):
    def accepts():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(accepts, timeout=WAIT, what=f"a listener on port {port}")


def trails(sc, dist):
    """A finished trail (3 MB) linked into `dist`, and a .not_terminated one
    (2 MB for now) whose source grows later: (names and digests, grow)."""
    src = sc.mkdir(f"{os.path.basename(dist)}-source")
    done, growing = trail_name(1), trail_name(2, "not_terminated")
    final = growing.split(".")[0] + "." + trail_name(2).split(".")[1]
    write_random_file(os.path.join(src, done), 3 * 1000 * 1000)
    write_random_file(os.path.join(src, growing), 2 * 1000 * 1000)
    for name in (done, growing):
        os.link(os.path.join(src, name), os.path.join(dist, name))

    def grow(rename):
        # More records; later auditd's rotation: the dist link renamed.
        if rename:
            os.rename(os.path.join(dist, growing), os.path.join(dist, final))
        else:
            with open(os.path.join(src, growing), "ab") as f:
                f.write(os.urandom(3 * 1000 * 1000))
    return (done, os.path.join(src, done)), (growing, final, os.path.join(src, growing)), grow


def stored_size(stored, name):
    path = os.path.join(stored, name)
    return os.path.getsize(path) if os.path.exists(path) else -1


def check_arrived(sc, stored, dist, done, grown, grow, alive):
    """Waits for the growing trail's first 2 MB, grows it and waits for the
    rest under its open name, renames it, then waits until the sender
    removed both links; both copies match."""
    (dname, dsrc), (gname, final, gsrc) = done, grown
    wait_until(lambda: alive() and stored_size(stored, gname) == 2 * 1000 * 1000,
               timeout=WAIT, what=f"the first 2 MB of {gname} in {stored}")
    grow(rename=False)
    wait_until(lambda: alive() and stored_size(stored, gname) == 5 * 1000 * 1000,
               timeout=WAIT, what=f"all 5 MB of {gname}, still open, in {stored}")
    grow(rename=True)
    wait_until(lambda: alive() and not os.listdir(dist), timeout=WAIT,
               what=f"the sender removing its links from {dist} (left: {os.listdir(dist)})")
    check_equal(sorted(os.listdir(stored)), sorted([dname, final]), f"trails in {stored}")
    for name, src in ((dname, dsrc), (final, gsrc)):
        check_equal(sha256_file(os.path.join(stored, name)), sha256_file(src),
                    f"SHA-256 of {stored}/{name} and of the sender's file")


def attributes(path):
    out = subprocess.run(["lsattr", "-d", path], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def our_receiver_conf(port, remote, cert, key, hosts):
    lines = ['pidfile "none"', "receiver {", f'    listen "tls://127.0.0.1:{port}"',
             f'    directory "{remote}"', f'    certfile "{cert}"', f'    keyfile "{key}"']
    lines += [f'    host "{n}" {{ remote "127.0.0.1" password "{PASSWORD}"{extra} }}'
              for n, extra in hosts]
    return "\n".join(lines + ["}", ""])


def sender_conf(name, dist, hosts, pidfile="none"):
    lines = [f'name "{name}"', f'pidfile "{pidfile}"', "sender {", f'    directory "{dist}"']
    lines += [f'    host "{h}" {{ remote "tls://127.0.0.1:{port}" fingerprint "{fp}" '
              f'password "{PASSWORD}"{extra} }}' for h, port, fp, extra in hosts]
    return "\n".join(lines + ["}", ""])


def bsd_receiver_conf(sc, label, port, remote, cert, key, sender):
    # FreeBSD's receiver makes a host directory as its user "auditdistd",
    # which this machine lacks: made here, as it would (0700).
    sc.mkdir(os.path.basename(remote), sender, mode=0o700)
    return "\n".join([f'pidfile "{sc.path(label + ".pid")}"', "receiver {",
                      f'    listen "tls://127.0.0.1:{port}"', f'    directory "{remote}"',
                      f'    certfile "{cert}"', f'    keyfile "{key}"',
                      f'    host "{sender}" {{ remote "tls://127.0.0.1" password "{PASSWORD}" }}',
                      "}", ""])


LEGACY = ' tls_min_version "1.0"'


def body(sc):
    bsd = os.environ.get("ADIST_FREEBSD_AUDITDISTD")
    if not bsd:
        raise Skip("ADIST_FREEBSD_AUDITDISTD is not set (a local build of FreeBSD's auditdistd)")
    if os.geteuid() != 0:
        raise Skip("FreeBSD's auditdistd runs as root here")
    check(os.path.isabs(bsd) and os.access(bsd, os.X_OK),
          f"ADIST_FREEBSD_AUDITDISTD={bsd}: not an absolute path to an executable "
          "(its TLS helper runs its own argv[0] again)")
    # FreeBSD's daemon loads an RSA key only.
    cert, key, fp = sc.make_cert("receiver", key_type="rsa")

    sc.note("1. FreeBSD's sender to our receiver")
    port = free_port()
    remote = sc.path("ours1")
    ours = sc.daemon("receiver1", sc.write_config("receiver1.conf", our_receiver_conf(
        port, remote, cert, key, [("bsdsend", LEGACY)])), "receiver")
    ours.start()
    dist = sc.mkdir("bsd-dist")
    done, grown, grow = trails(sc, dist)
    sender = FreeBSD(sc, bsd, "bsd-sender", sender_conf(
        "bsdsend", dist, [("ours", port, fp, "")], sc.path("bsd-sender.pid")))
    stored = os.path.join(remote, "bsdsend")
    check_arrived(sc, stored, dist, done, grown, grow, sender.alive)
    for name in os.listdir(stored):
        wait_until(lambda n=name: "i" in attributes(os.path.join(stored, n)), timeout=WAIT,
                   what=f"{name} immutable on our receiver")
    ours.wait_log(r'TLS 1\.0 in use with host "bsdsend"', timeout=5)
    check_equal(ours.count_log(r"TLS 1\.0 in use"), 1, "connections of FreeBSD's sender")
    sender.kill()

    sc.note("2. our sender to FreeBSD's receiver")
    port = free_port()
    remote = sc.path("bsd2")
    receiver = FreeBSD(sc, bsd, "bsd-receiver", bsd_receiver_conf(
        sc, "bsd-receiver", port, remote, cert, key, "oursend"))
    wait_listening(port)
    dist = sc.mkdir("our-dist")
    done, grown, grow = trails(sc, dist)
    ours = sc.daemon("sender2", sc.write_config("sender2.conf", sender_conf(
        "oursend", dist, [("bsd", port, fp, LEGACY)])), "sender")
    ours.start()
    check_arrived(sc, os.path.join(remote, "oursend"), dist, done, grown, grow, receiver.alive)
    for name in (done[0], grown[1]):  # logged after the CLOSE's ack and the unlink
        ours.wait_log(rf"(?m)\[bsd\] shipped {re.escape(name)}$", timeout=5)
    check_equal(ours.count_log(r'TLS 1\.0 in use with host "bsd"'), 1,
                "connections of our sender to FreeBSD's receiver")
    ours.stop()
    receiver.kill()

    sc.note("3. fan-out to ours and FreeBSD's, FreeBSD's late")
    ours_port, bsd_port = free_port(), free_port()
    ours_remote, bsd_remote = sc.path("ours3"), sc.path("bsd3")
    recv = sc.daemon("receiver3", sc.write_config("receiver3.conf", our_receiver_conf(
        ours_port, ours_remote, cert, key, [("fanout", "")])), "receiver")
    recv.start()
    dist = sc.mkdir("fan-dist")
    src = sc.mkdir("fan-source")
    name = trail_name(3)
    write_random_file(os.path.join(src, name), 4 * MiB)
    os.link(os.path.join(src, name), os.path.join(dist, name))
    send = sc.daemon("sender3", sc.write_config("sender3.conf", sender_conf(
        "fanout", dist, [("ours", ours_port, fp, ""), ("bsd", bsd_port, fp, LEGACY)])), "sender")
    send.start()
    ours_copy = os.path.join(ours_remote, "fanout", name)
    bsd_copy = os.path.join(bsd_remote, "fanout", name)
    # Logged once our receiver acknowledged the CLOSE.
    send.wait_log(rf"\[ours\] shipped {re.escape(name)}; its link stays until bsd has it too",
                  timeout=WAIT)
    check(os.path.exists(os.path.join(dist, name)),
          "the link went before FreeBSD's receiver (required) had the trail")
    late = FreeBSD(sc, bsd, "bsd-receiver3", bsd_receiver_conf(
        sc, "bsd-receiver3", bsd_port, bsd_remote, cert, key, "fanout"))
    send.wait_log(rf"(?m)\[bsd\] shipped {re.escape(name)}$", timeout=WAIT + 30)
    wait_until(lambda: late.alive() and not os.listdir(dist), timeout=WAIT,
               what="the link removed once FreeBSD's receiver acknowledged too")
    for copy in (ours_copy, bsd_copy):
        check_equal(sha256_file(copy), sha256_file(os.path.join(src, name)), f"SHA-256 of {copy}")
    sc.note("FreeBSD's auditdistd and ours: both directions and fan-out byte for byte")


if __name__ == "__main__":
    run_scenario("freebsd_peer", body)
