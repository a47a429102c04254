"""Helpers of the sudo scenarios (test_sudo_*.py): the plugin loaded into the
real sudo through /etc/sudo.conf next to sudoers' own I/O log (both files
restored whatever happens), a daemon whose sudo stream goes to a receiver,
sessions run on a pty, the stream's records read back."""
import base64
import contextlib
import json
import os
import pty
import select
import shutil
import subprocess
import time

from collector_util import receiver_for
from harness import Skip, check, free_port

SUDO_CONF = "/etc/sudo.conf"
SUDOERS_D = "/etc/sudoers.d"
SUDOERS_FILE = os.path.join(SUDOERS_D, "adist_sudo_test")  # no '.': sudoers skips those


def require_sudo():
    if os.geteuid() != 0:
        raise Skip("needs root (/etc/sudo.conf, privilege drop)")
    for tool in ("sudo", "sudoreplay"):
        if not shutil.which(tool):
            raise Skip(f"{tool} is missing (scripts/install-deps installs sudo)")


def plugin_path(binary):
    path = os.path.join(os.path.dirname(os.path.dirname(binary)), "sudo", "sudo_auditdistd.so")
    check(os.path.exists(path), f"the plugin was not built: {path}")
    return path


@contextlib.contextmanager
def sudo_setup(plugin, socket_path, iolog_dir, options=""):
    """/etc/sudo.conf loads sudoers and our plugin (after sudoers' I/O
    plugin); sudoers logs I/O to `iolog_dir`. Both restored on exit."""
    saved = open(SUDO_CONF, "rb").read() if os.path.exists(SUDO_CONF) else None
    made_dir = not os.path.isdir(SUDOERS_D)
    try:
        write_sudo_conf(plugin, socket_path, options)
        os.makedirs(SUDOERS_D, exist_ok=True)
        with open(SUDOERS_FILE, "w") as f:
            f.write(f"Defaults log_output, log_input, iolog_dir={iolog_dir}\n")
        os.chmod(SUDOERS_FILE, 0o440)
        yield
    finally:
        if os.path.exists(SUDOERS_FILE):
            os.unlink(SUDOERS_FILE)
        if made_dir and os.path.isdir(SUDOERS_D) and not os.listdir(SUDOERS_D):
            os.rmdir(SUDOERS_D)
        if saved is None:
            if os.path.exists(SUDO_CONF):
                os.unlink(SUDO_CONF)
        else:
            with open(SUDO_CONF, "wb") as f:
                f.write(saved)


def write_sudo_conf(plugin, socket_path, options=""):
    with open(SUDO_CONF, "w") as f:
        f.write("Plugin sudoers_policy sudoers.so\nPlugin sudoers_io sudoers.so\n"
                f"Plugin sudo_auditdistd {plugin} socket={socket_path} timeout=5 {options}\n")


class SudoSite:
    """What every sudo scenario starts from (after require_sudo()): a
    receiver, and a daemon (`sudo` section, not started) whose sudo stream
    ships to it; the stream's directory and socket, sudoers' own I/O log
    directory, the built plugin. configure() rewrites the daemon's file
    (for a reload)."""

    def __init__(self, sc, rotate=""):
        self.recv, url, fp, self.host_dir = receiver_for(sc)
        self.directory = sc.path("sudo-trails")
        self.socket_path = sc.path("run", "sudo.sock")
        self.iolog_dir = sc.path("sudoers-io")
        self.plugin = plugin_path(sc.binary)
        self._sc, self._sender = sc, (url, fp, "s3cret")
        self.daemon = sc.daemon("sudo", self.configure(rotate), "collector")

    def configure(self, rotate=""):
        return sudo_config(self._sc, self.directory, self.socket_path, self._sender, rotate)


def sudo_config(sc, directory, socket_path, sender, rotate=""):
    url, fp, password = sender
    user = sc.collector_user()
    lines = ['name "cmdhost"', f'pidfile "{sc.path("sudo.pid")}"', "timeout 5",
             "sudo {", f'    socket "{socket_path}"', f'    directory "{directory}"',
             f'    user "{user}"' if user else "",
             "    sync_interval 1", "    heartbeat 1", f"    {rotate}", "}",
             "sender {", f'    directory "{directory}/dist"', '    host "collector" {',
             f'        remote "{url}"', f'        fingerprint "{fp}"',
             f'        password "{password}"', "    }", "}"]
    return sc.write_config("sudo.conf", "\n".join(lines) + "\n")


class Pty:
    """A command on its own pty (a new session: sudo's terminal is the pty)."""

    def __init__(self, argv, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env or {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                                                   "TERM": "xterm", "LANG": "C.UTF-8"})
            finally:
                os._exit(127)
        self.out = b""
        self.status = None

    def read_until(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while needle not in self.out and time.monotonic() < deadline:
            if not self.read_some(0.2):
                break
        check(needle in self.out, f"{needle!r} not seen on the pty; got {self.out[-400:]!r}")

    def read_until_count(self, needle, count, timeout=30):
        deadline = time.monotonic() + timeout
        while self.out.count(needle) < count and time.monotonic() < deadline:
            if not self.read_some(0.2):
                break
        check(self.out.count(needle) >= count,
              f"{needle!r} not seen {count} times on the pty; got {self.out[-400:]!r}")

    def read_some(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.out += data
        return bool(data)

    def write(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_some(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                while self.read_some(0.05):
                    if not self.read_some(0):
                        break
                os.close(self.fd)
                return self.status
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        check(False, f"pty command still running after {timeout} s; output {self.out[-400:]!r}")


def run_on_pty(argv, timeout=30):
    p = Pty(argv)
    p.wait(timeout)
    return p


def stream_records(directory):
    """Every record of the sudo stream's trail files in `directory`."""
    out = []
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if len(name) != 29 or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                if line:
                    out.append(json.loads(line))
    return out


def session_bytes(records, session, stream):
    return b"".join(base64.b64decode(r["data"]) for r in records
                    if r["type"] == "io" and r["session"] == session and r["stream"] == stream)


def extract(binary, host_dir, out, heartbeat):
    """`auditdistd sudo-extract` as nobody (it needs no privilege: the
    receiver's files are the daemon user's, nobody here). Returns stdout."""
    if not os.path.isdir(out):
        os.mkdir(out, 0o700)
        os.chown(out, 65534, 65534)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary,
                        "sudo-extract", "--heartbeat", str(heartbeat), host_dir, out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 0, f"sudo-extract exited {p.returncode}: {p.stderr.decode()}")
    check(b"running as root" not in p.stderr, "sudo-extract ran unprivileged")
    return p.stdout.decode()


def replay(iolog_dir, session_id):
    p = subprocess.run(["sudoreplay", "-d", iolog_dir, "-m", "0", session_id],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    check(p.returncode == 0, f"sudoreplay {iolog_dir} {session_id}: {p.stderr.decode()}")
    return p.stdout
