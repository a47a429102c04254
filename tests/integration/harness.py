"""Shared helpers of the auditdistd integration tests (Python 3 stdlib only).

Each scenario is a script `test_*.py` that calls `run_scenario(name, body)`.
`body(sc)` gets a `Scenario`: a private directory tree under /tmp, helpers to
make certificates, configuration files and trail files, and `Daemon` objects
that run the auditdistd binary in the foreground with stderr captured in a
log file. Every wait is bounded (default 60 s) and every loop is bounded in
iterations and time. On failure the tail of every daemon log is printed and
the directory is kept; on success it is removed (set ADIST_KEEP=1 to keep it).

The binary is taken from the first command-line argument, else from the
AUDITDISTD environment variable, else ../../build/daemon/auditdistd relative
to this file. Only loopback addresses (127.0.0.1, ::1) are used.

Exit codes of a scenario script: 0 PASS, 1 FAIL, 77 SKIP (ctest's
SKIP_RETURN_CODE).
"""

import datetime
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT = 60.0
EX_CONFIG = 78
SKIP_CODE = 77
# A sanitized build (scripts/test --sanitize or --tsan sets these): every
# process start and exit costs more, on cores the other tests share.
SANITIZED = any(v in os.environ for v in ("ASAN_OPTIONS", "TSAN_OPTIONS"))
# Seconds from SIGTERM to exit: the daemon's grace period is 5 s. Under the
# sanitizers the teardown of a 50 MB instrumented binary (the supervisor's
# exit after its worker's, LeakSanitizer's scan) took 6 to 12 s on 2 loaded
# cores while the worker itself had stopped within 0.3 s: the limit there
# bounds a hang, not the grace period.
SHUTDOWN_LIMIT = 20.0 if SANITIZED else 6.0
MiB = 1024 * 1024


# --------------------------------------------------------------------------
# Failures, skips, bounded waiting


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    pass


def check(cond, message):
    """Raises TestFailure(message) when cond is false."""
    if not cond:
        raise TestFailure(message)


def check_equal(got, expected, what):
    if got != expected:
        raise TestFailure(f"{what}: expected {expected!r}, got {got!r}")


def wait_until(pred, timeout=DEFAULT_TIMEOUT, interval=0.02, what="condition", alive=()):
    """Polls pred() until it returns a true value (returned) or `timeout`
    seconds pass (TestFailure). `alive`: daemons that must keep running while
    we wait (fail fast if one dies). Bounded in time and in iterations."""
    deadline = time.monotonic() + timeout
    max_iterations = int(timeout / max(interval, 0.001)) * 2 + 10
    for _ in range(max_iterations):
        value = pred()
        if value:
            return value
        for d in alive:
            d.assert_running(f"while waiting for {what}")
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    value = pred()
    if value:
        return value
    raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}")


# --------------------------------------------------------------------------
# Binary, ports, files


def binary_path():
    if len(sys.argv) > 1 and sys.argv[1]:
        path = sys.argv[1]
    elif os.environ.get("AUDITDISTD"):
        path = os.environ["AUDITDISTD"]
    else:
        path = os.path.join(HERE, "..", "..", "build", "daemon", "auditdistd")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise TestFailure(f"auditdistd binary not found or not executable: {path}")
    return path


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            with socket.create_connection(("::1", port), timeout=2):
                pass
        return True
    except OSError:
        return False


def sha256_file(path, block=4 * MiB):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for _ in range(1 << 30):  # bounded: 4 PiB at 4 MiB a block
            b = f.read(block)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def file_size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1


def file_attributes(path):
    """lsattr's flags of `path` ("----ia---..."): i immutable, a append-only."""
    out = subprocess.run(["lsattr", "-d", path], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def tcp_listening(port):
    """A predicate for wait_until(): something listens on TCP `port`. Asked
    of the kernel (ss), not by connecting: a probe connection would be a
    peer the listener logs and refuses."""
    def probe():
        r = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                           text=True, timeout=10)
        return str(port) in r.stdout
    return probe


def write_random_file(path, size, block=MiB):
    """Writes `size` random bytes (os.urandom in 1 MiB blocks, so the content
    is never uniform) and returns their sha256 hex digest."""
    h = hashlib.sha256()
    left = size
    with open(path, "wb") as f:
        while left > 0:
            b = os.urandom(min(block, left))
            f.write(b)
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def wait_size_stable(path, quiet=0.2, timeout=DEFAULT_TIMEOUT, alive=()):
    """Waits until the size of `path` has not changed for `quiet` seconds;
    returns that size."""
    last = [file_size(path), time.monotonic()]

    def stable():
        size, now = file_size(path), time.monotonic()
        if size != last[0]:
            last[0], last[1] = size, now
            return False
        return now - last[1] >= quiet

    wait_until(stable, timeout=timeout, interval=0.02, what=f"the size of {path} to settle",
               alive=alive)
    return last[0]


def list_files(directory):
    """All non-directory entries under `directory` (relative paths, sorted)."""
    out = []
    if not os.path.isdir(directory):
        return out
    for root, dirs, files in os.walk(directory):
        for name in files:
            out.append(os.path.relpath(os.path.join(root, name), directory))
        for name in dirs:  # symlinks to directories are listed as entries too
            if os.path.islink(os.path.join(root, name)):
                out.append(os.path.relpath(os.path.join(root, name), directory))
    return sorted(out)


def snapshot(directory):
    """{name: (size, mtime_ns, sha256)} of the regular files in `directory`."""
    out = {}
    for name in sorted(os.listdir(directory)):
        p = os.path.join(directory, name)
        st = os.lstat(p)
        out[name] = (st.st_size, st.st_mtime_ns, sha256_file(p))
    return out


_BASE_TIME = datetime.datetime(2026, 1, 1, 0, 0, 0)


def timestamp(index, minutes=0):
    t = _BASE_TIME + datetime.timedelta(hours=index, minutes=minutes)
    return t.strftime("%Y%m%d%H%M%S")


def trail_name(index, kind="terminated"):
    """Trail file name number `index` (names grow with the index):
    start.end, start.not_terminated or start.crash_recovery."""
    start = timestamp(index)
    if kind == "terminated":
        return start + "." + timestamp(index, minutes=59)
    if kind in ("not_terminated", "crash_recovery"):
        return start + "." + kind
    raise ValueError(kind)


def fmt_rate(nbytes, seconds):
    return f"{nbytes / MiB / max(seconds, 1e-9):.1f} MiB/s"


# --------------------------------------------------------------------------
# Daemons


def run_config_check(binary, conf, private_var_audit=False, wrapper=()):
    """Runs `auditdistd -n -c conf`; returns (exit code, stdout, stderr).
    private_var_audit: as root, in a mount namespace of its own with an
    empty /var/audit (-n checks the default directories that exist)."""
    # As root the check includes the daemon user, as the start does: the
    # one the daemons of the tests drop to.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    wrap = []
    if private_var_audit and os.geteuid() == 0 and os.path.isdir("/var/audit"):
        wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o mode=0755 adist-check /var/audit && exec "$@"', "sh"]
    p = subprocess.run(wrap + list(wrapper) + [binary, "-n", "-c", conf] + user,
                       stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def checkable_config(sc, text):
    """A configuration written for a real machine made checkable by -n on
    any machine: a receiver is given a generated certificate and key unless
    it names its own (-n loads them, as the start does). Check it with
    private_var_audit=True so that what other tests or an installed package
    left in /var/audit (the default directories) does not count."""
    if re.search(r"^\s*receiver\s*\{", text, re.M) and "certfile" not in text:
        cert, key, _ = sc.make_cert("checkable")
        text = re.sub(r"^(\s*)receiver\s*\{", lambda m: f'{m.group(1)}receiver {{\n'
                      f'    certfile "{cert}"\n    keyfile "{key}"', text, count=1, flags=re.M)
    return text


def assert_config_ok(binary, conf, private_var_audit=False, wrapper=()):
    """-n as the daemon will run (`wrapper`, e.g. setpriv to another user)."""
    code, out, err = run_config_check(binary, conf, private_var_audit, wrapper)
    if code != 0 or "configuration OK" not in out:
        raise TestFailure(f"auditdistd -n -c {conf} did not accept the configuration "
                          f"(exit {code}): {out.strip()} {err.strip()}")


SANITIZER_PATTERN = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error:")


def proc_status(pid):
    """/proc/<pid>/status as {field: value} (OSError when the process is gone)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def group_processes(pgrp):
    """(pid, fields of /proc/<pid>/stat after the command name) of every
    process in process group `pgrp`; processes gone meanwhile are skipped."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgrp:
            yield int(entry), fields


class Daemon:
    """One auditdistd process (-F: foreground, log to stderr), restartable.
    All runs append to one log file; wait_log() looks at the current run only
    unless told otherwise (`since`, an offset returned by mark())."""

    def __init__(self, sc, label, conf, role, extra_args=()):
        self.sc = sc
        self.label = label
        self.conf = conf
        self.role = role  # "sender" or "receiver"
        self.extra_args = list(extra_args)
        # Command prefix, e.g. ["setpriv", "--reuid=65534", ...]: it must exec
        # the daemon (so that pid, signals and kill -9 reach the daemon).
        self.wrapper = []
        self.log_path = os.path.join(sc.root, f"{label}.log")
        self.proc = None
        self.runs = 0
        self.run_offset = 0
        self.expect_running = False
        self.term_sent_run = 0
        self.term_sent_at = None
        self.last_stop_seconds = None
        self.stopped_run = 0  # the run whose exit stop() already waited for

    # -- process control
    def start(self, ready=True, debug=False):
        check(self.proc is None or self.proc.poll() is not None,
              f"{self.label}: start() while it is still running")
        if os.geteuid() == 0 and self.role == "sender":
            # Both roles drop privileges; the sender removes shipped links
            # as the owner of its dist directory, as in production (and -n
            # checks that, as the start does).
            give_directories(self.conf, "nobody")
        assert_config_ok(self.sc.binary, self.conf, wrapper=self.wrapper)
        self.runs += 1
        args = [*self.wrapper, self.sc.binary, "-F", "-c", self.conf]
        # ADIST_PROTOCOL_VERSION=0 runs a scenario with both daemons speaking
        # exactly FreeBSD's protocol (scripts/test --protocol 0).
        if os.environ.get("ADIST_PROTOCOL_VERSION") and "--protocol-version" not in self.extra_args:
            args += ["--protocol-version", os.environ["ADIST_PROTOCOL_VERSION"]]
        if debug:
            args.append("-d")
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
            # The supervisor's ledger signing key: the scenario's, never
            # the machine's /var/lib/auditdistd. Every role: a config of
            # any role may hold a receiver section.
            if "--ledger-key" not in self.extra_args:
                args += ["--ledger-key", os.path.join(self.sc.root, "ledger-key")]
        # The sender's digest checkpoints: the scenario's, never the
        # machine's /var/lib/auditdistd (scenarios share host names). Every
        # role: a collector's daemon may ship its own files too.
        if "--digest-state" not in self.extra_args:
            args += ["--digest-state", os.path.join(self.sc.root, "digests")]
        args += self.extra_args
        with open(self.log_path, "ab") as log:
            log.write(f"----- {self.label} run {self.runs}: {' '.join(args)}\n".encode())
            log.flush()
            self.run_offset = log.tell()
            # Its own process group: a receiver that drops privileges is two
            # processes (root supervisor, worker), and SIGSTOP/SIGCONT and
            # kill -9 must reach both, as they would for a whole service.
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         close_fds=True, start_new_session=True)
        self.expect_running = True
        if ready:
            # As root, a collector is a process of its own: both say it.
            both = self.role == "collector" and os.geteuid() == 0
            self.wait_log(r"auditdistd started", timeout=30, count=2 if both else 1)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self):
        """User plus system CPU time so far of the daemon's processes (its
        process group: the supervisor and the worker of a receiver that
        dropped privileges), from /proc."""
        ticks = sum(int(f[11]) + int(f[12]) for _, f in group_processes(self.pid))
        return ticks / os.sysconf("SC_CLK_TCK")

    def assert_running(self, context=""):
        if self.expect_running and not self.running():
            self.expect_running = False
            raise TestFailure(f"{self.label} exited unexpectedly with status "
                              f"{self.proc.returncode} {context}".rstrip())

    def kill9(self):
        check(self.running(), f"{self.label}: kill9() but it is not running")
        self.expect_running = False
        os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        check_equal(code, -signal.SIGKILL, f"{self.label} exit status after SIGKILL")
        # The worker (a child of the supervisor we waited for) may finish a
        # write it is in before it dies: only then is its file final.
        wait_until(lambda: all(f[0] == "Z" for _, f in group_processes(self.proc.pid)), timeout=10,
                   interval=0.005, what=f"every process of {self.label} to be gone")

    def send_signal(self, sig):
        """SIGSTOP/SIGCONT and the like, to the whole process group; SIGHUP
        goes to the main process only (its supervisor, if any, handles it)."""
        check(self.running(), f"{self.label}: signal {sig} but it is not running")
        if sig == signal.SIGHUP:
            os.kill(self.proc.pid, sig)
        else:
            os.killpg(self.proc.pid, sig)

    def terminate(self):
        """Sends SIGTERM once per run (stop() waits for the exit)."""
        if self.running() and self.term_sent_run != self.runs:
            self.term_sent_run = self.runs
            self.term_sent_at = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout=15, expect_code=0):
        """SIGTERM, wait up to `timeout` s, then SIGKILL. Asserts a clean exit
        (status `expect_code`) within the time."""
        if self.proc is None:
            return
        if self.proc.poll() is not None and self.term_sent_run != self.runs:
            was = self.expect_running
            self.expect_running = False
            if was:
                raise TestFailure(f"{self.label} had already exited with status "
                                  f"{self.proc.returncode if self.proc else None}")
            return
        if self.proc.poll() is not None and self.stopped_run == self.runs:
            # Stopped already (a second stop_all): measured then, not again
            # from the same SIGTERM, which would count the time in between.
            return
        self.expect_running = False
        self.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise TestFailure(f"{self.label} did not exit within {timeout} s of SIGTERM; killed")
        self.last_stop_seconds = time.monotonic() - self.term_sent_at
        self.stopped_run = self.runs
        check_equal(code, expect_code, f"{self.label} exit status after SIGTERM")

    def force_kill(self):
        """Cleanup only: no assertion."""
        self.expect_running = False
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass

    # -- log
    def text(self, since=None):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.run_offset if since is None else since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def full_text(self):
        return self.text(since=0)

    def mark(self):
        """Offset of the end of the log now: pass as `since` to wait_log()."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def wait_log(self, regex, timeout=DEFAULT_TIMEOUT, since=None, count=1, must_run=True):
        """Waits until `regex` matches `count` times in the log (current run,
        or from offset `since`); returns the last match. Fails early if the
        daemon exits (unless must_run is false)."""
        pattern = re.compile(regex)

        def found():
            matches = list(pattern.finditer(self.text(since)))
            return matches[count - 1] if len(matches) >= count else None

        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) * 2 + 10):
            m = found()
            if m:
                return m
            if must_run and self.expect_running and not self.running():
                m = found()
                if m:
                    return m
                self.expect_running = False
                raise TestFailure(f"{self.label} exited with status {self.proc.returncode} "
                                  f"before logging /{regex}/")
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        m = found()
        if m:
            return m
        raise TestFailure(f"{self.label}: /{regex}/ not logged within {timeout:.0f} s"
                          + (f" ({count} times)" if count > 1 else ""))

    def count_log(self, regex, since=0):
        return len(re.findall(regex, self.text(since)))

    def tail(self, lines=40):
        return "\n".join(self.full_text().splitlines()[-lines:])


# --------------------------------------------------------------------------
# Scenario: directory tree, certificates, configurations


KEY_OPTIONS = {
    "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "rsa": ["-newkey", "rsa:3072"],
    "ed25519": ["-newkey", "ed25519"],
}


class Scenario:
    def __init__(self, name):
        self.name = name
        self.binary = binary_path()
        self.root = tempfile.mkdtemp(prefix=f"adist-it-{name}-", dir="/tmp")
        # The receiver drops to an unprivileged user: the tree must be
        # traversable (the host directories themselves it creates and owns).
        os.chmod(self.root, 0o755)
        self.daemons = []
        self.notes = []
        self.cleanups = []  # run at the end whatever happens (run_scenario)
        self._collector_user = None

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def mkdir(self, *parts, mode=0o755):
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        return p

    def collector_user(self):
        """A system user and group of this scenario's own for the collector
        process (`user` in the collector section), made once when root and
        removed at the end whatever happens; None when not root."""
        if os.geteuid() != 0:
            return None
        if self._collector_user is None:
            name = f"adistcl{os.getpid()}"
            self.cleanups.append(lambda: remove_user(name))
            create_system_user(name)
            self._collector_user = name
        return self._collector_user

    def run_cleanups(self):
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception as e:  # noqa: BLE001 - one failing must not skip the others
                print(f"  [{self.name}] cleanup failed: {e}", flush=True)

    def note(self, message):
        """Prints a progress line (and keeps it for the final summary)."""
        line = f"  [{self.name}] {message}"
        print(line, flush=True)
        self.notes.append(message)

    # -- certificates
    def make_cert(self, cn="receiver", key_type="ec"):
        """Self-signed certificate made with the openssl CLI; key_type is
        "ec" (ECDSA P-256, the default), "rsa" (3072 bits) or "ed25519".
        Returns (certfile, keyfile, fingerprint "SHA256=AA:..."). The daemon's
        `fingerprint` command is checked against our own SHA-256 of the DER
        and against `openssl x509 -fingerprint -sha256`."""
        d = self.mkdir("certs")
        cert = os.path.join(d, f"{cn}.cert.pem")
        key = os.path.join(d, f"{cn}.key.pem")
        p = subprocess.run(
            ["openssl", "req", "-x509", *KEY_OPTIONS[key_type],
             "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={cn}"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"openssl req failed: {p.stderr.strip()}")
        os.chmod(key, 0o600)
        with open(cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        digest = hashlib.sha256(der).hexdigest().upper()
        ours = "SHA256=" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))
        p = subprocess.run([self.binary, "fingerprint", cert], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"auditdistd fingerprint failed: {p.stderr.strip()}")
        check_equal(p.stdout.strip(), ours, "auditdistd fingerprint output")
        # The FreeBSD recipe: openssl x509 -noout -fingerprint -sha256 -in cert
        # prints "sha256 Fingerprint=AA:..." (the case of the prefix varies).
        o = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        check(o.returncode == 0, f"openssl x509 -fingerprint failed: {o.stderr.strip()}")
        check_equal("SHA256=" + o.stdout.strip().split("=", 1)[1], ours,
                    "auditdistd fingerprint next to openssl x509 -fingerprint -sha256")
        return cert, key, ours

    # -- configuration files
    def write_config(self, filename, text):
        p = self.path(filename)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return p

    def receiver_config(self, filename, listen, directory, cert, key, hosts, timeout=5):
        """hosts: list of (name, remote address, password)."""
        lines = ['pidfile "none"', f"timeout {timeout}", "receiver {"]
        for entry in ([listen] if isinstance(listen, str) else listen):
            lines.append(f'    listen "{entry}"')
        lines += [f'    directory "{directory}"', f'    certfile "{cert}"', f'    keyfile "{key}"']
        for name, remote, password in hosts:
            lines += [f'    host "{name}" {{', f'        remote "{remote}"',
                      f'        password "{password}"', "    }"]
        lines.append("}")
        return self.write_config(filename, "\n".join(lines) + "\n")

    def sender_config(self, filename, name, directory, hosts, timeout=5):
        """hosts: list of (name, remote URL, fingerprint, password)."""
        lines = [f'name "{name}"', 'pidfile "none"', f"timeout {timeout}", "sender {",
                 f'    directory "{directory}"']
        for hname, remote, fingerprint, password in hosts:
            lines += [f'    host "{hname}" {{', f'        remote "{remote}"',
                      f'        fingerprint "{fingerprint}"', f'        password "{password}"',
                      "    }"]
        lines.append("}")
        return self.write_config(filename, "\n".join(lines) + "\n")

    # -- daemons
    def daemon(self, label, conf, role, extra_args=()):
        d = Daemon(self, label, conf, role, extra_args)
        self.daemons.append(d)
        return d

    def stop_all(self, timeout=15):
        """Stops every running daemon (SIGTERM to all first, so they shut down
        in parallel), asserting clean exits."""
        for d in self.daemons:
            d.terminate()
        errors = []
        for d in self.daemons:
            try:
                d.stop(timeout=timeout)
            except TestFailure as e:
                errors.append(str(e))
        check(not errors, "; ".join(errors))
        for d in self.daemons:
            # run.cpp bounds the shutdown grace period at 5 s.
            if d.last_stop_seconds is not None:
                check(d.last_stop_seconds < SHUTDOWN_LIMIT,
                      f"{d.label} took {d.last_stop_seconds:.1f} s to exit after SIGTERM "
                      f"(limit {SHUTDOWN_LIMIT} s)")

    def kill_all(self):
        for d in self.daemons:
            d.force_kill()

    def check_sanitizers(self):
        for d in self.daemons:
            m = SANITIZER_PATTERN.search(d.full_text())
            check(m is None, f"{d.label} log shows a sanitizer report: {m.group(0) if m else ''}")

    def dump_logs(self, lines=40):
        for d in self.daemons:
            print(f"----- last {lines} lines of {d.log_path}", flush=True)
            print(d.tail(lines), flush=True)

    # -- the usual pair: one receiver, one sender named web1
    def pair_dirs(self):
        """dist/ and source/ of the sender named web1, remote/ of the receiver
        (made by the receiver) and its host directory remote/web1."""
        self.dist = self.mkdir("dist")
        self.source = self.mkdir("source")
        self.remote = self.path("remote")
        self.host_dir = os.path.join(self.remote, "web1")

    def standard_pair(self, password="s3cret", host="127.0.0.1", sender_args=(),
                      receiver_args=(), timeout=5):
        """Makes dist/, source/, remote/, a certificate and the configs of a
        receiver (host "web1" at `host`) and a sender named "web1"; returns
        (receiver, sender) Daemon objects, not started. The receiver stores
        the files in self.host_dir."""
        self.pair_dirs()
        cert, key, fp = self.make_cert("receiver")
        self.port = free_port(host)
        bracketed = f"[{host}]" if ":" in host else host
        url = f"tls://{bracketed}:{self.port}"
        rconf = self.receiver_config("receiver.conf", url, self.remote, cert, key,
                                     [("web1", host, password)], timeout=timeout)
        sconf = self.sender_config("sender.conf", "web1", self.dist,
                                   [("collector", url, fp, password)], timeout=timeout)
        recv = self.daemon("receiver", rconf, "receiver", receiver_args)
        send = self.daemon("sender", sconf, "sender", sender_args)
        return recv, send

    def add_trail(self, name, size=None, data=None, link=True):
        """Creates source/<name> (random `size` bytes, or `data`) and hard-links
        it as dist/<name>, as auditd does. Returns (size, sha256)."""
        src = os.path.join(self.source, name)
        if data is None:
            digest = write_random_file(src, size)
        else:
            with open(src, "wb") as f:
                f.write(data)
            digest = hashlib.sha256(data).hexdigest()
            size = len(data)
        if link:
            os.link(src, os.path.join(self.dist, name))
        return size, digest

    def remote_file(self, name):
        return os.path.join(self.host_dir, name)


class GrowingTrail:
    """A `.not_terminated` trail the test writes like auditd: source/<name>
    hard-linked as dist/<name>, appended to, then renamed in both places.
    Keeps the size and sha256 of everything written."""

    def __init__(self, sc, index):
        self.sc = sc
        self.name = trail_name(index, "not_terminated")
        self.index = index
        self.hash = hashlib.sha256()
        self.size = 0
        open(os.path.join(sc.source, self.name), "xb").close()
        os.link(os.path.join(sc.source, self.name), os.path.join(sc.dist, self.name))

    def append(self, n=None, data=None):
        if data is None:
            data = os.urandom(n)
        n = len(data)
        with open(os.path.join(self.sc.source, self.name), "ab") as f:
            f.write(data)
        self.hash.update(data)
        self.size += n

    def rename(self, kind):
        new = trail_name(self.index, kind)
        for d in (self.sc.dist, self.sc.source):
            os.rename(os.path.join(d, self.name), os.path.join(d, new))
        self.name = new


def user_db_command(argv, done):
    """Runs useradd/userdel/groupdel until `done()` holds: another scenario
    running in parallel may hold the lock of /etc/passwd (the command then
    fails at once). Bounded: 100 tries, 0.1 s apart."""
    for _ in range(100):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        if done():
            return True
        time.sleep(0.1)
    return False


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def create_system_user(name):
    """Creates a system user and group `name` with no home and no shell (for
    a collector process); one left by an interrupted run is replaced."""
    if user_exists(name) or group_exists(name):
        remove_user(name)
    check(user_db_command(["useradd", "--system", "--user-group", "-M", "-d",
                           "/nonexistent", "-s", "/usr/sbin/nologin", name],
                          lambda: user_exists(name)), f"cannot create user {name}")


def remove_user(name):
    """Removes a user made by a scenario, and its group."""
    check(user_db_command(["userdel", "-f", name], lambda: not user_exists(name)),
          f"cannot remove user {name}")
    check(user_db_command(["groupdel", name], lambda: not group_exists(name)),
          f"cannot remove group {name}")


def give_directories(conf, user):
    """Gives the existing directories a config names to `user` (not
    recursively): a sender started as root runs as that user."""
    pw = pwd.getpwnam(user)
    with open(conf) as f:
        for m in re.finditer(r'^\s*directory\s+"?([^"\s]+)"?', f.read(), re.M):
            if os.path.isdir(m.group(1)) and not os.path.islink(m.group(1)):
                os.chown(m.group(1), pw.pw_uid, pw.pw_gid)


def clear_trail_attributes(root):
    """The receiver makes trails append-only and immutable (chattr +a/+i);
    as root, lift that so the tree can be removed."""
    if os.geteuid() == 0 and shutil.which("chattr") and os.path.isdir(root):
        subprocess.run(["chattr", "-R", "-f", "-i", "-a", root], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def prune_large_files(root, limit=8 * MiB):
    """After a failure the tree is kept for the logs and configs; data files
    over `limit` go (unless ADIST_KEEP is set) so /tmp does not fill up."""
    if os.environ.get("ADIST_KEEP"):
        return 0
    count = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
                if st.st_size > limit and st.st_blocks * 512 > limit:
                    os.unlink(p)
                    count += 1
            except OSError:
                pass
    return count


def run_scenario(name, body):
    """Runs body(Scenario) and exits: 0 PASS, 1 FAIL, 77 SKIP."""
    started = time.monotonic()
    sc = None
    try:
        sc = Scenario(name)
        print(f"  [{name}] binary {sc.binary}, directory {sc.root}", flush=True)
        body(sc)
        sc.stop_all()
        sc.run_cleanups()
        sc.check_sanitizers()
    except Skip as e:
        if sc:
            sc.kill_all()
            sc.run_cleanups()
            # Nothing to look at in a skipped scenario's directory.
            clear_trail_attributes(sc.root)
            shutil.rmtree(sc.root, ignore_errors=True)
        print(f"SKIP: {name}: {e}", flush=True)
        sys.exit(SKIP_CODE)
    except BaseException as e:  # noqa: BLE001 - report everything, then exit 1
        if sc:
            sc.kill_all()
            sc.run_cleanups()
        traceback.print_exc()
        if sc:
            sc.dump_logs()
            clear_trail_attributes(sc.root)
            pruned = prune_large_files(sc.root)
            print(f"  [{name}] files kept in {sc.root}"
                  + (f" ({pruned} large data files deleted)" if pruned else ""), flush=True)
        elapsed = time.monotonic() - started
        reason = str(e) or type(e).__name__
        print(f"FAIL: {name}: {reason} ({elapsed:.1f} s)", flush=True)
        sys.exit(1)
    elapsed = time.monotonic() - started
    if os.environ.get("ADIST_KEEP"):
        print(f"  [{name}] files kept in {sc.root}", flush=True)
    else:
        clear_trail_attributes(sc.root)
        shutil.rmtree(sc.root, ignore_errors=True)
    print(f"PASS: {name} ({elapsed:.1f} s)", flush=True)
    sys.exit(0)


def partial_transfer(sc, index, size, timeout=5):
    """Starts the standard pair, ships one `size`-byte trail and returns once
    the receiver holds a third of it but not all: (recv, send, name, digest,
    path of the receiver's copy). Used to freeze a peer mid-transfer."""
    recv, send = sc.standard_pair(timeout=timeout)
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    name = trail_name(index)
    _, digest = sc.add_trail(name, size)
    remote = sc.remote_file(name)
    wait_until(lambda: file_size(remote) >= size // 3 or not os.path.exists(
        os.path.join(sc.dist, name)), timeout=30, interval=0.001,
        what="a third of the file at the receiver", alive=(recv, send))
    check(file_size(remote) < size, "the file was complete before the sender could be frozen")
    return recv, send, name, digest, remote


# --------------------------------------------------------------------------
# Interrupted transfers (test_kill_receiver.py, test_kill_sender.py)


def interrupted_transfer(sc, steps, size=128 * MiB, sender_args=()):
    """Ships one `size`-byte trail and interrupts it at each step
    (victim, how, fraction): once the receiver's copy has passed `fraction`
    of the size (but is not complete), the victim ("receiver" or "sender")
    is killed (how="kill": SIGKILL) or stopped (how="term": SIGTERM, which
    must give a clean exit), then restarted. After each restart the sender
    must resume exactly at the size of the receiver's copy (checked in both
    logs). In the end the copy must be byte-identical: same size (no byte
    lost or written twice) and same sha256, and the dist link removed."""
    recv, send = sc.standard_pair(sender_args=sender_args)
    daemons = {"receiver": recv, "sender": send}
    recv.start()
    send.start()
    send.wait_log(r"connected to .*; receiver has no file yet")
    name = trail_name(30)
    size, digest = sc.add_trail(name, size)
    remote = sc.remote_file(name)
    dist_link = os.path.join(sc.dist, name)
    started = time.monotonic()
    for n, (victim, how, fraction) in enumerate(steps, 1):
        target = daemons[victim]
        point = int(size * fraction)
        mark, rmark = send.mark(), recv.mark()
        wait_until(lambda: file_size(remote) >= point or not os.path.exists(dist_link),
                   timeout=60, interval=0.001,
                   what=f"the receiver's copy to pass {fraction:.0%}", alive=(recv, send))
        at = file_size(remote)
        check(os.path.exists(dist_link) and at < size,
              f"step {n}: the transfer finished before the interruption point {fraction:.0%} "
              f"(the copy has {at} of {size} bytes): cannot interrupt it")
        if how == "kill":
            target.kill9()
        else:
            target.stop()
        if victim == "sender":
            # The receiver still writes what it had already read: wait until
            # it noticed the end of the connection.
            recv.wait_log(r"connection closed|connection lost|no data for", since=rmark)
        held = file_size(remote)
        check(held <= size, f"step {n}: the copy has {held} bytes, more than the {size} sent")
        sc.note(f"step {n}: {victim} {'killed' if how == 'kill' else 'stopped'} with {at} bytes "
                f"at the receiver ({at / size:.0%}); the copy holds {held} bytes")
        target.start()
        m = send.wait_log(rf"resuming {name} at offset (\d+)", since=mark, timeout=60)
        r = recv.wait_log(rf"authenticated; resume point {name} at (\d+)", since=rmark)
        check_equal(int(r.group(1)), held, f"step {n}: the receiver's resume point vs. the size "
                                           f"of its copy")
        check_equal(int(m.group(1)), held, f"step {n}: the sender's resume offset vs. the size "
                                           f"of the receiver's copy")
    wait_until(lambda: not os.path.exists(dist_link), timeout=120,
               what=f"the dist link {name} to be removed", alive=(recv, send))
    elapsed = time.monotonic() - started
    send.wait_log(rf"shipped {name}\b", timeout=5)
    check_equal(file_size(remote), size, f"size of the receiver's {name} (no byte lost or "
                                         f"duplicated)")
    check_equal(sha256_file(remote), digest, f"sha256 of the receiver's {name}")
    check_equal(list_files(sc.host_dir), [name], "files in the receiver's host directory")
    sc.note(f"{len(steps)} interruptions; {size // MiB} MiB identical after {elapsed:.1f} s")
