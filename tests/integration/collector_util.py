"""Helpers of the collector scenarios (test_collector_*.py): the collector's
configuration next to a sender and a receiver, temporary local users that
are always removed, interactive shells on a pty, reading the records."""
import contextlib
import json
import os
import pty
import pwd
import select
import subprocess
import time

from harness import Skip, check, free_port, user_db_command, user_exists

USER_PREFIX = "adcoll"


def require_root_and_shells():
    if os.geteuid() != 0:
        raise Skip("needs root (local users, privilege drop)")
    for tool in ("useradd", "userdel", "bash", "zsh"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/sbin:/usr/bin").split(":") + ["/usr/sbin"]):
            raise Skip(f"{tool} is missing (scripts/install-deps installs zsh)")


def remove_test_users():
    """Removes every user whose name starts with USER_PREFIX (left behind by
    an interrupted run too)."""
    for p in pwd.getpwall():
        if p.pw_name.startswith(USER_PREFIX):
            user_db_command(["userdel", "-f", p.pw_name],
                            lambda name=p.pw_name: not user_exists(name))


@contextlib.contextmanager
def test_users(count):
    """Creates `count` local users (no home directory), yields their pwd
    entries, and removes them whatever happens."""
    remove_test_users()
    made = []
    try:
        for i in range(count):
            name = f"{USER_PREFIX}{i:03d}"
            check(user_db_command(["useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/bin/bash",
                                   name], lambda: user_exists(name)), f"cannot create user {name}")
            made.append(pwd.getpwnam(name))
        yield made
    finally:
        remove_test_users()
        left = [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(USER_PREFIX)]
        check(not left, f"test users left behind: {left}")


def collector_config(sc, directory, socket_path, extra="", sender=None):
    """A config with a collector section (and a sender of its dist to
    `sender` = (url, fingerprint, password) when given)."""
    user = sc.collector_user()
    lines = ['name "cmdhost"', f'pidfile "{sc.path("collector.pid")}"', "timeout 5",
             "collector {", f'    socket "{socket_path}"', f'    directory "{directory}"',
             "    sync_interval 1", f'    user "{user}"' if user else "", extra, "}"]
    if sender:
        url, fp, password = sender
        lines += ["sender {", f'    directory "{directory}/dist"', '    host "collector" {',
                  f'        remote "{url}"', f'        fingerprint "{fp}"',
                  f'        password "{password}"', "    }", "}"]
    return sc.write_config("collector.conf", "\n".join(lines) + "\n")


def collector_setup(sc, extra="", sender=None):
    """The collector of most scenarios: its files in <scenario>/commands, its
    socket <scenario>/run/collect.sock, and a config with `extra` in its
    section (see collector_config). Returns (config, directory, socket)."""
    directory = sc.path("commands")
    socket_path = sc.path("run", "collect.sock")
    return collector_config(sc, directory, socket_path, extra, sender), directory, socket_path


def receiver_for(sc, password="s3cret"):
    """A receiver on 127.0.0.1 for host "cmdhost"; returns (daemon, url,
    fingerprint, host directory)."""
    cert, key, fp = sc.make_cert("receiver")
    port = free_port()
    url = f"tls://127.0.0.1:{port}"
    remote = sc.path("remote")
    conf = sc.receiver_config("receiver.conf", url, remote, cert, key,
                              [("cmdhost", "127.0.0.1", password)])
    return sc.daemon("receiver", conf, "receiver"), url, fp, os.path.join(remote, "cmdhost")


def records(directory, prefix=""):
    """Every record of every trail-named file in `directory` (whose name
    starts with `prefix`), in name order."""
    out = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if len(name) != 29 or not os.path.isfile(path) or not name.startswith(prefix):
            continue
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                if line:
                    out.append((name, json.loads(line)))
    return out


def commands(directory):
    return [r for _, r in records(directory) if r["type"] == "command"]


class Shell:
    """An interactive bash or zsh of `user` on its own pty (pty.fork: a new
    session whose controlling terminal is the pty), with the hook sourced
    as /etc/profile.d or /etc/zsh/zshrc would."""

    def __init__(self, user, shell, hook_dir, binary, socket_path, env_extra=None):
        self.user = user
        self.shell = shell
        env = {"PATH": "/usr/bin:/bin", "HOME": "/", "TERM": "dumb", "USER": user.pw_name,
               "ADIST_LOG_BIN": binary, "ADIST_LOG_SOCKET": socket_path, **(env_extra or {})}
        if shell == "bash":
            argv = ["bash", "--noprofile", "--rcfile", os.path.join(hook_dir, "auditdistd-collector.sh"), "-i"]
        else:
            env["ZDOTDIR"] = hook_dir  # its .zshrc sources the zsh hook
            argv = ["zsh", "-i"]
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
                os.chdir("/")
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.tty = os.readlink(f"/proc/{pid}/fd/0").replace("/dev/", "") if self._wait_tty() else None
        self.output = b""

    def _wait_tty(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/0")
                if target.startswith("/dev/pts/"):
                    return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def drain(self, seconds=0.0):
        deadline = time.monotonic() + seconds
        while True:
            left = max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def type(self, line):
        os.write(self.fd, line.encode() + b"\n")

    def close(self, timeout=10):
        with contextlib.suppress(OSError):
            self.type("exit")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.05)
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
        else:
            with contextlib.suppress(OSError):
                os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def hook_dir(sc, source_dir):
    """A directory with both hooks and a .zshrc that sources the zsh one
    (what an administrator adds to /etc/zsh/zshrc)."""
    d = sc.mkdir("hooks")
    for name in ("auditdistd-collector.sh", "auditdistd-collector.zsh"):
        with open(os.path.join(source_dir, "etc", name)) as f, open(os.path.join(d, name), "w") as out:
            out.write(f.read())
    with open(os.path.join(d, ".zshrc"), "w") as f:
        f.write(f'source "{d}/auditdistd-collector.zsh"\n')
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    return d
