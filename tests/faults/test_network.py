#!/usr/bin/env python3
"""A lossy, slow link that is cut for 20 s in the middle of a transfer.

The sender and the receiver each run in a network namespace of their own
(created by the test, deleted at the end even on failure), joined by an
emulated link with 100 ms one-way delay and 10% random loss on the sender's
egress (sender -> receiver), `timeout 5` on both sides. One of two link
emulators, chosen at run time and printed:

  netem  a veth pair between the namespaces with `tc qdisc ... netem delay
         100ms loss 10%` on the sender's end; the partition is that end set
         down (`ip link set ... down`) and up again;
  tun    where the kernel has no sch_netem: no veth, but a TUN device in each
         namespace and a relay process (this script with --relay) that moves
         the real IP packets between the two, delaying and dropping them the
         same way (seeded RNG); the partition drops every packet, both ways.

Before the daemons start, a TCP probe checks the delay (SYN -> RST in about
100 ms); at the end the relay's counters must show about 10% loss. The
daemons run under `ip netns exec` (which execs them: their pid, executable
and namespace are checked). The trail is a `.not_terminated` file, as auditd
writes it:
  1. on the impaired link it is shipped until the receiver holds a third of
     it, the sender being connected;
  2. the link is cut for 20 s while the copy is incomplete: the sender
     notices within timeout + 4 s (and does not busy-loop: under 5 s of CPU
     for the 20 s), the receiver drops its side, the receiver's copy stops
     growing (no packet gets through), nothing is removed from the dist
     directory, and auditd keeps appending to the trail meanwhile;
  3. the link returns, still delayed and lossy: the sender reconnects within
     60 s (its backoff is capped at 30 s) and resumes exactly at the size of
     the receiver's copy (both logs), then the trail gets a last piece and
     is renamed to its final name.
In the end the receiver holds exactly the final name with the same size (no
byte lost or written twice) and sha256 as the source, and the dist link is
removed. Skips (77) only where network namespaces cannot be created.
ADIST_LINK_EMULATOR=netem|tun forces an emulator, ADIST_NETWORK_SEED the
relay's RNG seed."""
import collections
import ctypes
import fcntl
import hashlib
import json
import os
import random
import re
import select
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (Daemon, Skip, TestFailure, check,  # noqa: E402
                     check_equal, file_size, list_files, run_scenario, sha256_file, trail_name,
                     wait_until)

KiB = 1024
TIMEOUT = 5                 # `timeout` of both daemons, seconds
DELAY_MS = 100              # one-way delay, sender -> receiver
LOSS = 0.10                 # random loss, sender -> receiver
QUEUE_LIMIT = 1000          # packets held by the delay line (netem's default limit)
PARTITION = 20.0            # seconds the link is down
SETTLE = 3.0                # after the cut: what was already delivered is applied by then
DETECT_MARGIN = 4.0         # the sender notices the cut within TIMEOUT + this
RECONNECT_LIMIT = 60.0      # link back -> reconnected: backoff cap 30 s + connect + handshake
PART_A = 2048 * KiB         # written before the transfer starts
PART_B = 512 * KiB          # appended by "auditd" while the link is down
PART_C = 256 * KiB          # appended after the link returns, then the rotation
CUT_AT = PART_A // 3        # the receiver holds at least this when the link is cut
SEED = int(os.environ.get("ADIST_NETWORK_SEED", "20260101"))
EMULATOR = os.environ.get("ADIST_LINK_EMULATOR", "")  # "", "netem" or "tun": force one

SENDER_ADDR, RECEIVER_ADDR, PORT = "10.77.0.1", "10.77.0.2", 7878
SENDER_DEV, RECEIVER_DEV = "adist-snd", "adist-rcv"
RELAY_LIFETIME = 580.0      # seconds; ctest's timeout for the fault suite is 600

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def run(args, timeout=30):
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def must(args, timeout=30):
    p = run(args, timeout)
    check(p.returncode == 0, f"{' '.join(args)} failed (exit {p.returncode}): "
                             f"{(p.stderr or p.stdout).strip()}")
    return p


# --------------------------------------------------------------------------
# The relay of the TUN emulator (a separate process: `test_network.py --relay`)


def relay_main(argv):
    """Opens a TUN device in each namespace and moves packets between them:
    sender -> receiver delayed by `delay_ms` and dropped with probability
    `loss` (queue of QUEUE_LIMIT packets, like netem on the sender's egress),
    receiver -> sender as is. Commands on stdin, one a line: `cut` (drop
    everything, both ways, and what the delay line holds), `heal`, `quit`;
    each is answered on stdout. Exits at `quit`, at the end of stdin (the
    test died) or after `lifetime` seconds, printing its counters."""
    ns_s, dev_s, ns_r, dev_r, seed, loss, delay_ms, lifetime = argv
    loss, delay, lifetime = float(loss), float(delay_ms) / 1000.0, float(lifetime)
    libc = ctypes.CDLL(None, use_errno=True)

    def setns(fd):
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns: {os.strerror(err)}")

    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    tun = {}
    for side, ns, dev in (("s", ns_s, dev_s), ("r", ns_r, dev_r)):
        nsfd = os.open(os.path.join("/run/netns", ns), os.O_RDONLY)
        setns(nsfd)  # a TUN device is created in the namespace of its opener
        os.close(nsfd)
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI))
        os.set_blocking(fd, False)
        tun[side] = fd
    setns(own)
    os.close(own)
    fd_s, fd_r, ctl = tun["s"], tun["r"], sys.stdin.fileno()
    rng = random.Random(int(seed))
    line = collections.deque()  # (due, packet), sender -> receiver
    stats = collections.Counter()
    cut = False
    deadline = time.monotonic() + lifetime
    pending = b""
    reason = "quit"

    def say(text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def read_all(fd):
        out = []
        for _ in range(256):  # bounded burst per wake-up
            try:
                out.append(os.read(fd, 65536))
            except BlockingIOError:
                break
        return out

    def write(fd, packet, key):
        try:
            os.write(fd, packet)
            stats[key] += 1
        except OSError:
            stats[key + "_write_errors"] += 1

    say("ready")
    running = True
    while running:
        now = time.monotonic()
        if now >= deadline:
            reason = f"lifetime of {lifetime:.0f} s over"
            break
        wait = deadline - now
        if line:
            wait = min(wait, max(0.0, line[0][0] - now))
        readable, _, _ = select.select([fd_s, fd_r, ctl], [], [], wait)
        now = time.monotonic()
        if ctl in readable:
            data = os.read(ctl, 4096)
            if not data:
                reason = "end of stdin"
                break
            pending += data
            while b"\n" in pending:
                cmd, pending = pending.split(b"\n", 1)
                cmd = cmd.decode().strip()
                if cmd == "cut":
                    cut = True
                    stats["s2r_dropped_cut"] += len(line)
                    line.clear()
                elif cmd == "heal":
                    cut = False
                elif cmd == "quit":
                    running = False
                    break
                say(f"ok {cmd}")
        if fd_s in readable:
            for packet in read_all(fd_s):
                stats["s2r_in"] += 1
                if cut:
                    stats["s2r_dropped_cut"] += 1
                elif rng.random() < loss:
                    stats["s2r_dropped_loss"] += 1
                elif len(line) >= QUEUE_LIMIT:
                    stats["s2r_dropped_queue"] += 1
                else:
                    line.append((now + delay, packet))
        if fd_r in readable:
            for packet in read_all(fd_r):
                stats["r2s_in"] += 1
                if cut:
                    stats["r2s_dropped_cut"] += 1
                else:
                    write(fd_s, packet, "r2s_out")
        while line and line[0][0] <= now:
            write(fd_r, line.popleft()[1], "s2r_out")
    say("stats " + json.dumps({"reason": reason, **stats}))
    return 0


# --------------------------------------------------------------------------
# Two namespaces and the link between them


class Network:
    """The sender's and the receiver's namespaces and one of the two link
    emulators. Same interface for both: setup(), cut(), heal(), close()."""

    def __init__(self, sc):
        self.sc = sc
        self.ns_s = f"adist-snd-{os.getpid()}"
        self.ns_r = f"adist-rcv-{os.getpid()}"
        self.namespaces = []
        self.kind = None
        self.relay = None
        self.relay_log = sc.path("relay.log")
        self.relay_stats = None

    # -- namespaces (the only thing whose failure is a SKIP)
    def create_namespaces(self):
        if os.geteuid() != 0:
            raise Skip("network namespaces cannot be created: not root")
        if shutil.which("ip") is None:
            raise Skip("network namespaces cannot be created: no `ip` command (iproute2)")
        # Namespaces of an earlier run that was killed before its cleanup
        # (ctest's timeout): their test process no longer exists.
        for line in run(["ip", "netns", "list"]).stdout.splitlines():
            m = re.match(r"(adist-(?:snd|rcv)-(\d+))\b", line)
            if m and not os.path.exists(f"/proc/{m.group(2)}"):
                run(["ip", "netns", "del", m.group(1)])
                self.sc.note(f"deleted the namespace {m.group(1)} of a dead earlier run")
        for ns in (self.ns_s, self.ns_r):
            p = run(["ip", "netns", "add", ns])
            if p.returncode != 0:
                raise Skip(f"network namespaces cannot be created: ip netns add {ns}: "
                           f"{p.stderr.strip()}")
            self.namespaces.append(ns)
            must(["ip", "-n", ns, "link", "set", "lo", "up"])
        found = run(["ip", "netns", "exec", self.ns_s, "cat",
                     "/proc/sys/net/ipv4/tcp_congestion_control"])
        self.congestion_control = found.stdout.strip() or "?"

    def setup(self):
        self.create_namespaces()
        if EMULATOR not in ("", "netem", "tun"):
            raise TestFailure(f"ADIST_LINK_EMULATOR={EMULATOR!r}: expected netem or tun")
        why = None
        if EMULATOR != "tun":
            why = self.setup_netem()
            if why is None:
                self.kind = "netem"
                self.sc.note(f"using the netem link emulator: a veth pair with `netem delay "
                             f"{DELAY_MS}ms loss {LOSS:.0%}` on the sender's end")
                return
            check(EMULATOR != "netem", f"ADIST_LINK_EMULATOR=netem, but {why}")
        else:
            why = "ADIST_LINK_EMULATOR=tun"
        self.setup_tun()
        self.kind = "tun"
        self.sc.note(f"{why}: using the TUN link emulator (no veth: a TUN device in each "
                     f"namespace and a relay process; {DELAY_MS} ms delay and {LOSS:.0%} loss "
                     f"sender -> receiver, seed {SEED})")

    def setup_netem(self):
        """Returns None when the veth pair with netem is in place, else why not
        (and leaves nothing behind)."""
        p = run(["ip", "link", "add", SENDER_DEV, "netns", self.ns_s, "type", "veth",
                 "peer", "name", RECEIVER_DEV, "netns", self.ns_r])
        if p.returncode != 0:
            return f"no veth pair ({p.stderr.strip()})"
        p = run(["tc", "-n", self.ns_s, "qdisc", "add", "dev", SENDER_DEV, "root", "netem",
                 "delay", f"{DELAY_MS}ms", "loss", f"{LOSS * 100:g}%", "limit", str(QUEUE_LIMIT)])
        if p.returncode != 0:
            run(["ip", "-n", self.ns_s, "link", "del", SENDER_DEV])
            return (f"netem unavailable in this kernel (tc qdisc add ... netem: "
                    f"{(p.stderr or p.stdout).strip() or 'exit %d' % p.returncode})")
        for ns, dev, addr in ((self.ns_s, SENDER_DEV, SENDER_ADDR),
                              (self.ns_r, RECEIVER_DEV, RECEIVER_ADDR)):
            must(["ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev])
            must(["ip", "-n", ns, "link", "set", dev, "up"])
        return None

    def setup_tun(self):
        check(os.path.exists("/dev/net/tun"),
              "neither netem nor /dev/net/tun: no way to emulate the link")
        log = open(self.relay_log, "ab")
        try:
            self.relay = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--relay", self.ns_s, SENDER_DEV,
                 self.ns_r, RECEIVER_DEV, str(SEED), str(LOSS), str(DELAY_MS),
                 str(RELAY_LIFETIME)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, bufsize=0,
                close_fds=True)
        finally:
            log.close()
        self.expect_line("ready", timeout=10)
        for ns, dev, addr, peer in ((self.ns_s, SENDER_DEV, SENDER_ADDR, RECEIVER_ADDR),
                                    (self.ns_r, RECEIVER_DEV, RECEIVER_ADDR, SENDER_ADDR)):
            must(["ip", "-n", ns, "addr", "add", addr, "peer", f"{peer}/32", "dev", dev])
            must(["ip", "-n", ns, "link", "set", dev, "up"])

    # -- the relay's control pipe
    def expect_line(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            if self.relay.poll() is not None and not select.select(
                    [self.relay.stdout], [], [], 0)[0]:
                break
            ready, _, _ = select.select([self.relay.stdout], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            c = self.relay.stdout.read(1)
            if not c:
                break
            if c != b"\n":
                buf += c
                continue
            text = buf.decode(errors="replace")
            buf = b""
            if text.startswith(prefix):
                return text
        raise TestFailure(f"the link relay did not answer {prefix!r} within {timeout} s "
                          f"(exit status {self.relay.poll()}); its log:\n{self.relay_log_text()}")

    def relay_command(self, cmd):
        check(self.relay.poll() is None, f"the link relay exited with status {self.relay.poll()}")
        self.relay.stdin.write(cmd.encode() + b"\n")
        self.relay.stdin.flush()
        self.expect_line(f"ok {cmd}", timeout=5)

    def relay_log_text(self):
        try:
            with open(self.relay_log, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    # -- faults
    def cut(self):
        if self.kind == "netem":
            must(["ip", "-n", self.ns_s, "link", "set", SENDER_DEV, "down"])
        else:
            self.relay_command("cut")

    def heal(self):
        if self.kind == "netem":
            must(["ip", "-n", self.ns_s, "link", "set", SENDER_DEV, "up"])
            p = must(["tc", "-n", self.ns_s, "qdisc", "show", "dev", SENDER_DEV])
            check("netem" in p.stdout, f"the netem qdisc is gone after link up: {p.stdout!r}")
        else:
            self.relay_command("heal")

    # -- cleanup: always (finally), even on failure
    def close(self):
        errors = []
        if self.relay is not None:
            try:
                if self.relay.poll() is None:
                    self.relay.stdin.write(b"quit\n")
                    self.relay.stdin.flush()
                    stats = self.expect_line("stats ", timeout=5)
                    self.relay_stats = json.loads(stats[len("stats "):])
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                errors.append(f"relay: {e}")
            if self.relay.poll() is None:
                try:
                    self.relay.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.relay.kill()
                    self.relay.wait(timeout=10)
            for f in (self.relay.stdin, self.relay.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        for ns in reversed(self.namespaces):
            p = run(["ip", "netns", "del", ns])
            if p.returncode != 0:
                errors.append(f"ip netns del {ns}: {p.stderr.strip()}")
        self.namespaces = []
        return errors


class NetnsDaemon(Daemon):
    """A Daemon run inside a network namespace: the harness's command prefix
    is `ip netns exec NS` (ip execs the binary, so self.pid is the daemon's
    own pid: checked by verify_in_namespace). stop() is idempotent, so that
    the scenario can stop both daemons while the link still works and
    run_scenario's final stop_all() has nothing left to do."""

    def __init__(self, sc, label, conf, role, netns):
        super().__init__(sc, label, conf, role)
        self.netns = netns
        self.wrapper = ["ip", "netns", "exec", netns]
        self.stopped_cleanly = False

    def start(self, ready=True, debug=False):
        self.stopped_cleanly = False
        super().start(ready=ready, debug=debug)
        if ready:
            self.verify_in_namespace()
        return self

    def verify_in_namespace(self):
        exe = os.readlink(f"/proc/{self.pid}/exe")
        check_equal(os.path.realpath(exe), os.path.realpath(self.sc.binary),
                    f"{self.label}: the program of pid {self.pid}")
        ours = os.stat(f"/proc/{self.pid}/ns/net").st_ino
        check_equal(ours, os.stat(os.path.join("/run/netns", self.netns)).st_ino,
                    f"{self.label}: network namespace of pid {self.pid} vs. {self.netns}")

    def stop(self, timeout=15, expect_code=0):
        if self.stopped_cleanly and self.proc is not None and self.proc.poll() is not None:
            return
        super().stop(timeout=timeout, expect_code=expect_code)
        self.stopped_cleanly = True


# --------------------------------------------------------------------------
# The scenario

# One TCP connection attempt to a closed port of the receiver's namespace
# (before the receiver listens): the SYN crosses the emulated link, the RST
# comes straight back, so the fastest of a few attempts is the one-way delay.
DELAY_PROBE = r"""
import socket, sys, time
best = -1.0
for _ in range(8):
    s = socket.socket()
    s.settimeout(3)
    t = time.monotonic()
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
    except ConnectionRefusedError:
        d = time.monotonic() - t
        best = d if best < 0 else min(best, d)
    except OSError:
        pass
    finally:
        s.close()
print(best)
"""

CONNECTION_STATE = re.compile(r"connected to |connection lost|reconnecting in|cannot connect|"
                              r"handshake")


def sender_connected(send):
    """True when the sender's last connection event is a successful connect."""
    last = None
    for m in CONNECTION_STATE.finditer(send.text()):
        last = m.group(0)
    return last == "connected to "


def cpu_seconds(pid):
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


def watched(daemon, what, fn):
    """Runs fn(); if it fails, says how much CPU `daemon` burnt meanwhile (a
    daemon that busy-loops starves its own timers and never logs a thing)."""
    c0, t0 = cpu_seconds(daemon.pid), time.monotonic()
    try:
        return fn()
    except TestFailure as e:
        used, spent = cpu_seconds(daemon.pid) - c0, time.monotonic() - t0
        raise TestFailure(f"{e} ({what}; meanwhile the {daemon.label} used {used:.1f} s of CPU "
                          f"in {spent:.1f} s{': a busy loop?' if used > spent / 2 else ''})") \
            from None


def append(path, nbytes, digest):
    data = os.urandom(nbytes)
    with open(path, "ab") as f:
        f.write(data)
    digest.update(data)
    return nbytes


def scenario(sc, net):
    sc.pair_dirs()
    cert, key, fp = sc.make_cert("receiver")
    url = f"tls://{RECEIVER_ADDR}:{PORT}"
    rconf = sc.receiver_config("receiver.conf", url, sc.remote, cert, key,
                               [("web1", SENDER_ADDR, "s3cret")], timeout=TIMEOUT)
    sconf = sc.sender_config("sender.conf", "web1", sc.dist,
                             [("collector", url, fp, "s3cret")], timeout=TIMEOUT)
    recv = NetnsDaemon(sc, "receiver", rconf, "receiver", net.ns_r)
    send = NetnsDaemon(sc, "sender", sconf, "sender", net.ns_s)
    sc.daemons += [recv, send]
    both = (recv, send)

    p = must(["ip", "netns", "exec", net.ns_s, sys.executable, "-c", DELAY_PROBE,
              RECEIVER_ADDR, str(PORT)], timeout=60)
    probe = float(p.stdout.strip() or -1)
    check(probe >= 0, "no TCP connection attempt crossed the emulated link (8 tries)")
    sc.note(f"one-way delay probe (SYN -> RST): {probe * 1000:.0f} ms; TCP congestion control "
            f"{net.congestion_control}")
    check(DELAY_MS / 1000 * 0.95 <= probe < 1.0,
          f"the emulated link's delay is {probe * 1000:.0f} ms, expected about {DELAY_MS} ms")

    t = time.monotonic()
    recv.start()
    send.start()
    send.wait_log(r"connected to .*; receiver has no file yet", timeout=60)
    sc.note(f"daemons in {net.ns_r} and {net.ns_s}; first connection over the impaired link "
            f"after {time.monotonic() - t:.1f} s")

    # 1. A growing trail on the impaired link.
    growing, final = trail_name(1, "not_terminated"), trail_name(1)
    src, link = os.path.join(sc.source, growing), os.path.join(sc.dist, growing)
    remote = sc.remote_file(growing)
    digest = hashlib.sha256()
    total = append(src, PART_A, digest)
    smark = send.mark()
    started = time.monotonic()
    os.link(src, link)
    # Cut while the sender is connected and the copy is incomplete.
    watched(send, "phase 1, impaired link", lambda: wait_until(
        lambda: file_size(remote) >= CUT_AT and sender_connected(send), timeout=120,
        interval=0.01, what=f"{CUT_AT} bytes of {growing} at the receiver, sender connected",
        alive=both))
    at_cut = file_size(remote)
    elapsed = time.monotonic() - started
    rate = at_cut / elapsed
    check(at_cut < total, f"{growing} was complete ({at_cut} bytes) before the link could be cut")
    early = send.count_log(r"connection lost|cannot connect", since=smark)
    sc.note(f"1: impaired link: {at_cut} bytes in {elapsed:.1f} s ({rate / KiB:.0f} KiB/s), "
            f"{early} lost connection(s) or failed attempt(s) before the cut")

    # 2. The partition.
    smark, rmark = send.mark(), recv.mark()
    cpu0 = cpu_seconds(send.pid)
    net.cut()
    cut_at = time.monotonic()
    m = watched(send, "the link is down", lambda: send.wait_log(
        r"connection lost.*", since=smark, timeout=TIMEOUT + DETECT_MARGIN + 10))
    noticed = time.monotonic() - cut_at
    sc.note(f"2: link cut with {at_cut} of {total} bytes at the receiver; the sender noticed "
            f"after {noticed:.1f} s: {m.group(0)!r}")
    check(noticed <= TIMEOUT + DETECT_MARGIN,
          f"the sender took {noticed:.1f} s to notice the cut (timeout {TIMEOUT} s)")
    r = recv.wait_log(r"no data for \d+ s, closing the connection|connection closed.*",
                      since=rmark, timeout=TIMEOUT + DETECT_MARGIN + 10)
    sc.note(f"2: the receiver dropped the connection after {time.monotonic() - cut_at:.1f} s: "
            f"{r.group(0)!r}")
    # auditd keeps writing while the network is down.
    total += append(src, PART_B, digest)
    wait_until(lambda: time.monotonic() - cut_at >= SETTLE, timeout=SETTLE + 1, interval=0.05,
               what="the cut to settle")
    held = file_size(remote)
    samples = []
    wait_until(lambda: samples.append(file_size(remote)) or
               time.monotonic() - cut_at >= PARTITION,
               timeout=PARTITION + 1, interval=0.1, what="the end of the partition", alive=both)
    cpu = cpu_seconds(send.pid) - cpu0
    check(set(samples) == {held}, f"the receiver's copy changed while the link was down "
                                  f"(after {SETTLE:.0f} s): sizes {sorted(set(samples))}")
    check(held < total, "the copy is complete although the link is down")
    check(os.path.exists(link), "the dist link was removed while the link was down")
    check(cpu < PARTITION / 4, f"the sender used {cpu:.1f} s of CPU during the "
                               f"{PARTITION:.0f} s partition (a busy loop?)")
    attempts = send.count_log(r"cannot connect|TLS handshake with .* failed|"
                              r"closed the connection during the handshake", since=smark)
    sc.note(f"2: during the {PARTITION:.0f} s partition the copy stayed at {held} bytes "
            f"({held - at_cut:+d} after the cut); {attempts} failed connection attempt(s); "
            f"sender CPU {cpu:.2f} s; {PART_B} bytes appended to the trail meanwhile")

    # 3. The link returns, still delayed and lossy.
    smark, rmark = send.mark(), recv.mark()
    net.heal()
    healed = time.monotonic()
    m = send.wait_log(rf"resuming {growing} at offset (\d+)", since=smark,
                      timeout=RECONNECT_LIMIT)
    reconnected = time.monotonic() - healed
    r = recv.wait_log(rf"authenticated; resume point {growing} at (\d+)", since=rmark, timeout=5)
    check_equal(int(r.group(1)), held, "the receiver's resume point vs. the size of its copy")
    check_equal(int(m.group(1)), held, "the sender's resume offset vs. the size of the "
                                       "receiver's copy")
    sc.note(f"3: link back; the sender resumed at offset {held} after {reconnected:.1f} s")
    # Rotation: a last piece, then the final name (source and dist link).
    total += append(src, PART_C, digest)
    os.rename(link, os.path.join(sc.dist, final))
    os.rename(src, os.path.join(sc.source, final))
    link, remote = os.path.join(sc.dist, final), sc.remote_file(final)
    remaining = total - held
    limit = 60 + 4 * remaining / max(rate, 1.0)
    watched(send, "phase 3, link back", lambda: wait_until(
        lambda: not os.path.exists(link), timeout=limit, interval=0.05,
        what=f"the dist link {final} to be removed", alive=both))
    done = time.monotonic() - healed
    send.wait_log(rf"shipped {final}\b", since=smark, timeout=5)
    recv.wait_log(rf"CLOSE {final}: ok", since=rmark, timeout=5)
    after = send.count_log(r"connection lost|cannot connect", since=smark)
    sc.note(f"3: {final} shipped {done:.1f} s after the link returned ({remaining} bytes to go, "
            f"{remaining / max(done - reconnected, 1e-3) / KiB:.0f} KiB/s once reconnected); "
            f"{after} lost connection(s) or failed attempt(s) after the link returned")

    check_equal(file_size(remote), total, f"size of the receiver's {final} (no byte lost or "
                                          f"duplicated)")
    check_equal(sha256_file(remote), digest.hexdigest(), f"sha256 of the receiver's {final}")
    check_equal(sha256_file(os.path.join(sc.source, final)), digest.hexdigest(),
                "sha256 of the source")
    check_equal(list_files(sc.host_dir), [final], "files in the receiver's host directory")
    check_equal(os.listdir(sc.dist), [], "the dist directory")
    sc.note(f"{final}: {total} bytes identical at the receiver, "
            f"{time.monotonic() - started:.1f} s after the trail appeared")
    # Stop while the link still works (their TLS shutdown goes over it).
    sc.stop_all()


def body(sc):
    net = Network(sc)
    ok = False
    try:
        net.setup()
        scenario(sc, net)
        ok = True
    finally:
        if not ok:
            sc.kill_all()
            if net.relay is not None:
                print(f"----- {net.relay_log}\n{net.relay_log_text()}", flush=True)
        errors = net.close()
        stats = net.relay_stats or {}
        if stats:
            passed = stats.get("s2r_in", 0) - stats.get("s2r_dropped_cut", 0)
            lost = stats.get("s2r_dropped_loss", 0)
            sc.note(f"relay: sender -> receiver {stats.get('s2r_in', 0)} packets, {lost} lost at "
                    f"random ({lost / max(passed, 1):.1%} of those not cut), "
                    f"{stats.get('s2r_dropped_cut', 0)} dropped by the cut, "
                    f"{stats.get('s2r_dropped_queue', 0)} by the queue limit; receiver -> sender "
                    f"{stats.get('r2s_in', 0)} packets, {stats.get('r2s_dropped_cut', 0)} dropped "
                    f"by the cut; ended by {stats.get('reason')}")
        leftover = [ns for ns in (net.ns_s, net.ns_r)
                    if os.path.exists(os.path.join("/run/netns", ns))]
    if ok:
        check(not errors, "cleanup: " + "; ".join(errors))
        check(not leftover, f"namespaces left behind: {leftover}")
        if net.kind == "tun":
            passed = stats.get("s2r_in", 0) - stats.get("s2r_dropped_cut", 0)
            lost = stats.get("s2r_dropped_loss", 0) / max(passed, 1)
            check(passed >= 500 and LOSS * 0.6 <= lost <= LOSS * 1.4,
                  f"the relay lost {lost:.1%} of {passed} packets, expected about {LOSS:.0%}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--relay":
        sys.exit(relay_main(sys.argv[2:]))
    run_scenario("network", body)
