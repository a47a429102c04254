#!/usr/bin/env python3
"""sudo sessions through our I/O plugin (issue 15), with the real sudo on a
pty and sudoers' own log_output alongside: a command with a lot of output,
stdin from a pipe, a window resize, a password typed with echo off, Ctrl-Z. The
sudo stream reaches the receiver; `auditdistd sudo-extract` rebuilds a tree
that `sudoreplay` lists and replays to exactly what it replays from
sudoers' own log of the same session; the password is nowhere in the
stream; a second extract run adds nothing and reports no gap."""
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402
from sudo_util import (Pty, SudoSite, extract, replay, require_sudo, run_on_pty,  # noqa: E402
                       session_bytes, stream_records, sudo_setup)

SUDO = ["sudo", "-u", "nobody"]
EXPECTED = {"output": b"2999\r\n3000\r\noutput-done", "pipe": b"PIPED-DATA",
            "resize": b"33 111", "password": b"length 14", "ctrl-z": b"after-go"}


def sessions(sc, iolog_dir):
    """Runs the sessions; returns their names in order."""
    p = run_on_pty(SUDO + ["sh", "-c", "seq 1 3000; echo output-done"])
    check_equal(p.status, 0, f"sudo seq: {p.out[-300:]!r}")
    check(b"output-done" in p.out, "the output came through")
    p = run_on_pty(["sh", "-c", "printf 'piped-data\\n' | sudo -u nobody tr a-z A-Z"])
    check(b"PIPED-DATA" in p.out, f"stdin from a pipe: {p.out[-300:]!r}")
    # sudo passes a resize on when it handles its SIGWINCH: the command
    # waits (bounded) until its own terminal has the new size.
    p = Pty(SUDO + ["sh", "-c", "echo ready; i=0; while [ \"$(stty size)\" != '33 111' ] && "
                    "[ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; stty size"])
    p.read_until(b"ready")
    fcntl.ioctl(p.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    p.wait()
    check(b"33 111" in p.out, f"the resize reached the command: {p.out[-300:]!r}")
    p = Pty(SUDO + ["python3", "-c",
                    "import getpass; p = getpass.getpass('pw: '); print('length', len(p))"])
    p.read_until(b"pw: ")
    p.write(b"hunter2-secret\n")
    p.wait()
    check(b"length 14" in p.out, f"the password prompt: {p.out[-300:]!r}")
    # Ctrl-Z: the command stops, sudo logs the suspend; under a shell without
    # job control sudo cannot stop itself and resumes the command at once.
    p = Pty(["sh", "-c", "sudo -u nobody sh -c 'echo ready; read x; echo after-$x'"])
    p.read_until(b"ready")
    p.write(b"\x1a")
    p.read_until(b"^Z")
    p.write(b"go\n")
    p.wait()
    check(b"after-go" in p.out, f"the command resumed after Ctrl-Z: {p.out[-300:]!r}")
    return ["output", "pipe", "resize", "password", "ctrl-z"]


def scenario(sc):
    require_sudo()
    # Small files: the sessions span several trails, and a record written
    # right after a rotation must follow the new header's sequence.
    site = SudoSite(sc, rotate="rotate size 16K")
    host_dir, socket_path, iolog_dir = site.host_dir, site.socket_path, site.iolog_dir
    site.recv.start()
    site.daemon.start()
    st = os.stat(socket_path)
    check_equal((st.st_uid, st.st_mode & 0o777), (0, 0o600), "the sudo socket: root's, 0600")
    with sudo_setup(site.plugin, socket_path, iolog_dir):
        names = sessions(sc, iolog_dir)
    closes = lambda: [r for r in stream_records(host_dir) if r["type"] == "close"]  # noqa: E731
    wait_until(lambda: len(closes()) == len(names), timeout=60, what="every close on the receiver")
    recs = stream_records(host_dir)
    headers = [r for r in recs if r["type"] == "header"]
    check(len(headers) >= 3, f"the stream spans several files ({len(headers)})")
    seqs = [r["seq"] for r in recs]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "one record per seq, none twice")
    opens = [r for r in recs if r["type"] == "open"]
    check_equal(len(opens), len(names), "open records")
    for r in recs:
        check("crc32" in r or r["type"] in ("header", "heartbeat"), f"unsealed record {r['type']}")
    pw = opens[3]["session"]
    check(b"hunter2" not in session_bytes(recs, pw, "ttyin"), "the password is not in the stream")
    check(any(r.get("withheld") for r in recs if r.get("session") == pw),
          "the password's bytes are marked withheld")
    check(any(r["type"] == "winsize" and (r["lines"], r["cols"]) == (33, 111) for r in recs),
          "the window change is recorded")
    check(session_bytes(recs, opens[1]["session"], "stdin") == b"piped-data\n", "stdin recorded")
    suspends = [r["signal"] for r in recs if r["type"] == "suspend" and r["session"] == opens[4]["session"]]
    check(suspends[:1] == [int(signal.SIGTSTP)], f"Ctrl-Z recorded as SIGTSTP: {suspends}")

    out = sc.path("rebuilt")
    text = extract(sc.binary, host_dir, out, 5)
    sc.note(text.strip().splitlines()[-1])
    check(f"{len(names)} sessions opened, {len(names)} closed" in text, f"extract: {text}")
    check("gap:" not in text, f"no gap in a complete stream: {text}")
    listed = subprocess.run(["sudoreplay", "-d", out, "-l"], stdout=subprocess.PIPE,
                            timeout=30).stdout.decode()
    for name, o in zip(names, opens):
        check(f"TSID={o['session']}" in listed, f"sudoreplay -l lists {name}: {listed}")
        sudoers_path = next(kv.split("=", 1)[1] for kv in o["command_info"]
                            if kv.startswith("iolog_path="))
        theirs = replay(iolog_dir, os.path.relpath(sudoers_path, iolog_dir))
        ours = replay(out, o["session"])
        check_equal(ours, theirs, f"sudoreplay of the {name} session")
        check(EXPECTED[name] in ours, f"the {name} replay shows {EXPECTED[name]!r}: {ours[-200:]!r}")
    check(not any(b"hunter2" in open(os.path.join(d, f), "rb").read()
                  for d, _, fs in os.walk(out) for f in fs), "no password in the rebuilt tree")
    again = extract(sc.binary, host_dir, out, 5)
    check("0 sessions opened" in again and "gap:" not in again, f"second run: {again}")
    sc.note(f"{len(names)} sessions replay as sudoers' own; second run: {again.strip()}")


if __name__ == "__main__":
    run_scenario("sudo_replay", scenario)
