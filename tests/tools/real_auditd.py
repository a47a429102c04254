#!/usr/bin/env python3
"""The real auditd (audit-userspace), for the scenarios that can use it: a
private instance (`auditd -n -c DIR`) writing a log in a test directory,
with records made by `auditctl -m` and rotations by SIGUSR1, exactly as an
operator's `service auditd rotate` does.

It needs the kernel's audit subsystem and no other auditd registered with it
(the kernel takes one): unavailable() says why not, and the caller skips.
The kernel's enabled flag is put back as it was when the instance stops.

Library: RealAuditd(path, conf_dir, num_logs).start() / .record(text) / .rotate() /
.stop(); .generations holds each rotated-away generation's bytes, read once
auditd has closed it (0400), oldest first.
"""
import os
import re
import shutil
import signal
import subprocess
import time


def audit_status():
    """`auditctl -s` as a dict, or None when the audit subsystem is absent."""
    try:
        out = subprocess.run(["auditctl", "-s"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    status = {}
    for line in out.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            status[parts[0]] = parts[1]
    return status


def unavailable():
    """Why the real auditd cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the real auditd needs root"
    if not shutil.which("auditd") or not shutil.which("auditctl"):
        return "auditd is not installed (Debian package auditd)"
    status = audit_status()
    if status is None:
        return "no kernel audit subsystem here (`auditctl -s` fails: a container?)"
    if status.get("pid", "0").split()[0] != "0":
        return f"an auditd is already running (pid {status['pid']}): not touching it"
    return None


class RealAuditd:
    def __init__(self, path, conf_dir, num_logs=3):
        self.path = path
        self.num_logs = num_logs
        self.conf_dir = conf_dir  # not in the log's directory: auditd's own there
        self.proc = None
        self.was_enabled = None
        self.generations = []  # rotated-away generations' bytes, oldest first
        self.markers = []      # the texts given to record(), in order

    def write_config(self):
        os.makedirs(os.path.join(self.conf_dir, "plugins.d"), mode=0o700, exist_ok=True)
        conf = {
            "local_events": "yes", "write_logs": "yes", "log_file": self.path,
            "log_format": "ENRICHED", "flush": "INCREMENTAL_ASYNC", "freq": "1",
            "max_log_file": "8", "num_logs": str(self.num_logs),
            "max_log_file_action": "ROTATE", "name_format": "NONE",
            "space_left": "2", "space_left_action": "SYSLOG",
            "admin_space_left": "1", "admin_space_left_action": "SYSLOG",
            "disk_full_action": "SYSLOG", "disk_error_action": "SYSLOG",
            "plugin_dir": os.path.join(self.conf_dir, "plugins.d"),
            "q_depth": "2000", "overflow_action": "SYSLOG", "end_of_event_timeout": "2",
        }
        path = os.path.join(self.conf_dir, "auditd.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())

    def start(self, timeout=10):
        self.was_enabled = audit_status().get("enabled", "0").split()[0]
        self.write_config()
        self.proc = subprocess.Popen(["auditd", "-n", "-c", self.conf_dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = audit_status() or {}
            if status.get("pid", "0").split()[0] == str(self.proc.pid) and \
                    os.path.exists(self.path):
                return
            if self.proc.poll() is not None:
                lines = self.proc.stderr.read().decode(errors="replace").splitlines()
                raise RuntimeError("auditd exited at start (its reasons go to syslog; "
                                   f"`auditd -f -c {self.conf_dir}` prints them): " +
                                   " | ".join(lines[-3:]))
            time.sleep(0.05)
        raise RuntimeError("auditd did not register with the kernel in time")

    def record(self, text):
        """One USER record through the kernel, waited for in the log."""
        subprocess.run(["auditctl", "-m", text], check=True, capture_output=True, timeout=10)
        self.markers.append(text)
        self.wait_for(lambda data: text.encode() in data, f"record {text!r} in the log")

    def wait_for(self, pred, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.path, "rb") as f:
                    if pred(f.read()):
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"auditd: timed out waiting for {what}")

    def rotate(self, timeout=10):
        """SIGUSR1, then waits until the old log is audit.log.1 and closed
        (auditd makes it 0400 before the rename chain): its bytes are final."""
        before = os.stat(self.path).st_ino
        os.kill(self.proc.pid, signal.SIGUSR1)
        rotated = self.path + ".1"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                st = os.stat(rotated)
                if st.st_ino == before and (st.st_mode & 0o222) == 0 and \
                        os.stat(self.path).st_ino != before:
                    with open(rotated, "rb") as f:
                        self.generations.append(f.read())
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise RuntimeError("auditd did not rotate in time")

    def current(self):
        with open(self.path, "rb") as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.was_enabled is not None and re.fullmatch(r"[01]", self.was_enabled):
            subprocess.run(["auditctl", "-e", self.was_enabled], capture_output=True, timeout=10)
        shutil.rmtree(self.conf_dir, ignore_errors=True)
