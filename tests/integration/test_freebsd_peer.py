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
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, file_attributes, file_size,  # noqa: E402
                     free_port, run_scenario, sha256_file, tcp_listening, trail_name,
                     wait_until, write_random_file)

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


# The two trails of steps 1 and 2: one finished, one growing that the
# rotation then renames to its final name (the same start).
DONE, GROWING, FINAL = trail_name(1), trail_name(2, "not_terminated"), trail_name(2)


def link_trails(sc, dist):
    """DONE (3 MB) and GROWING (2 MB for now) made in a source directory of
    their own and linked into `dist`; returns that directory."""
    src = sc.mkdir(f"{os.path.basename(dist)}-source")
    write_random_file(os.path.join(src, DONE), 3 * 1000 * 1000)
    write_random_file(os.path.join(src, GROWING), 2 * 1000 * 1000)
    for name in (DONE, GROWING):
        os.link(os.path.join(src, name), os.path.join(dist, name))
    return src


def check_arrived(src, dist, stored, alive):
    """Waits for GROWING's first 2 MB in `stored`, appends 3 MB to it and
    waits for them under its open name, renames its link to FINAL (auditd's
    rotation), then waits until the sender removed both links; both copies
    match the sender's files."""
    wait_until(lambda: alive() and file_size(os.path.join(stored, GROWING)) == 2 * 1000 * 1000,
               timeout=WAIT, what=f"the first 2 MB of {GROWING} in {stored}")
    with open(os.path.join(src, GROWING), "ab") as f:
        f.write(os.urandom(3 * 1000 * 1000))
    wait_until(lambda: alive() and file_size(os.path.join(stored, GROWING)) == 5 * 1000 * 1000,
               timeout=WAIT, what=f"all 5 MB of {GROWING}, still open, in {stored}")
    os.rename(os.path.join(dist, GROWING), os.path.join(dist, FINAL))
    wait_until(lambda: alive() and not os.listdir(dist), timeout=WAIT,
               what=f"the sender removing its links from {dist} (left: {os.listdir(dist)})")
    check_equal(sorted(os.listdir(stored)), sorted([DONE, FINAL]), f"trails in {stored}")
    for stored_name, src_name in ((DONE, DONE), (FINAL, GROWING)):
        check_equal(sha256_file(os.path.join(stored, stored_name)),
                    sha256_file(os.path.join(src, src_name)),
                    f"SHA-256 of {stored}/{stored_name} and of the sender's file")


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


def freebsd_sender_to_ours(sc, bsd, cert, key, fp):
    sc.note("1. FreeBSD's sender to our receiver")
    port = free_port()
    remote = sc.path("ours1")
    ours = sc.daemon("receiver1", sc.write_config("receiver1.conf", our_receiver_conf(
        port, remote, cert, key, [("bsdsend", LEGACY)])), "receiver")
    ours.start()
    dist = sc.mkdir("bsd-dist")
    src = link_trails(sc, dist)
    sender = FreeBSD(sc, bsd, "bsd-sender", sender_conf(
        "bsdsend", dist, [("ours", port, fp, "")], sc.path("bsd-sender.pid")))
    stored = os.path.join(remote, "bsdsend")
    check_arrived(src, dist, stored, sender.alive)
    for name in os.listdir(stored):
        wait_until(lambda n=name: "i" in file_attributes(os.path.join(stored, n)), timeout=WAIT,
                   what=f"{name} immutable on our receiver")
    ours.wait_log(r'TLS 1\.0 in use with host "bsdsend"', timeout=5)
    check_equal(ours.count_log(r"TLS 1\.0 in use"), 1, "connections of FreeBSD's sender")
    sender.kill()


def ours_to_freebsd_receiver(sc, bsd, cert, key, fp):
    sc.note("2. our sender to FreeBSD's receiver")
    port = free_port()
    remote = sc.path("bsd2")
    receiver = FreeBSD(sc, bsd, "bsd-receiver", bsd_receiver_conf(
        sc, "bsd-receiver", port, remote, cert, key, "oursend"))
    wait_until(tcp_listening(port), timeout=WAIT, what="FreeBSD's receiver listening")
    dist = sc.mkdir("our-dist")
    src = link_trails(sc, dist)
    ours = sc.daemon("sender2", sc.write_config("sender2.conf", sender_conf(
        "oursend", dist, [("bsd", port, fp, LEGACY)])), "sender")
    ours.start()
    check_arrived(src, dist, os.path.join(remote, "oursend"), receiver.alive)
    for name in (DONE, FINAL):  # logged after the CLOSE's ack and the unlink
        ours.wait_log(rf"(?m)\[bsd\] shipped {re.escape(name)}$", timeout=5)
    check_equal(ours.count_log(r'TLS 1\.0 in use with host "bsd"'), 1,
                "connections of our sender to FreeBSD's receiver")
    ours.stop()
    receiver.kill()


def fanout_with_freebsd_late(sc, bsd, cert, key, fp):
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
    for copy in (os.path.join(ours_remote, "fanout", name),
                 os.path.join(bsd_remote, "fanout", name)):
        check_equal(sha256_file(copy), sha256_file(os.path.join(src, name)), f"SHA-256 of {copy}")


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
    freebsd_sender_to_ours(sc, bsd, cert, key, fp)
    ours_to_freebsd_receiver(sc, bsd, cert, key, fp)
    fanout_with_freebsd_late(sc, bsd, cert, key, fp)
    sc.note("FreeBSD's auditdistd and ours: both directions and fan-out byte for byte")


if __name__ == "__main__":
    run_scenario("freebsd_peer", body)
