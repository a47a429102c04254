"""Shared by the fan-out scenarios: one sender whose dist directory feeds
several receivers (sender `host` blocks with one `directory`), each
receiver a daemon of its own with its own port and directory."""
import json
import os
import subprocess

from harness import check_equal, free_port

TRAIL_SIZE = 64 * 1024


def receiver(sc, label, cert, key, extra_args=(), port=None):
    """A receiver daemon (not started) taking host "web1" from 127.0.0.1;
    returns (daemon, url, the host directory where web1's trails land)."""
    port = port or free_port()
    url = f"tls://127.0.0.1:{port}"
    remote = sc.path(label + "-remote")
    conf = sc.receiver_config(f"{label}.conf", url, remote, cert, key,
                              [("web1", "127.0.0.1", "fan-out-pw")])
    return sc.daemon(label, conf, "receiver", extra_args), url, os.path.join(remote, "web1")


def sender(sc, dist, fp, hosts, extra_args=()):
    """The sender named web1; `hosts`: (name, url, extra lines) sharing `dist`."""
    return sc.daemon("sender", sender_conf(sc, dist, fp, hosts), "sender", extra_args)


def sender_conf(sc, dist, fp, hosts):
    """Writes (again) the sender's configuration; returns its path."""
    lines = ['name "web1"', 'pidfile "none"', "timeout 5", "sender {",
             f'    directory "{dist}"']
    for name, url, extra in hosts:
        lines += [f'    host "{name}" {{', f'        remote "{url}"',
                  f'        fingerprint "{fp}"', '        password "fan-out-pw"']
        lines += [f"        {x}" for x in extra]
        lines.append("    }")
    lines.append("}")
    return sc.write_config("sender.conf", "\n".join(lines) + "\n")


def status(sc, sock, check=False):
    """The sender's status: {host: record}, or with check, (exit code, line)."""
    cmd = [sc.binary, "status", "--control-socket", sock] + (["--check"] if check else ["--json"])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if check:
        return p.returncode, p.stdout.strip()
    check_equal(p.returncode, 0, f"exit status of {' '.join(cmd)} (stderr: {p.stderr.strip()})")
    return {h["host"]: h for h in json.loads(p.stdout)["hosts"] if h["role"] == "sender"}
