#!/usr/bin/env python3
"""Linux auditd_log: a truncated log is never spliced and loses nothing that
was written before. First logrotate's copytruncate (copy audit.log to
audit.log.1, then truncate audit.log while auditd keeps appending to it):
the sender logs possible tampering, the receiver keeps the bytes it had,
the copy arrives whole as a generation of its own, and what auditd writes
after the truncation arrives as a new trail from its first byte. Then a
manual `: > audit.log`: reported the same way, and the receiver's earlier
bytes stay as they were."""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auditd_log_setup import cleanup, remote_files, setup  # noqa: E402
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402


def remote_bytes(sc, name):
    with open(os.path.join(sc.host_dir, name), "rb") as f:
        return f.read()


def has_remote(sc, data):
    """The name of a receiver file holding exactly `data`, or None."""
    for n in remote_files(sc):
        if remote_bytes(sc, n) == bytes(data):
            return n
    return None


def truncate(path):
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    os.ftruncate(fd, 0)
    os.close(fd)


def body(sc):
    recv, send, emu = setup(sc, num_logs=5)
    try:
        recv.start()
        send.start()
        before = b"".join(emu.record() for _ in range(40))
        first = wait_until(lambda: has_remote(sc, before), timeout=20,
                           what="the log's first bytes", alive=(recv, send))

        # The linker knows a truncation by a size smaller than one it saw: it
        # must have looked once after these writes (it wakes on each write;
        # on a busy machine it may take a moment). A truncation and rewrite
        # inside that moment is the sender's to catch (docs/operations.md).
        time.sleep(0.3)
        # logrotate copytruncate; two records land between the copy and the
        # truncation (logrotate's own window): they are in the copy only.
        mark = send.mark()
        shutil.copyfile(sc.log, sc.log + ".1")
        late = emu.record() + emu.record()
        with open(sc.log, "rb") as f:
            whole = f.read()
        shutil.copyfile(sc.log, sc.log + ".1")  # logrotate copies all it sees
        truncate(sc.log)
        after = b"".join(emu.record(bytes(f"type=USER_LOGIN msg=audit(1700000100.{i:03}:{900 + i}): "
                                          "pid=1 res=success\n", "ascii")) for i in range(3))
        check(len(after) < len(before), "test bug: the new bytes must not reach the old size")
        send.wait_log(r"possible tampering", since=mark, timeout=20)
        check_equal(whole, before + late, "the copy's content")
        wait_until(lambda: has_remote(sc, whole), timeout=20, what="the copy as a generation",
                   alive=(recv, send))
        wait_until(lambda: has_remote(sc, after), timeout=20,
                   what="the bytes written after the truncation as a new trail", alive=(recv, send))
        check(remote_bytes(sc, first).startswith(before[:len(remote_bytes(sc, first))]) and
              after not in remote_bytes(sc, first), "the old trail was spliced")
        check(any(n.endswith(".crash_recovery") for n in os.listdir(sc.dist)),
              "the truncated generation's link is closed as crash_recovery")
        sc.note("copytruncate: reported, copy shipped whole, new bytes a new trail")

        # A manual truncation, everything before it already shipped.
        more = b"".join(emu.record() for _ in range(20))
        wait_until(lambda: has_remote(sc, after + more), timeout=20, what="the bytes before `: >`",
                   alive=(recv, send))
        time.sleep(0.3)
        mark = send.mark()
        truncate(sc.log)
        fresh = emu.record(b"type=DAEMON_ROTATE msg=audit(1700000200.000:1): op=x\n")
        send.wait_log(r"possible tampering", since=mark, timeout=20)
        wait_until(lambda: has_remote(sc, fresh), timeout=20,
                   what="the record after `: >` as a new trail", alive=(recv, send))
        check(has_remote(sc, after + more), "the bytes shipped before `: >` were changed")
        emu.close()
    finally:
        cleanup(sc)


run_scenario("auditd_log_truncate", body)
