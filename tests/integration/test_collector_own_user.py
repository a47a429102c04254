#!/usr/bin/env python3
"""The collector as a process and user of its own (issue 14): started as
root with a collector section and a sender of its dist, the daemon is a root
supervisor and two children. Asserted from /proc/<pid>/status and by trying:
  - the collector process runs as the collector's user and group only (all
    four uids and gids, no supplementary group), with no capability at all
    (effective, permitted, inheritable, ambient, bounding), NoNewPrivs 1,
    Seccomp 2 (filter), and is not dumpable (its /proc entries are root's);
  - the worker runs as the daemon user (-u), Seccomp 2, CAP_DAC_READ_SEARCH
    only, and holds no descriptor of the collector's files, directory or
    sockets (the collector socket and the collector's status socket,
    matched by inode in /proc/net/unix), nor the collector process one of
    the worker's status socket;
  - the worker's user cannot write, create in or remove from the
    collector's directory, nor append to its files; the collector's user
    cannot read a dist directory of the sender's nor the receiver's trails,
    nor append to them;
  - dist belongs to the sender's user, group the collector's, 0770;
  - records flow end to end (client -> collector -> dist -> sender ->
    receiver), each exactly once;
  - the collector process is an image of its own (exec'd, so that nothing
    of the daemon's memory survives): no byte of the hosts' password is in
    its memory, at the start nor after a SIGHUP, while the worker's holds it
    (which shows that the look finds it);
  - READY=1 reaches systemd only once both children serve; SIGHUP
    reloads in both children; kill -9 of the collector process alone
    stops the worker and the daemon exits 137 (the service manager restarts
    the whole daemon);
  - -n refuses a collector user that is the daemon user, root, or missing."""
import os
import re
import pwd
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, group_processes, proc_status,  # noqa: E402
                     run_config_check, run_scenario, wait_until)
from collector_util import collector_setup, commands, receiver_for  # noqa: E402

CAP_DAC_READ_SEARCH = 1 << 2


def status(pid):
    """/proc/<pid>/status, each value split into its words."""
    return {key: value.split() for key, value in proc_status(pid).items()}


def children_by_uid(daemon):
    """{uid: pid} of the daemon's process group (supervisor, worker, collector)."""
    found = {}
    for pid, _ in group_processes(daemon.pid):
        try:
            found[int(status(pid)["Uid"][0])] = pid
        except (OSError, KeyError):
            pass
    return found


def as_user(user, code):
    """Runs python `code` as `user` (its group only); returns the exit code:
    0 = the operation succeeded, 13 = it was refused with EACCES/EPERM."""
    wrapped = ("import sys\ntry:\n" + "".join(f"    {line}\n" for line in code.splitlines())
               + "except PermissionError:\n    sys.exit(13)\n")
    pw = pwd.getpwnam(user)
    # An interpreter every user can run (sys.executable may be under /root).
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    return subprocess.run([python, "-c", wrapped], user=pw.pw_uid, group=pw.pw_gid,
                          extra_groups=[], timeout=30).returncode


def check_refused(user, code, what):
    check_equal(as_user(user, code), 13, f"{user}: {what} (13 = refused)")


def check_collector_process(st, coll):
    check(all(int(u) == coll.pw_uid for u in st["Uid"]), f"collector uids {st['Uid']}")
    check(all(int(g) == coll.pw_gid for g in st["Gid"]), f"collector gids {st['Gid']}")
    check_equal(st.get("Groups", []), [str(coll.pw_gid)], "collector's supplementary groups")
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        check_equal(int(st[cap][0], 16), 0, f"collector {cap}")
    check_equal(st["NoNewPrivs"], ["1"], "collector NoNewPrivs")
    check_equal(st["Seccomp"], ["2"], "collector Seccomp")


def resident_mappings(pid):
    """(start, end) of each readable mapping of `pid` with pages in memory
    (smaps' Rss) and at most 1 GiB: a sanitizer's shadow is terabytes, and
    reading it through /proc/<pid>/mem would map every page of it."""
    out, current = [], None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            first = line.split()[0]
            if "-" in first and not first.endswith(":"):
                span, perms = line.split()[:2]
                start, end = (int(x, 16) for x in span.split("-"))
                current = (start, end) if "r" in perms and end - start <= 1 << 30 else None
            elif first == "Rss:" and current and int(line.split()[1]) > 0:
                out.append(current)
    return out


def memory_holds(pid, needle):
    """Whether a readable, resident mapping of process `pid` holds `needle`
    (read as root through /proc/<pid>/mem)."""
    tail = len(needle) - 1
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for start, end in resident_mappings(pid):
            prev = b""
            for off in range(start, end, 1 << 20):
                try:
                    mem.seek(off)
                    chunk = mem.read(min(1 << 20, end - off))
                except OSError:
                    prev = b""
                    continue
                if needle in prev + chunk:
                    return True
                prev = chunk[-tail:]
    return False


def check_no_password(coll_pid, worker_pid, password, known, when):
    """`known`: bytes the collector process holds (its socket's path): the
    look must find them there, as it finds the password in the worker."""
    check(memory_holds(worker_pid, password), f"{when}: the worker's memory lacks the password: "
          "the look cannot find it")
    check(memory_holds(coll_pid, known), f"{when}: the collector process's memory lacks "
          f"{known!r}: the look cannot read it")
    check(not memory_holds(coll_pid, password), f"{when}: the collector process's memory holds "
          "the hosts' password")
    with open(f"/proc/{coll_pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    check_equal(argv[:2], [b"auditdistd", b"collector-process"], "the collector process's argv")
    with open(f"/proc/{coll_pid}/comm") as f:
        check_equal(f.read().strip(), "auditdistd", "the collector process's name")


def check_files(directory, coll, worker, trails):
    files = [os.path.join(directory, n) for n in os.listdir(directory) if len(n) == 29]
    check(files, "the collector wrote no file")
    for f in files:
        st = os.stat(f)
        check_equal((st.st_uid, st.st_mode & 0o7777), (coll.pw_uid, 0o600), f"owner/mode of {f}")
        check_refused(worker.pw_name, f"open({f!r}, 'ab').write(b'x')", f"append to {f}")
        check_refused(worker.pw_name, f"import os; os.unlink({f!r})", f"remove {f}")
    check_refused(worker.pw_name, f"open({os.path.join(directory, 'forged')!r}, 'xb')",
                  "create a file in the collector's directory")
    for t in trails:
        check_refused(coll.pw_name, f"open({t!r}, 'rb').read(1)", f"read the trail {t}")
        check_refused(coll.pw_name, f"open({t!r}, 'ab').write(b'x')", f"append to the trail {t}")


def check_n_refuses(sc, socket_path, coll_name):
    for user, want in (("nobody", "has the uid of the daemon user nobody"),
                       ("root", "refusing to run the collector as root"),
                       ("adist-no-such-user", "which does not exist")):
        conf = sc.write_config(f"bad-{user}.conf",
                               f'pidfile "{sc.path("bad.pid")}"\ncollector {{\n'
                               f'    socket "{socket_path}x"\n    directory "{sc.path("bad")}"\n'
                               f'    user "{user}"\n}}\n')
        code, out, err = run_config_check(sc.binary, conf)
        check(code != 0 and want in err, f"-n with collector user {user}: exit {code}, {err!r}")
    sc.note(f"-n refuses the daemon user, root and a missing user; accepts {coll_name}")


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (privilege drop to two users)")
    password = "pw-" + os.urandom(12).hex()
    recv, url, fp, host_dir = receiver_for(sc, password=password)
    conf, directory, socket_path = collector_setup(sc, "    rate_limit 0", sender=(url, fp, password))
    coll = pwd.getpwnam(sc.collector_user())
    worker = pwd.getpwnam("nobody")
    # A dist directory of the sender's, as the harness gives them (0700).
    other_dist = sc.mkdir("other-dist", mode=0o700)
    with open(os.path.join(other_dist, "trail"), "wb") as f:
        f.write(b"x")
    os.chown(other_dist, worker.pw_uid, worker.pw_gid)
    os.chown(os.path.join(other_dist, "trail"), worker.pw_uid, worker.pw_gid)
    recv.start()
    # systemd hears READY=1 from the supervisor once both children serve:
    # when it arrives, both have logged their start (logged before they
    # tell the supervisor).
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sc.path("notify.sock"))
    notify.settimeout(60)
    os.environ["NOTIFY_SOCKET"] = sc.path("notify.sock")
    try:
        daemon = sc.daemon("collector", conf, "collector").start(ready=False)
    finally:
        del os.environ["NOTIFY_SOCKET"]
    ready = notify.recv(4096).decode()
    check("READY=1" in ready.splitlines(), f"first notification {ready!r}")
    check_equal(daemon.count_log(r"auditdistd started", since=daemon.run_offset), 2,
                "children that had started when systemd heard READY=1")
    notify.close()

    texts = [f"own-user-{i}" for i in range(20)]
    for t in texts:
        p = subprocess.run([sc.binary, "log", "-v", "-s", socket_path, "--", t],
                           capture_output=True, timeout=30)
        check_equal(p.returncode, 0, f"client for {t}: {p.stderr!r}")

    def shipped():
        got = [c["claimed"]["command"] for c in commands(host_dir)] if os.path.isdir(host_dir) else []
        return set(texts) <= set(got)
    wait_until(shipped, timeout=60, what="every command on the receiver")
    got = [c["claimed"]["command"] for c in commands(host_dir)]
    check_equal(sorted(t for t in got if t in texts), sorted(texts), "each command once on the receiver")
    sc.note(f"{len(texts)} commands shipped end to end, each once")

    procs = children_by_uid(daemon)
    check(set(procs) == {0, coll.pw_uid, worker.pw_uid},
          f"processes by uid: {procs} (want root, {coll.pw_uid}, {worker.pw_uid})")
    cst = status(procs[coll.pw_uid])
    check_collector_process(cst, coll)
    # Every thread of it, the round thread and the sync thread included, is
    # as confined as its main thread (seccomp is per thread: a thread made
    # before the filter would run without it).
    cpid = procs[coll.pw_uid]
    tasks = os.listdir(f"/proc/{cpid}/task")
    check(len(tasks) >= 2, f"the collector process has {len(tasks)} thread(s), not its round thread")
    for tid in tasks:
        with open(f"/proc/{cpid}/task/{tid}/status") as f:
            tst = {k: v.split() for k, v in (line.split(":", 1) for line in f if ":" in line)}
        check_collector_process(tst, coll)
    sc.note(f"the collector process's {len(tasks)} threads: each uid {coll.pw_uid}, no "
            "capabilities, NoNewPrivs 1, Seccomp 2")
    check_equal(os.stat(f"/proc/{procs[coll.pw_uid]}/status").st_uid, 0,
                "collector not dumpable (/proc/<pid>/status is root's)")
    wst = status(procs[worker.pw_uid])
    check(all(int(u) == worker.pw_uid for u in wst["Uid"]), f"worker uids {wst['Uid']}")
    check_equal(wst["Seccomp"], ["2"], "worker Seccomp")
    check_equal(int(wst["CapEff"][0], 16), CAP_DAC_READ_SEARCH, "worker CapEff")
    # The worker kept no descriptor of the collector's (its open file, its
    # directory, its socket): what it inherited from the root setup it let
    # go of before the drop. The collector process holds them (which shows
    # that the look finds such descriptors).
    def collector_fds(pid):
        found = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            inside = target.startswith(directory + "/") and not target.startswith(directory + "/dist")
            if inside or target == directory:
                found.append(target)
        return found
    check(collector_fds(procs[coll.pw_uid]), "the collector process holds none of its files?")
    check_equal(collector_fds(procs[worker.pw_uid]), [], "the worker's descriptors of the collector's")
    # Nor a listening socket of the other's: the collector socket and the
    # collector's status socket stay with the collector process, the
    # worker's status socket with the worker. /proc shows sockets as
    # socket:[inode], so the inodes are matched with /proc/net/unix.
    def listening_under(root):
        found = {}
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) == 8 and parts[3] == "00010000" and parts[7].startswith(root + "/"):
                    found[int(parts[6])] = parts[7]
        return found

    def sockets_held(pid, listening):
        held = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m and int(m.group(1)) in listening:
                held.add(listening[int(m.group(1))])
        return held
    listening = listening_under(sc.root)
    coll_socks = sockets_held(procs[coll.pw_uid], listening)
    worker_socks = sockets_held(procs[worker.pw_uid], listening)
    check(socket_path in coll_socks and any(p.endswith("-collector.sock") for p in coll_socks),
          f"the collector process's listening sockets: {coll_socks} (of {listening})")
    check(worker_socks and not (worker_socks & coll_socks),
          f"listening sockets of both: worker {worker_socks}, collector {coll_socks}")
    sc.note(f"listening sockets: collector {sorted(coll_socks)}, worker {sorted(worker_socks)}")
    sc.note(f"collector pid {procs[coll.pw_uid]} uid/gid {coll.pw_uid}/{coll.pw_gid}, no "
            f"capabilities, NoNewPrivs 1, Seccomp 2; worker uid {worker.pw_uid}")
    check_no_password(procs[coll.pw_uid], procs[worker.pw_uid], password.encode(),
                      socket_path.encode(), "at the start")
    # Nothing of the daemon's came across the exec: no descriptor of the
    # configuration file or the pidfile.
    for fd in os.listdir(f"/proc/{procs[coll.pw_uid]}/fd"):
        try:
            target = os.readlink(f"/proc/{procs[coll.pw_uid]}/fd/{fd}")
        except OSError:
            continue
        check(target not in (conf, sc.path("collector.pid")),
              f"the collector process holds {target} (fd {fd})")

    dist = os.stat(os.path.join(directory, "dist"))
    check_equal((dist.st_uid, dist.st_gid, dist.st_mode & 0o7777),
                (worker.pw_uid, coll.pw_gid, 0o770), "dist's owner, group and mode")
    trails = [os.path.join(host_dir, n) for n in os.listdir(host_dir) if len(n) == 29]
    check_files(directory, coll, worker, trails)
    check_refused(coll.pw_name, f"import os; os.listdir({other_dist!r})", "list a sender's dist")
    check_refused(coll.pw_name, f"open({os.path.join(other_dist, 'trail')!r}, 'rb')",
                  "read a sender's trail")
    sc.note("the worker's user cannot touch the collector's files; the collector's user "
            "cannot read a sender's dist or the receiver's trails")

    mark = daemon.mark()
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log(r"configuration reloaded", since=mark, count=2)
    check_no_password(procs[coll.pw_uid], procs[worker.pw_uid], password.encode(),
                      socket_path.encode(), "after SIGHUP")
    sc.note("the collector process holds no byte of the password (its own image), the worker does")
    check_n_refuses(sc, socket_path, coll.pw_name)

    # The collector process alone killed: the supervisor stops the worker
    # and exits with the collector's end.
    daemon.expect_running = False
    os.kill(procs[coll.pw_uid], signal.SIGKILL)
    code = daemon.proc.wait(timeout=60)
    check_equal(code, 128 + signal.SIGKILL, "the daemon's exit status after kill -9 of the collector")
    daemon.wait_log(r"the collector process was killed by signal 9", must_run=False)
    wait_until(lambda: not list(group_processes(daemon.pid)), timeout=30,
               what="the worker to stop with the collector")
    sc.note("kill -9 of the collector process: worker stopped, daemon exit 137")


if __name__ == "__main__":
    run_scenario("collector_own_user", scenario)
