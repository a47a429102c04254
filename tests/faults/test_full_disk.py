#!/usr/bin/env python3
"""Full disk on the receiver: its directory is an 8 MiB tmpfs and a 20 MiB
trail is shipped. The receiver answers WRITE, never acknowledges what it did
not store (the dist link stays), what it stored is an exact prefix of the
source, the sender backs off (a bounded number of attempts and log lines
while the disk stays full), and once the filesystem is grown the transfer
completes byte-identical, with no sync failure recorded and a ledger that
verifies (the ledger shares the full disk: an entry cut short is finished
once there is room). Skipped (77) where tmpfs cannot be mounted."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (MiB, Skip, check, check_equal, file_size, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise Skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")


def prefix_matches(source, copy):
    n = file_size(copy)
    with open(source, "rb") as a, open(copy, "rb") as b:
        return a.read(n) == b.read(n)


def body(sc):
    recv, send = sc.standard_pair()
    mount_tmpfs(sc.remote, "8m")
    try:
        name = trail_name(70)
        size, digest = sc.add_trail(name, 20 * MiB)
        recv.start()
        send.start()
        send.wait_log(r"refused APPEND.*cannot write", timeout=30)
        copy = sc.remote_file(name)
        check(os.path.exists(os.path.join(sc.dist, name)), "dist link removed while the disk was full")
        check(file_size(copy) < size, "the copy is complete although the disk is full")
        check(prefix_matches(os.path.join(sc.source, name), copy),
              "what the receiver stored is not a prefix of the source")

        # Let it sit on the full disk: the sender must back off, not spin.
        mark, rmark = send.mark(), recv.mark()
        cpu_before = send.cpu_seconds() + recv.cpu_seconds()
        time.sleep(6)
        cpu = send.cpu_seconds() + recv.cpu_seconds() - cpu_before
        # Each refusal ends the connection: count the attempts (the refusal
        # line itself is repeated only every 10 minutes).
        attempts = send.count_log(r"reconnecting in", since=mark)
        lines = send.count_log(r"\n", since=mark) + recv.count_log(r"\n", since=rmark)
        sc.note(f"{attempts} attempts, {lines} log lines and {cpu:.2f} CPU s in 6 s while the "
                "disk was full")
        check(attempts <= 6, f"{attempts} attempts in 6 s: the sender does not back off")
        check(lines <= 40, f"{lines} log lines in 6 s while the disk was full: a retry loop floods")
        check(cpu < 1.0, f"{cpu:.2f} CPU seconds in 6 s while the disk was full: something spins")
        check(os.path.exists(os.path.join(sc.dist, name)), "dist link removed while the disk was full")

        subprocess.run(["mount", "-o", "remount,size=64m", sc.remote], check=True, timeout=30)
        send.wait_log(rf"shipped {name}", timeout=60)
        wait_until(lambda: file_size(copy) == size, timeout=10, what="the full size on the receiver")
        check_equal(sha256_file(copy), digest, "sha256 of the copy after the disk was grown")
        sc.stop_all()
        # The ledger shares the full disk: an entry the disk cut short was
        # finished once there was room, and no failed sync was recorded.
        check(not os.path.exists(os.path.join(sc.host_dir, ".auditdistd-sync-failed")),
              "a full disk was recorded as a failed fdatasync (the host needs an operator)")
        p = subprocess.run([sc.binary, "verify", sc.host_dir], capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, f"auditdistd verify after the full disk: exit {p.returncode}: "
              f"{(p.stdout + p.stderr)[-600:]}")
    finally:
        sc.kill_all()
        subprocess.run(["umount", "-l", sc.remote], capture_output=True, timeout=30)


if __name__ == "__main__":
    run_scenario("full_disk", body)
