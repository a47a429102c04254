#!/usr/bin/env python3
"""Real users on real terminals, through the collector, the sender and the
receiver (issue 14):
  - ADIST_COLLECTOR_USERS local users (default 30) are created, and removed
    afterwards whatever happens; half run an interactive bash, half an
    interactive zsh, each on its own pty with the shell hook, with a forged
    SSH_CONNECTION in their environment, and type three commands;
  - every command arrives on the receiver exactly once with the user's uid,
    name and terminal in `trusted`, the forged SSH_CONNECTION only under
    `claimed`;
  - the names stay right after /etc/passwd is replaced (usermod) while the
    collector runs;
  - none of the users can append to, truncate, rename or remove the
    collector's files, in its directory or in dist, nor hard-link them."""
import errno
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, user_db_command, wait_until  # noqa: E402
from collector_util import (Shell, collector_setup, commands, hook_dir,  # noqa: E402
                            receiver_for, require_root_and_shells, test_users)

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FORGED = "203.0.113.66 4444 198.51.100.1 22"
PARALLEL = 10


def run_sessions(sc, users, hooks, socket_path):
    """Runs the shells, PARALLEL at a time; returns {marker: (user, tty)}."""
    expected = {}
    for start in range(0, len(users), PARALLEL):
        batch = []
        for i, user in enumerate(users[start:start + PARALLEL], start):
            shell = "bash" if i % 2 == 0 else "zsh"
            s = Shell(user, shell, hooks, sc.binary, socket_path, {"SSH_CONNECTION": FORGED})
            check(s.tty is not None, f"{user.pw_name}: the shell has no pty")
            batch.append(s)
        for s in batch:
            s.drain(0.3)
        for k in range(3):
            for s in batch:
                marker = f"marker-{s.user.pw_name}-{s.shell}-{k}"
                s.type(f"echo {marker} >/dev/null")
                expected[f"echo {marker} >/dev/null"] = (s.user, s.tty)
            for s in batch:
                s.drain(0.15)
        for s in batch:
            s.close()
    return expected


def assert_records(sc, host_dir, expected):
    def arrived():
        if not os.path.isdir(host_dir):
            return False
        got = {c["claimed"]["command"] for c in commands(host_dir)}
        return all(m in got for m in expected)
    wait_until(arrived, timeout=60, what="every typed command on the receiver")
    seen = {}
    for c in commands(host_dir):
        cmd = c["claimed"]["command"]
        if cmd not in expected:
            continue
        check(cmd not in seen, f"{cmd!r} recorded twice")
        seen[cmd] = c
        user, tty = expected[cmd]
        t = c["trusted"]
        check_equal(t["uid"], user.pw_uid, f"uid of {cmd!r}")
        check_equal(t["user"], user.pw_name, f"user of {cmd!r}")
        check_equal(t["tty"], tty, f"tty of {cmd!r}")
        check(t["verified"], f"{cmd!r}: the peer was not verified")
        check_equal(c["claimed"]["ssh_connection"], FORGED, f"claimed SSH_CONNECTION of {cmd!r}")
        check("203.0.113.66" not in str(t), f"the forged address reached the trusted block: {t}")
        check_equal(c["host"], "cmdhost", "host")
    check_equal(len(seen), len(expected), "commands on the receiver")


def assert_users_locked_out(directory, user):
    """As `user` (a forked child), every way of changing the files fails."""
    files = [os.path.join(d, n) for d in (directory, os.path.join(directory, "dist"))
             for n in os.listdir(d) if len(n) == 29]
    check(files, "no collector files to attack")
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            for f in files:
                for attempt in (lambda: os.open(f, os.O_WRONLY | os.O_APPEND),
                                lambda: os.open(f, os.O_WRONLY | os.O_TRUNC),
                                lambda: os.truncate(f, 0),
                                lambda: os.unlink(f),
                                lambda: os.rename(f, f + ".x"),
                                lambda: os.link(f, "/tmp/adcoll-link")):
                    try:
                        attempt()
                        code = 1
                    except OSError as e:
                        if e.errno not in (errno.EACCES, errno.EPERM):
                            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    check_equal(os.waitstatus_to_exitcode(status), 0,
                f"{user.pw_name} attacking the collector's files (1: one attack worked)")


def scenario(sc):
    require_root_and_shells()
    count = int(os.environ.get("ADIST_COLLECTOR_USERS", "30"))
    recv, url, fp, host_dir = receiver_for(sc)
    conf, directory, socket_path = collector_setup(sc, "    rate_limit 100", sender=(url, fp, "s3cret"))
    coll = sc.daemon("collector", conf, "collector")
    hooks = hook_dir(sc, SOURCE_DIR)
    # The users exist before the start: Landlock's rule on /etc/passwd
    # follows the file that was there, so a user added later has no name
    # (docs/collector.md). A change of the database after the start (here
    # usermod, which replaces /etc/passwd) must not lose the names known.
    with test_users(count) as users:
        recv.start()
        coll.start()
        before = os.stat("/etc/passwd").st_ino
        # Retried: a scenario running in parallel may hold the user
        # database's lock (it makes its collector user).
        check(user_db_command(["usermod", "-c", "changed after the start", users[0].pw_name],
                              lambda: pwd.getpwnam(users[0].pw_name).pw_gecos ==
                              "changed after the start"), "usermod did not apply")
        check(os.stat("/etc/passwd").st_ino != before, "usermod did not replace /etc/passwd")
        expected = run_sessions(sc, users, hooks, socket_path)
        sc.note(f"{count} users typed {len(expected)} commands")
        assert_records(sc, host_dir, expected)
        sc.note("every command on the receiver once, uid/user/tty trusted, SSH_CONNECTION claimed")
        for user in users[:3]:
            assert_users_locked_out(directory, user)
        sc.note("users cannot append, truncate, rename, remove or link the files")


if __name__ == "__main__":
    run_scenario("collector_users", scenario)
