#!/usr/bin/env python3
"""An emulator of auditd (audit-userspace 3.0.9) writing its log, for the
tests and the demo where the audit subsystem is absent (containers).

What it does, as auditd does (src/auditd-event.c, src/auditd-config.c):
- opens the log O_WRONLY|O_APPEND|O_NOFOLLOW|O_CLOEXEC; when it is missing,
  creates it first (O_CREAT|O_EXCL|O_APPEND, 0640 under umask 007), closes
  and opens it again; then fchmod 0600 (0640 with a log_group) and fchown
  root:log_group;
- one write() per record (the FILE is line-buffered), real-looking text
  `type=SYSCALL msg=audit(1700000000.123:42): ...` ending in a newline;
- rotates once the log reaches max_log_file (auditd: MiB, here bytes may be
  given): fchmod 0400 (0440 with a log_group), fchown, close, then the
  rename chain audit.log.(n-2) -> audit.log.(n-1) ... audit.log.1 ->
  audit.log.2 (ENOENT ignored), audit.log -> audit.log.1, and opens a new
  audit.log; num_logs counts audit.log itself, so the oldest is
  audit.log.(num_logs-1) and is renamed over.

Library: AuditdEmulator(path, num_logs, max_bytes).record() / .rotate().
Command line (the demo): auditd_emulator.py LOG --records N --rate R
--num-logs K --max-bytes B.
"""
import argparse
import os
import sys
import time

RECORD_TYPES = (
    ("SYSCALL", 'arch=c000003e syscall=59 success=yes exit=0 a0=55d0c2 a1=55d0c3 a2=55d0c4 '
                'a3=0 items=2 ppid={pid} pid={pid2} auid=1000 uid=0 gid=0 euid=0 suid=0 '
                'fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="sudo" exe="/usr/bin/sudo" '
                'subj=unconfined key="exec"'),
    ("EXECVE", 'argc=3 a0="sudo" a1="cat" a2="/etc/shadow"'),
    ("CWD", 'cwd="/home/alice"'),
    ("PATH", 'item=0 name="/usr/bin/sudo" inode={pid} dev=fe:01 mode=0104755 ouid=0 ogid=0 '
             'rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0'),
    ("USER_CMD", 'pid={pid} uid=1000 auid=1000 ses=3 msg=\'cwd="/home/alice" cmd=636174 '
                 'exe="/usr/bin/sudo" terminal=pts/0 res=success\''),
    ("PROCTITLE", 'proctitle=7375646F00636174002F6574632F736861646F77'),
)


class AuditdEmulator:
    def __init__(self, path, num_logs=5, max_bytes=8 * 1024 * 1024, log_group=0,
                 start_time=1700000000.0):
        self.path = path
        self.num_logs = num_logs
        self.max_bytes = max_bytes
        self.log_group = log_group
        self.serial = 0
        self.clock = start_time
        self.fd = -1
        self.size = 0
        # Every byte written, per generation (oldest first): what must arrive.
        self.generations = [bytearray()]
        self.open_log()

    def open_log(self):
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            old = os.umask(0o007)
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640))
            finally:
                os.umask(old)
            fd = os.open(self.path, flags)
        self.size = os.fstat(fd).st_size
        os.fchmod(fd, 0o640 if self.log_group else 0o600)
        os.fchown(fd, 0, self.log_group)
        self.fd = fd

    def text(self):
        """The next record's text (one line)."""
        self.serial += 1
        self.clock += 0.001
        kind, fields = RECORD_TYPES[self.serial % len(RECORD_TYPES)]
        fields = fields.format(pid=1000 + self.serial % 30000, pid2=2000 + self.serial % 30000)
        return f"type={kind} msg=audit({self.clock:.3f}:{self.serial}): {fields}\n".encode()

    def record(self, data=None):
        """Writes one record in one write(); rotates first when the log has
        reached max_bytes (auditd checks after each write; same effect)."""
        if self.size >= self.max_bytes:
            self.rotate()
        data = data if data is not None else self.text()
        n = os.write(self.fd, data)
        assert n == len(data), "short write"
        self.size += n
        self.generations[-1] += data
        return data

    def rotate(self, step=None):
        """auditd's rotate_logs(); step(name), when given, is called after
        each system call ("fchmod", "close", "rename <old>", "renamed log",
        then after the reopen "open") so a test can act in between."""
        step = step or (lambda name: None)
        os.fchmod(self.fd, 0o440 if self.log_group else 0o400)
        os.fchown(self.fd, 0, self.log_group)
        step("fchmod")
        os.close(self.fd)
        self.fd = -1
        step("close")
        oldname = self.path + ".1"
        for i in range(self.num_logs - 1, 1, -1):
            oldname = f"{self.path}.{i - 1}"
            try:
                os.rename(oldname, f"{self.path}.{i}")
            except FileNotFoundError:
                pass
            step("rename " + os.path.basename(oldname))
        try:
            os.rename(self.path, oldname)
        except FileNotFoundError:
            pass
        step("renamed log")
        self.generations.append(bytearray())
        self.open_log()
        step("open")

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--rate", type=float, default=100.0, help="records a second")
    ap.add_argument("--num-logs", type=int, default=5)
    ap.add_argument("--max-bytes", type=int, default=8 * 1024 * 1024)
    a = ap.parse_args()
    emu = AuditdEmulator(a.log, a.num_logs, a.max_bytes)
    for _ in range(min(a.records, 10_000_000)):
        emu.record()
        time.sleep(1.0 / a.rate)
    emu.close()
    total = sum(len(g) for g in emu.generations)
    print(f"{a.records} records, {total} bytes, {len(emu.generations)} generations")


if __name__ == "__main__":
    main()
