#!/usr/bin/env python3
"""Linux auditd_log figures for bench/run (issue 13), figures only:
- the latency from auditd's rotation (the emulator's rename of audit.log,
  tests/tools/auditd_emulator.py) to the renamed trail `<start>.<end>` on
  the receiver: p50 and p99 over --samples rotations;
- a storm of 100 rotations a second for 10 s (one record each): how many
  generations were written, how many arrived byte-identical, how many were
  lost, and how long the receiver took to have them all.
Runs a receiver and a sender (auditd_log) on 127.0.0.1 as root in `work`.

usage: bench/auditd_log_bench.py BINARY [--samples N] [--storm-seconds S]
"""
import os, pwd, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
from auditd_emulator import AuditdEmulator  # noqa: E402



def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class _Pair:
    """Receiver and auditd_log sender in `work`/<label>; stop() ends both."""

    def __init__(self, binary, work, label):
        self.dir = os.path.join(work, label)
        self.log_dir = os.path.join(self.dir, "log")
        self.dist = os.path.join(self.log_dir, "dist")
        self.host_dir = os.path.join(self.dir, "remote", "bench-audit")
        os.makedirs(self.dist)
        os.chmod(self.log_dir, 0o700)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.dist, nobody.pw_uid, nobody.pw_gid)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=bench",
                        "-keyout", f"{self.dir}/key.pem", "-out", f"{self.dir}/cert.pem"],
                       check=True, stderr=subprocess.DEVNULL)
        os.chmod(f"{self.dir}/key.pem", 0o600)
        fp = subprocess.run([binary, "fingerprint", f"{self.dir}/cert.pem"], check=True,
                            capture_output=True, text=True).stdout.strip()
        port = _port()
        rconf = _write(f"{self.dir}/receiver.conf", "\n".join([
            'pidfile "none"', "receiver {", f'  listen "tls://127.0.0.1:{port}"',
            f'  directory "{self.dir}/remote"', f'  certfile "{self.dir}/cert.pem"',
            f'  keyfile "{self.dir}/key.pem"', "  max_files_per_minute 0",
            '  host "bench-audit" { remote "127.0.0.1" password "pw" }', "}", ""]))
        sconf = _write(f"{self.dir}/sender.conf", "\n".join([
            'name "bench"', 'pidfile "none"', "sender {", f'  directory "{self.dist}"',
            f'  host "r" {{ remote "tls://127.0.0.1:{port}" fingerprint "{fp}" password "pw"',
            '    name "bench-audit"', f'    auditd_log "{self.log_dir}/audit.log" }}', "}", ""]))
        self.emu = AuditdEmulator(os.path.join(self.log_dir, "audit.log"), num_logs=5)
        self.procs = []
        for conf, name in ((rconf, "receiver"), (sconf, "sender")):
            log = open(f"{self.dir}/{name}.log", "ab")
            # The sender's checkpoints and its supervisor's record of linked
            # generations, and the receiver's supervisor's ledger key, in the
            # bench's directory, not the machine's /var/lib/auditdistd.
            state = ["--digest-state", f"{self.dir}/digests", "--audit-log-state",
                     f"{self.dir}/audit-log-state"] if name == "sender" else \
                ["--ledger-key", f"{self.dir}/ledger-key"]
            self.procs.append(subprocess.Popen([binary, "-F", "-u", "nobody", "-c", conf, *state],
                                               stdout=log, stderr=log, start_new_session=True))
            self._wait_log(name, "auditdistd started")

    def _wait_log(self, name, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(f"{self.dir}/{name}.log", "rb") as f:
                if text.encode() in f.read():
                    return
            time.sleep(0.01)
        raise RuntimeError(f"{name}: no '{text}' in {timeout} s (see {self.dir}/{name}.log)")

    def remote(self):
        try:
            return sorted(n for n in os.listdir(self.host_dir) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def wait_files(self, pred, timeout, interval=0.0005):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = self.remote()
            if pred(names):
                return names
            time.sleep(interval)
        return None

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
        self.emu.close()


def rotation_latency(binary, work, samples):
    """Seconds from each rotation to its renamed trail on the receiver."""
    pair = _Pair(binary, work, "latency")
    out = []
    try:
        for i in range(samples):
            for _ in range(5):
                pair.emu.record()
            terminated = sum(1 for n in pair.remote() if not n.endswith(".not_terminated"))
            t0 = time.monotonic()
            pair.emu.rotate()
            if pair.wait_files(lambda ns: sum(1 for n in ns if not n.endswith(".not_terminated"))
                               > terminated, 10) is None:
                raise RuntimeError(f"rotation {i}: no renamed trail on the receiver in 10 s")
            out.append(time.monotonic() - t0)
    finally:
        pair.stop()
    return out


def storm(binary, work, seconds, per_second=100):
    """(written, arrived identical, lost, seconds until all arrived,
    receiver files beyond one per generation: duplicates)."""
    pair = _Pair(binary, work, "storm")
    try:
        start = time.monotonic()
        n = int(seconds * per_second)
        for i in range(n):
            pair.emu.record()
            pair.emu.rotate()
            delay = start + (i + 1) / per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        pair.emu.record()
        end_writes = time.monotonic()
        gens = [bytes(g) for g in pair.emu.generations]
        names = pair.wait_files(lambda ns: len(ns) >= len(gens), 120, interval=0.01) or pair.remote()
        drained = time.monotonic() - end_writes
        got = []
        for name in names:
            with open(os.path.join(pair.host_dir, name), "rb") as f:
                got.append(f.read())
        identical = sum(1 for g in gens if g in set(got))
        return len(gens), identical, len(gens) - identical, drained, len(names) - identical
    finally:
        pair.stop()


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--storm-seconds", type=float, default=10)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("auditd_log bench: needs root")
    work = tempfile.mkdtemp(prefix="adist-bench-auditd.", dir="/var/tmp")
    os.chmod(work, 0o755)
    lat = sorted(rotation_latency(a.binary, work, max(1, min(a.samples, 10000))))
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"rotation -> renamed trail on the receiver: p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms "
          f"({len(lat)} rotations)")
    written, same, lost, drained, dup = storm(a.binary, work, max(1.0, min(a.storm_seconds, 600)))
    print(f"storm 100 rotations/s: {written} generations, {same} arrived identical, {lost} lost, "
          f"{dup} extra files, all in {drained:.2f} s after the last write")
    subprocess.run(["chattr", "-R", "-f", "-i", "-a", work], stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
