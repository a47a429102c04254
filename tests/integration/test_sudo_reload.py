#!/usr/bin/env python3
"""SIGHUP of the sudo role (issue 15) with a session open across it, the
real sudo on a pty: the reload closes the open file as <start>.<end> (in
dist too, so the sender ships and drops it), the next file's header names
it, a setting changed in the config takes effect (`rotate size` added: the
output after the reload spans several files, before it one), and the
session that ran through the reload is whole: one record per sequence
number, `sudo-extract` reports no gap, and `sudoreplay` of the rebuilt tree
replays what it replays from sudoers' own log of the same session."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, check_equal, run_scenario, wait_until  # noqa: E402
from sudo_util import (Pty, SudoSite, extract, replay, require_sudo, session_bytes,  # noqa: E402
                       stream_records, sudo_setup)

# 40 lines of 1,000 bytes per burst: 40 KB of ttyout, several 16K files.
BURST = "i=0; while [ $i -lt 40 ]; do printf '%0999d\\n' $i; i=$((i+1)); done"
SESSION = ("echo started; while read l; do if [ \"$l\" = burst ]; then " + BURST +
           "; fi; echo \"got $l\"; done")


def trails(directory):
    return sorted(n for n in os.listdir(directory) if len(n) == 29)


def scenario(sc):
    require_sudo()
    site = SudoSite(sc)
    directory, host_dir, iolog_dir, daemon = site.directory, site.host_dir, site.iolog_dir, site.daemon
    site.recv.start()
    daemon.start()
    with sudo_setup(site.plugin, site.socket_path, iolog_dir):
        p = Pty(["sudo", "-u", "nobody", "sh", "-c", SESSION])
        p.read_until(b"started")
        p.write(b"burst\n")
        p.read_until(b"got burst")
        before = trails(directory)
        check_equal(len(before), 1, f"one file before the reload (no rotate size yet): {before}")
        check(before[0].endswith(".not_terminated"), f"the open file: {before}")

        site.configure(rotate="rotate size 16K")
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: not os.path.exists(os.path.join(directory, before[0])), timeout=30,
                   what="the open file closed by the reload")
        p.write(b"after-reload\n")
        p.read_until(b"got after-reload")
        p.write(b"burst\n")
        p.read_until_count(b"got burst", 2)
        p.write(b"last\n")
        p.read_until(b"got last")
        p.write(b"\x04")
        status = p.wait()
        check_equal(status, 0, f"the session ended normally: {p.out[-300:]!r}")

    after = trails(directory)
    closed = [n for n in after if not n.endswith(".not_terminated")]
    check(closed and closed[0].startswith(before[0][:14]),
          f"the reload closed {before[0]} as <start>.<end>: {after}")
    check(len(closed) >= 3, f"rotate size 16K took effect after the reload: {after}")
    wait_until(lambda: [r for r in stream_records(host_dir) if r["type"] == "close"],
               timeout=60, what="the session's close on the receiver")
    wait_until(lambda: not any(n in os.listdir(os.path.join(directory, "dist")) for n in closed),
               timeout=60, what="the closed files shipped and their links dropped")
    recs = stream_records(host_dir)
    seqs = [r["seq"] for r in recs]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "one record per seq, none twice")
    heads = [r for r in recs if r["type"] == "header"]
    check_equal([h.get("previous_file") for h in heads[1:]], closed[:len(heads) - 1],
                "each header names the file before it")
    opens = [r for r in recs if r["type"] == "open"]
    check_equal(len(opens), 1, "one session")
    session = opens[0]["session"]
    out = session_bytes(recs, session, "ttyout")
    for word in (b"got burst", b"got after-reload", b"got last"):
        check(word in out, f"{word!r} recorded")
    check_equal(out.count(b"0" * 990), 80, "both bursts' 80 lines recorded")

    rebuilt = sc.path("rebuilt")
    text = extract(sc.binary, host_dir, rebuilt, 5)
    check("1 sessions opened, 1 closed" in text and "gap:" not in text, f"extract: {text}")
    sudoers_path = next(kv.split("=", 1)[1] for kv in opens[0]["command_info"]
                        if kv.startswith("iolog_path="))
    theirs = replay(iolog_dir, os.path.relpath(sudoers_path, iolog_dir))
    check_equal(replay(rebuilt, session), theirs, "sudoreplay across the reload")
    # As root: refused without -u (the trails are a remote host's bytes),
    # and with -u it drops to that user (the tree is nobody's).
    p = subprocess.run([sc.binary, "sudo-extract", host_dir, sc.path("as-root")],
                       capture_output=True, timeout=60)
    check_equal(p.returncode, 64, f"sudo-extract as root without -u: {p.stderr!r}")
    check(b"refusing to run as root" in p.stderr and b"-u USER" in p.stderr, f"says why: {p.stderr!r}")
    check(not os.path.exists(sc.path("as-root")), "nothing made as root")
    p = subprocess.run([sc.binary, "sudo-extract", "-u", "nobody", "--heartbeat", "5", host_dir,
                        rebuilt], capture_output=True, timeout=60)
    check_equal(p.returncode, 0, f"sudo-extract -u nobody: {p.stderr!r}")
    check(b"0 sessions opened" in p.stdout, f"-u nobody resumes the tree: {p.stdout!r}")
    sc.note(f"reload mid-session: {before[0]} closed, {len(closed)} files closed in all, "
            f"{len(recs)} records in sequence; replay equals sudoers'")


if __name__ == "__main__":
    run_scenario("sudo_reload", scenario)
