#!/usr/bin/env python3
"""Monitoring that fires (issue 12): `auditdistd status` as a monitoring
agent uses it, against the real binary on 127.0.0.1.
  - --json: last_data_ack (data acknowledged) stays put while the link is
    idle and keepalives flow; last_heard moves; last_ack is last_data_ack;
    per-host counters (bytes, files, connections, fsyncs) match what shipped.
  - --prometheus: HELP/TYPE before each family, auditdistd_* names, labels
    role and host, counters ending in _total; bytes_total and files_total
    grow when another trail ships.
  - --check: 0 and "AUDITDISTD OK - " while shipping; a host idle for
    longer than --max-lag whose new data is sent but not yet acknowledged
    (receiver stopped) is not stalled until --max-lag has passed since the
    send, then it is CRITICAL; with the receiver
    killed and a trail waiting, 2 CRITICAL ("stalled") once --max-lag has
    passed; 3 UNKNOWN when the daemon is down or there is no socket.
  - The documented jq recipe of docs/operations.md, run as written: 0 while
    healthy, non-zero when the daemon is down.
  - status_group: an unknown group is a config error with file:line; with a
    group made for the test (removed afterwards) the socket is root:group
    0660 and a non-root member reads the status, a non-member is refused."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MiB, Skip, check, check_equal, run_scenario,  # noqa: E402
                     trail_name, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534"]


def run_status(sc, args, prefix=()):
    cmd = [*prefix, sc.binary, "status", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def json_status(sc, args, role):
    p = run_status(sc, [*args, "--json"])
    check_equal(p.returncode, 0, f"status --json exit (stderr: {p.stderr.strip()})")
    hosts = [h for h in json.loads(p.stdout)["hosts"] if h["role"] == role]
    check_equal(len(hosts), 1, f"{role} entries")
    return hosts[0]


def check_status(sc, args, max_lag=None):
    extra = ["--max-lag", str(max_lag)] if max_lag is not None else []
    p = run_status(sc, [*args, "--check", *extra])
    check_equal(p.stdout.count("\n"), 1, f"one line from --check: {p.stdout!r} {p.stderr!r}")
    return p.returncode, p.stdout.strip()


SAMPLE = re.compile(r'^(auditdistd_[a-z_]+)\{role="(sender|receiver)",host="([^"]*)"(,reason="[^"]*")?\} (\S+)$')


def prometheus(sc, args):
    """Parses the exposition: {(name, role, host): value}; checks its shape."""
    p = run_status(sc, [*args, "--prometheus"])
    check_equal(p.returncode, 0, f"status --prometheus exit (stderr: {p.stderr.strip()})")
    declared, samples = {}, {}
    for line in p.stdout.splitlines():
        m = re.match(r"^# (HELP|TYPE) (auditdistd_[a-z_]+) (.+)$", line)
        if m:
            declared.setdefault(m.group(2), {})[m.group(1)] = m.group(3)
            continue
        m = SAMPLE.match(line)
        check(m is not None, f"not a Prometheus sample line: {line!r}")
        name = m.group(1)
        check("HELP" in declared.get(name, {}) and "TYPE" in declared[name],
              f"{name} sampled before its HELP and TYPE")
        kind = declared[name]["TYPE"]
        check(kind in ("counter", "gauge"), f"type of {name}: {kind}")
        check((kind == "counter") == name.endswith("_total"), f"{name} is a {kind}")
        float(m.group(5))
        if not m.group(4):
            samples[(name, m.group(2), m.group(3))] = float(m.group(5))
    return samples


def documented_recipe():
    """The fenced block after the `recipe: status-jq` marker of docs/operations.md."""
    with open(os.path.join(HERE, "..", "..", "docs", "operations.md")) as f:
        text = f.read()
    m = re.search(r"<!-- recipe: status-jq -->\s*```(?:sh|bash)?\n(.*?)```", text, re.S)
    check(m is not None, "docs/operations.md has no status-jq recipe")
    return m.group(1)


def run_recipe(sc, recipe, args):
    bindir = tempfile.mkdtemp(dir=sc.root)
    os.symlink(sc.binary, os.path.join(bindir, "auditdistd"))
    script = os.path.join(bindir, "check-auditdistd")
    with open(script, "w") as f:
        f.write(recipe)
    os.chmod(script, 0o755)
    env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=30, env=env)


def counters_and_acks(sc, recv_args, send_args, size):
    s = json_status(sc, send_args, "sender")
    r = json_status(sc, recv_args, "receiver")
    for h in (s, r):
        check(h["last_data_ack"] and h["last_heard"] and h["last_ack"] == h["last_data_ack"],
              f"acks in the status: {h}")
        check(h["stalled"] is False, f"stalled: {h}")
        check_equal((h["counters"]["bytes"], h["counters"]["files"]), (size, 1),
                    f"{h['role']} bytes and files counted")
        check(h["counters"]["connections"] >= 1, f"connections: {h['counters']}")
    check(r["counters"]["fsyncs"] >= 1 and r["counters"]["fsync_seconds"] > 0,
          f"receiver fsyncs: {r['counters']}")
    # Idle: keepalives flow (every timeout/3), data acknowledgements do not.
    time.sleep(4)
    s2 = json_status(sc, send_args, "sender")
    r2 = json_status(sc, recv_args, "receiver")
    for before, after in ((s, s2), (r, r2)):
        check_equal(after["last_data_ack"], before["last_data_ack"],
                    f"{after['role']}'s last_data_ack while only keepalives flow")
        check(after["last_heard"] > after["last_data_ack"],
              f"{after['role']}'s last_heard does not follow the keepalives: {after}")
    sc.note(f"idle 4 s: sender last_data_ack {s2['last_data_ack']}, last_heard {s2['last_heard']}")


def status_group(sc, send, send_args):
    bad = sc.write_config("bad-group.conf", 'status_group "adist-no-such-group"\n' +
                          open(send.conf).read())
    p = subprocess.run([sc.binary, "-n", "-c", bad], capture_output=True, text=True, timeout=30)
    check_equal(p.returncode, 78, f"-n with an unknown status_group (stderr {p.stderr.strip()})")
    check(f"{bad}:1: status_group: no group named \"adist-no-such-group\"" in p.stderr, p.stderr)
    group = f"adist-mon-{os.getpid()}"
    subprocess.run(["groupadd", group], check=True)
    try:
        gid = int(subprocess.run(["getent", "group", group], capture_output=True, text=True,
                                 check=True).stdout.split(":")[2])
        send.stop()
        with open(send.conf) as f:
            text = f.read()
        conf = sc.write_config("sender-group.conf", f'status_group "{group}"\n' + text)
        send2 = sc.daemon("sender-group", conf, "sender", send.extra_args)
        send2.start()
        sock = send_args[1]
        st = os.stat(sock)
        check_equal((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o660, 0, gid),
                    "mode, owner and group of the status socket with status_group")
        member = [*NOBODY, f"--groups={gid}", "--"]
        p = run_status(sc, [*send_args, "--json"], prefix=member)
        check_equal(p.returncode, 0, f"a member of status_group reads the status ({p.stderr.strip()})")
        check(json.loads(p.stdout)["hosts"][0]["host"] == "collector", p.stdout)
        p = run_status(sc, [*send_args, "--check"], prefix=member)
        # Never connected since its start (the receiver is down): WARNING with
        # its age, not CRITICAL for want of a time.
        check(p.returncode == 1 and p.stdout.startswith("AUDITDISTD WARNING - sender collector: "
                                                        "not connected for "), f"member --check: {p}")
        p = run_status(sc, [*send_args, "--json"], prefix=[*NOBODY, "--clear-groups", "--"])
        check_equal(p.returncode, 77, f"a non-member is refused ({p.stderr.strip()})")
        send2.stop()
        sc.note(f"status_group {group} (gid {gid}): socket 0660 root:{gid}, member reads, others refused")
    finally:
        subprocess.run(["groupdel", group], check=False)
    check(subprocess.run(["getent", "group", group]).returncode != 0, f"group {group} left behind")


def idle_then_new_data(sc, recv, send_args):
    """Idle past the max lag, then new data the stopped receiver does not
    acknowledge: the stall counts from the send, not from the last ack."""
    lag = 4
    time.sleep(lag + 1)
    recv.send_signal(signal.SIGSTOP)
    try:
        name = trail_name(3)
        sc.add_trail(name, 64 * 1024)
        def sent():
            h = json_status(sc, send_args, "sender")
            return h["waiting_since"] and h["waiting_since"] > h["last_data_ack"]
        wait_until(sent, timeout=lag / 2, interval=0.05, what="the sender sending the new trail")
        code, line = check_status(sc, send_args, max_lag=lag)
        check("stalled" not in line and code != 2,
              f"new data on its way after an idle time longer than --max-lag: {line}")
        wait_until(lambda: check_status(sc, send_args, max_lag=lag)[0] == 2, timeout=30,
                   what="--check CRITICAL once the new data waited --max-lag")
        code, line = check_status(sc, send_args, max_lag=lag)
        check("stalled" in line, f"CRITICAL for the stall: {line}")
    finally:
        recv.send_signal(signal.SIGCONT)
    sc.note(f"idle past --max-lag, new data unacknowledged: not stalled at once, then {line}")


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (the status socket is root-only; groupadd)")
    pidfile = sc.path("run", "receiver.pid")
    sc.mkdir("run")
    sender_sock = sc.path("run", "sender.sock")
    recv, send = sc.standard_pair(receiver_args=["-P", pidfile],
                                  sender_args=["--control-socket", sender_sock])
    recv_args, send_args = ["-P", pidfile], ["--control-socket", sender_sock]
    recv.start()
    send.start()
    send.wait_log(r"connected to ")
    name = trail_name(1)
    size, _ = sc.add_trail(name, 1 * MiB)
    send.wait_log(rf"shipped {name}")
    wait_until(lambda: json_status(sc, recv_args, "receiver")["counters"]["files"] == 1,
               what="the receiver counting the closed trail")

    counters_and_acks(sc, recv_args, send_args, size)

    for args in (send_args, recv_args):
        code, line = check_status(sc, args)
        check_equal(code, 0, f"--check while shipping: {line}")
        check(line.startswith("AUDITDISTD OK - 1 hosts"), line)
    recipe = documented_recipe()
    p = run_recipe(sc, recipe, send_args)
    check_equal(p.returncode, 0, f"the documented recipe while healthy ({p.stdout} {p.stderr})")

    before = prometheus(sc, send_args)
    rbefore = prometheus(sc, recv_args)
    key = ("auditdistd_bytes_total", "sender", "collector")
    check_equal(before.get(key), float(size), "sender bytes_total")
    check_equal(rbefore.get(("auditdistd_files_total", "receiver", "web1")), 1.0, "receiver files_total")
    check(rbefore.get(("auditdistd_fsyncs_total", "receiver", "web1"), 0) >= 1, f"fsyncs: {rbefore}")
    name2 = trail_name(2)
    size2, _ = sc.add_trail(name2, 2 * MiB)
    send.wait_log(rf"shipped {name2}", since=0)
    after = prometheus(sc, send_args)
    check_equal(after[key], float(size + size2), "sender bytes_total after a second trail")
    check_equal(after[("auditdistd_files_total", "sender", "collector")], 2.0, "sender files_total")
    wait_until(lambda: prometheus(sc, recv_args)[("auditdistd_bytes_total", "receiver", "web1")]
               == float(size + size2), what="receiver bytes_total after a second trail")

    idle_then_new_data(sc, recv, send_args)

    # The receiver gone and a trail waiting: CRITICAL once max-lag has passed.
    recv.kill9()
    send.wait_log(r"connection lost|cannot connect", since=0)
    sc.add_trail(trail_name(4), 64 * 1024)
    wait_until(lambda: check_status(sc, send_args, max_lag=2)[0] == 2, timeout=30,
               what="--check CRITICAL with the receiver down")
    code, line = check_status(sc, send_args, max_lag=2)
    check(line.startswith("AUDITDISTD CRITICAL - sender collector: ") and "stalled" in line, line)
    code600, line600 = check_status(sc, send_args)
    check_equal(code600, 1, f"--check with the default max lag, receiver down a moment: {line600}")
    sc.note(f"receiver down: {line}")

    # The daemon down: UNKNOWN, and the recipe fails.
    code, line = check_status(sc, recv_args)
    check_equal(code, 3, f"--check with the receiver down: {line}")
    check(line.startswith("AUDITDISTD UNKNOWN - "), line)
    code, line = check_status(sc, ["--control-socket", sc.path("run", "none.sock")])
    check_equal(code, 3, f"--check without a socket: {line}")
    p = run_recipe(sc, recipe, recv_args)
    check(p.returncode != 0, f"the documented recipe passed with the daemon down: {p}")
    sc.note(f"daemon down: --check says {line!r}; the recipe exits {p.returncode}")

    status_group(sc, send, send_args)


if __name__ == "__main__":
    run_scenario("status_monitoring", body)
