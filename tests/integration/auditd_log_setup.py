"""Shared set-up of the auditd_log scenarios (test_auditd_log_*.py): an
emulated auditd (tests/tools/auditd_emulator.py) writing log/audit.log in a
root-only directory, the sender's dist directory log/dist on the same
filesystem, and a sender whose host block carries `auditd_log` and its own
`name`, shipping to a receiver that knows it by that name."""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from auditd_emulator import AuditdEmulator  # noqa: E402
from harness import Skip, free_port, list_files  # noqa: E402

STREAM = "web1-audit"


def setup(sc, num_logs=3, max_bytes=1 << 30, emulate=True):
    """Returns (receiver, sender, emulator); nothing started yet except the
    emulator, which has opened its log. The emulator writes and rotates on
    demand, faster than auditd and at exact points; the real auditd is
    integration: auditd_log_real (emulate=False: no emulator, None)."""
    if os.geteuid() != 0:
        raise Skip("auditd_log needs root (the supervisor links root's files)")
    sc.logdir = sc.mkdir("log", mode=0o700)
    sc.dist = sc.mkdir("log", "dist", mode=0o755)
    sc.remote = sc.path("remote")
    sc.host_dir = os.path.join(sc.remote, STREAM)
    sc.log = os.path.join(sc.logdir, "audit.log")
    emu = AuditdEmulator(sc.log, num_logs=num_logs, max_bytes=max_bytes) if emulate else None
    cert, key, fp = sc.make_cert("receiver")
    sc.port = free_port()
    url = f"tls://127.0.0.1:{sc.port}"
    rconf = sc.receiver_config("receiver.conf", url, sc.remote, cert, key,
                               [(STREAM, "127.0.0.1", "s3cret")])
    sconf = sc.write_config("sender.conf", "\n".join([
        'name "web1"', 'pidfile "none"', "timeout 5", "sender {",
        f'    directory "{sc.dist}"', '    host "collector" {', f'        remote "{url}"',
        f'        fingerprint "{fp}"', '        password "s3cret"', f'        name "{STREAM}"',
        f'        auditd_log "{sc.log}"', "    }", "}"]) + "\n")
    recv = sc.daemon("receiver", rconf, "receiver")
    # The supervisor's record of linked generations: the scenario's, never
    # the machine's /var/lib/auditdistd.
    state_dir = sc.path("audit-log-state")
    send = sc.daemon("sender", sconf, "sender", extra_args=["--audit-log-state", state_dir])
    sc.state_file = os.path.join(
        state_dir, "audit_log" + sc.dist.replace("%", "%25").replace("/", "%2F"))
    return recv, send, emu


def cleanup(sc):
    for p in glob.glob(sc.state_file + "*"):
        os.unlink(p)


def remote_files(sc):
    return [n for n in list_files(sc.host_dir) if not n.startswith(".")]


def arrived(sc, emu):
    """True when the receiver holds every generation, byte for byte, in
    order: the rotated ones under a final name, the current one open."""
    names = remote_files(sc)
    if len(names) != len(emu.generations):
        return False
    for i, (name, data) in enumerate(zip(names, emu.generations)):
        last = i == len(names) - 1
        if name.endswith(".not_terminated") != last or name.endswith(".crash_recovery"):
            return False
        with open(os.path.join(sc.host_dir, name), "rb") as f:
            if f.read() != bytes(data):
                return False
    return True
