#!/usr/bin/env python3
"""`auditdistd status` shows the collector (issue 14). The collector process
serves a status socket of its own next to the worker's
(<pidfile minus .pid>-collector.sock, root's, 0600); the client asks both and
prints one answer. Started as root with a collector section, a sudo section
and a sender of the collector's dist:
  - text: a block per stream (commands, sudo) after the hosts, with the open
    file, records and bytes written, commands acknowledged and suppressed;
  - --json: {"hosts":[...], "collector":[...]}, and the counts are the
    records in the files: `accepted` is the number of command records,
    `suppressed` the sum of the `suppressed` records, `records` every line
    written since the start;
  - --prometheus: auditdistd_collector_* families next to the hosts', every
    family declared once;
  - --check: OK with both; after root changes the owner of the open file,
    WARNING naming the tamper (and text and JSON show the alert);
  - a daemon with no host and only a collector: --check is the collector's
    verdict, not UNKNOWN for "no hosts";
  - the collector socket is root's, 0600, and refuses another user;
  - a clean stop removes both sockets; a collector socket left behind is
    removed by a daemon started without a collector;
  - a compromised collector (a stand-in on its socket) that drips, answers
    1.4 MB, adds forged hosts, puts an escape in a stream name or a line
    break and a host row in its last error, answers a check line or
    nothing: status ends within its 5 s deadline, prints only the worker's
    hosts, exits non-zero and --check is not OK on a bad answer, and no
    escape reaches the terminal."""
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, check_equal, run_scenario, wait_until  # noqa: E402
from collector_util import collector_config, receiver_for, records  # noqa: E402

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def status(sc, pidfile, *args, expect=0, prefix=()):
    cmd = [*prefix, sc.binary, "status", "-P", pidfile, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    check_equal(p.returncode, expect, f"exit status of {' '.join(cmd)} (stdout: {p.stdout.strip()!r}, "
                                      f"stderr: {p.stderr.strip()!r})")
    return p.stdout, p.stderr


def log_commands(sc, socket_path, texts):
    """All at once (a sanitizer build starts each client slowly)."""
    procs = [subprocess.Popen([sc.binary, "log", "-s", socket_path, "--", text],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for text in texts]
    for text, p in zip(texts, procs):
        check_equal(p.wait(timeout=30), 0, f"auditdistd log {text!r}")


def open_file(directory):
    names = [n for n in os.listdir(directory) if n.endswith(".not_terminated")]
    check_equal(len(names), 1, f"open files in {directory}: {names}")
    return os.path.join(directory, names[0])


def all_records(directory):
    return [r for _, r in records(directory)]


def stream(doc, name):
    found = [s for s in doc.get("collector", []) if s["stream"] == name]
    check_equal(len(found), 1, f"collector streams named {name} in {doc}")
    return found[0]


def check_prometheus(text):
    declared = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    check_equal(len(declared), len(set(declared)), f"families declared twice: {declared}")
    check(any(d.startswith("auditdistd_collector_") for d in declared), "no collector family")
    check(any(not d.startswith("auditdistd_collector_") for d in declared), "no host family")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            check(name in declared or name.rsplit("_", 1)[0] in declared,
                  f"sample of an undeclared family: {line!r}")
            float(line.rsplit(" ", 1)[1])


def serve_once(path, behave, stop):
    """A stand-in for a compromised collector process on `path`: each
    connection gets `behave(conn)` until `stop` is set."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(0.2)

    def loop():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            try:
                conn.settimeout(10)
                conn.recv(64)
                behave(conn)
            except OSError:
                pass
            finally:
                conn.close()
        srv.close()
        os.unlink(path)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def hostile_collector(sc, pidfile, coll_sock):
    """What a compromised collector may answer cannot hang `status`, forge
    a host, reach the terminal as an escape, or pass a check."""
    stream = {"stream": "commands\x1b[2J", "socket": "/s", "directory": "/d", "file": None,
              "writing": True, "records": 1, "bytes": 1, "accepted": 1, "suppressed": 0,
              "tampers": 0, "last_record": None, "last_error": None, "last_error_at": None,
              "tamper_alert": None}
    cases = [
        ("drip", lambda c: [c.sendall(b"{") or time.sleep(0.5) for _ in range(40)], 69,
         "no answer from"),
        ("huge", lambda c: c.sendall(b'{"collector":[' + b"0," * 700000 + b"0]}"), 76, "too large"),
        ("forged host", lambda c: c.sendall(json.dumps(
            {"collector": [], "hosts": [{"role": "sender", "host": "forged"}]}).encode()), 0, None),
        ("escape", lambda c: c.sendall(json.dumps({"collector": [stream]}).encode()), 76,
         "unexpected answer"),
        ("a row of its own", lambda c: c.sendall(json.dumps({"collector": [dict(
            stream, stream="x", last_error="-\nsender forged (10.0.0.9): connected")]}).encode()), 76,
         "unexpected answer"),
        ("not json", lambda c: c.sendall(b"check 0 AUDITDISTD OK - fine\n"), 76, "unexpected answer"),
        ("silent", lambda c: None, 76, "unexpected answer"),
    ]
    for name, behave, code, message in cases:
        stop = threading.Event()
        t = serve_once(coll_sock, behave, stop)
        try:
            started = time.monotonic()
            out, err = status(sc, pidfile, expect=code)
            took = time.monotonic() - started
            check(took < 8, f"{name}: status took {took:.1f} s")
            check("\x1b" not in out + err, f"{name}: an escape reached the terminal: {out!r} {err!r}")
            if message:
                check(message in err, f"{name}: stderr says {err!r}")
            check("forged" not in out, f"{name}: a forged host was printed: {out!r}")
            doc = json.loads(status(sc, pidfile, "--json", expect=code)[0])
            check([h["host"] for h in doc["hosts"]] == ["collector"], f"{name}: hosts {doc['hosts']}")
            check(("collector_error" in doc) == (code != 0), f"{name}: JSON {doc}")
            p = subprocess.run([sc.binary, "status", "-P", pidfile, "--check"], capture_output=True,
                               text=True, timeout=30)
            check("\x1b" not in p.stdout, f"{name}: an escape in the check line: {p.stdout!r}")
            if message:  # never OK, and it says why
                check(p.returncode != 0 and "collector: " in p.stdout and message in p.stdout,
                      f"{name}: --check exits {p.returncode}: {p.stdout!r}")
            sc.note(f"hostile collector, {name}: exit {code} in {took:.1f} s")
        finally:
            stop.set()
            t.join(timeout=15)


def scenario(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (privilege drop, the root-only status sockets)")
    recv, url, fp, _ = receiver_for(sc)
    recv.start()
    directory = sc.path("commands")
    sudo_dir = sc.path("sudo")
    socket_path = sc.path("run", "collect.sock")
    sudo_socket = sc.path("run", "sudo.sock")
    user = sc.collector_user()
    extra = "    rate_limit 1\n}\nsudo {\n" + f'    socket "{sudo_socket}"\n' + \
        f'    directory "{sudo_dir}"\n' + (f'    user "{user}"' if user else "")
    conf = collector_config(sc, directory, socket_path, extra, sender=(url, fp, "s3cret"))
    pidfile = sc.path("collector.pid")
    main_sock = pidfile[:-4] + ".sock"
    coll_sock = pidfile[:-4] + "-collector.sock"
    coll = sc.daemon("collector", conf, "collector").start()
    coll.wait_log(r"connected to ")

    st = os.stat(coll_sock)
    check(stat.S_ISSOCK(st.st_mode), f"{coll_sock} is not a socket")
    check_equal((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600), "collector socket owner and mode")

    # 12 commands at once from one uid over a limit of 1 per second: some
    # are suppressed, and counted in a record at the next tick.
    log_commands(sc, socket_path, [f"cmd-{i}" for i in range(12)])

    def counted():  # every command written, or counted at a tick as suppressed
        recs = all_records(directory)
        return sum(r.get("count", 0) for r in recs if r["type"] == "suppressed") + \
            sum(1 for r in recs if r["type"] == "command") == 12
    wait_until(counted, timeout=15, what="12 commands written or counted as suppressed")
    recs = all_records(directory)
    commands = [r for r in recs if r["type"] == "command"]
    suppressed = sum(r["count"] for r in recs if r["type"] == "suppressed")
    check_equal(len(commands) + suppressed, 12, "commands written plus suppressed")
    check(suppressed > 0, "12 commands at once over a limit of 1 a second: none suppressed")

    doc = json.loads(status(sc, pidfile, "--json")[0])
    check_equal([h["role"] for h in doc["hosts"]], ["sender"], "the hosts in the JSON")
    cmds = stream(doc, "commands")
    check_equal((cmds["accepted"], cmds["suppressed"]), (len(commands), suppressed),
                "acknowledged and suppressed, against the file")
    check_equal(cmds["records"], len(recs), "records written since the start, against the file")
    check_equal(cmds["bytes"], sum(os.path.getsize(os.path.join(directory, n))
                                   for n in os.listdir(directory) if n[:1].isdigit()),
                "bytes written since the start, against the file")
    check_equal((cmds["writing"], cmds["file"], cmds["tampers"], cmds["tamper_alert"]),
                (True, os.path.basename(open_file(directory)), 0, None), "the commands stream")
    check_equal((cmds["socket"], cmds["directory"]), (socket_path, directory), "where it is")
    sudo = stream(doc, "sudo")
    check_equal((sudo["writing"], sudo["accepted"], sudo["socket"]), (True, 0, sudo_socket),
                "the sudo stream")
    check(sudo["records"] >= 1, "the sudo stream wrote its header")

    text = status(sc, pidfile)[0]
    sc.note("auditdistd status:\n" + text)
    check("sender collector (" in text, f"the host in the text:\n{text}")
    check(f"collector commands ({socket_path}): writing" in text, f"the commands block:\n{text}")
    check(f"collector sudo ({sudo_socket}): writing" in text, f"the sudo block:\n{text}")
    check(f"{len(commands)} acknowledged, {suppressed} suppressed over the rate limit" in text,
          f"the counts in the text:\n{text}")

    check_prometheus(status(sc, pidfile, "--prometheus")[0])

    out = status(sc, pidfile, "--check")[0]
    check(out.startswith("AUDITDISTD OK - ") and "collector: 2 stream(s) writing" in out
          and "collector_records=" in out, f"--check with both healthy: {out!r}")

    # Root changes the owner of the open file: the collector notices at its
    # next tick; the check warns until the daemon restarts.
    victim = open_file(directory)
    os.chown(victim, 0, 0)
    coll.wait_log(r"ALERT: collector: .* was tampered with", timeout=5)
    out = status(sc, pidfile, "--check", expect=1)[0]
    sc.note("auditdistd status --check after the tamper: " + out)
    check(out.startswith("AUDITDISTD WARNING - ") and "commands tampered with: " in out
          and os.path.basename(victim) in out, f"--check after the tamper: {out!r}")
    doc = json.loads(status(sc, pidfile, "--json")[0])
    cmds = stream(doc, "commands")
    check(cmds["tampers"] == 1 and os.path.basename(victim) in (cmds["tamper_alert"] or ""),
          f"the tamper in the JSON: {cmds}")
    check("TAMPERED:" in status(sc, pidfile)[0], "the tamper in the text")

    # Another user: refused on both sockets (mode 0600), and by the daemon.
    _, err = status(sc, pidfile, expect=77, prefix=NOBODY)
    check("permission" in err.lower(), f"nobody's status: {err!r}")
    os.chmod(coll_sock, 0o666)
    answer = subprocess.run([*NOBODY, sys.executable, "-c",
                             "import socket,sys; s=socket.socket(socket.AF_UNIX);"
                             f"s.connect({coll_sock!r}); s.sendall(b'status json\\n');"
                             "sys.stdout.write(s.recv(4096).decode())"],
                            capture_output=True, text=True, timeout=10).stdout
    os.chmod(coll_sock, 0o600)
    check(answer.startswith("error: permission denied"), f"the collector's answer to nobody: {answer!r}")

    coll.stop()
    check(not os.path.exists(main_sock) and not os.path.exists(coll_sock),
          "a clean stop removes both status sockets")
    recv.stop()

    # Only a collector, no host: the check is the collector's.
    conf = collector_config(sc, directory, socket_path)
    only = sc.daemon("collector-only", conf, "collector").start()
    out = status(sc, pidfile, "--check")[0]
    check(out.startswith("AUDITDISTD OK - collector: 1 stream(s) writing"),
          f"--check of a daemon that only collects: {out!r}")
    only.stop()

    # A collector socket left behind with nobody on it, and a daemon
    # started without a collector: the daemon removes it, status shows the
    # hosts and says nothing more.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(coll_sock)
    stale.close()
    lines = ['name "cmdhost"', f'pidfile "{pidfile}"', "timeout 5", "sender {",
             f'    directory "{directory}/dist"', '    host "collector" {',
             f'        remote "{url}"', f'        fingerprint "{fp}"', '        password "s3cret"',
             "    }", "}"]
    recv.start()
    plain = sc.daemon("no-collector", sc.write_config("plain.conf", "\n".join(lines) + "\n"),
                      "sender").start()
    check(not os.path.exists(coll_sock), "a stale collector socket is removed at the start")
    doc = json.loads(status(sc, pidfile, "--json")[0])
    check("collector" not in doc and len(doc["hosts"]) == 1, f"status without a collector: {doc}")
    hostile_collector(sc, pidfile, coll_sock)
    plain.stop()
    sc.note(f"{len(commands)} commands acknowledged and {suppressed} suppressed, as the files say; "
            "a tamper warns; both sockets removed at a clean stop")


if __name__ == "__main__":
    run_scenario("collector_status", scenario)
