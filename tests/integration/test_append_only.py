#!/usr/bin/env python3
"""Received trails are protected by the kernel, not only by the receiver's
rules. A `.not_terminated` trail being received is append-only (chattr +a):
as the receiver's unprivileged user (the one a compromised worker runs as),
rewriting it, truncating it, removing it or renaming it fails with EPERM,
while the receiver itself still appends to it, and renames it when the
sender does. Once closed under its final name it is immutable (+i): even
appending fails, and even root cannot remove it. A sender that restarts and
opens that finished trail again (its link was put back) is answered, and the
stored copy is unchanged. Needs root (the supervisor sets the attributes);
skipped on a filesystem without them."""
import errno
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GrowingTrail, Skip, check, check_equal, file_attributes,  # noqa: E402
                     file_size, run_scenario, sha256_file, trail_name, wait_until)

# Each attack, run as the worker's user; prints {attack: errno or 0}.
ATTACKS = r"""
import json, os, sys
path = sys.argv[1]
out = {}
def attempt(name, f):
    try:
        f()
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
attempt("rewrite", lambda: os.close(os.open(path, os.O_WRONLY)))
attempt("truncate", lambda: os.truncate(path, 0))
attempt("unlink", lambda: os.unlink(path))
attempt("rename", lambda: os.rename(path, path + ".moved"))
attempt("append", lambda: os.close(os.open(path, os.O_WRONLY | os.O_APPEND)))
print(json.dumps(out))
"""


def attack_as(user, path):
    argv = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
            "--clear-groups", sys.executable, "-c", ATTACKS, path]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"attack script failed: {out.stderr}")
    return json.loads(out.stdout)


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root: the supervisor sets the attributes")
    recv, send = sc.standard_pair()
    recv.start()
    recv.wait_log(r"auditdistd started")
    if recv.count_log(r"does not take the append-only attribute"):
        raise Skip("the filesystem under /tmp has no append-only attribute")
    send.start()

    trail = GrowingTrail(sc, 1)
    trail.append(300_000)
    remote = sc.remote_file(trail.name)
    wait_until(lambda: file_size(remote) == trail.size, what="the first piece at the receiver",
               alive=(recv, send))
    flags = file_attributes(remote)
    check("a" in flags, f"{trail.name} is not append-only: {flags}")
    got = attack_as("nobody", remote)
    for attack in ("rewrite", "truncate", "unlink", "rename"):
        check_equal(got[attack], errno.EPERM, f"{attack} of the open trail as nobody")
    check_equal(got["append"], 0, "opening the open trail for appending as nobody")
    sc.note(f"open trail: +a; as the worker's user {sorted(got.items())} "
            f"(EPERM = {errno.EPERM}), appending still possible")

    # The receiver goes on appending, then renames it as the rules allow.
    trail.append(200_000)
    wait_until(lambda: file_size(remote) == trail.size, what="the second piece at the receiver",
               alive=(recv, send))
    trail.rename("terminated")
    final = sc.remote_file(trail.name)
    send.wait_log(rf"shipped {trail.name}\b")
    check(not os.path.exists(remote), "the .not_terminated name is still there")
    check_equal(file_size(final), trail.size, "size of the renamed trail")
    check_equal(sha256_file(final), trail.hash.hexdigest(), "sha256 of the renamed trail")
    flags = file_attributes(final)
    check("i" in flags, f"{trail.name} is not immutable after its CLOSE: {flags}")
    got = attack_as("nobody", final)
    for attack in ("rewrite", "truncate", "unlink", "rename", "append"):
        check_equal(got[attack], errno.EPERM, f"{attack} of the closed trail as nobody")
    got_root = attack_as("root", final)
    check_equal(got_root["unlink"], errno.EPERM, "unlink of the closed trail as root")
    check_equal(got_root["truncate"], errno.EPERM, "truncate of the closed trail as root")
    sc.note(f"closed trail: {flags}; every attack EPERM, as nobody and as root")

    # The sender restarts with the finished trail's link back in place (a
    # crash between the CLOSE ack and the unlink): OPEN and CLOSE of the
    # sealed trail are answered, nothing changes, the link goes.
    send.stop()
    os.link(os.path.join(sc.source, trail.name), os.path.join(sc.dist, trail.name))
    mark = send.mark()
    send.start()
    send.wait_log(rf"shipped {trail.name}\b", since=mark)
    check_equal(sha256_file(final), trail.hash.hexdigest(), "sha256 after the second OPEN")
    check_equal(os.listdir(sc.dist), [], "dist directory")
    nxt = trail_name(2)
    sc.add_trail(nxt, 100_000)
    send.wait_log(rf"shipped {nxt}\b", since=mark)
    check("i" in file_attributes(sc.remote_file(nxt)), "the next trail is not immutable")
    check_equal(recv.count_log(r"refused a request|cannot make"), 0, "guard failures logged")
    sc.note("reopened sealed trail answered; the next trail shipped and sealed")


if __name__ == "__main__":
    run_scenario("append_only", body)
