#!/usr/bin/env python3
"""Protocol version 1 between two of ours (docs/protocol.md, "Version 1"):
  - both sides say they agreed on version 1 and a trail arrives identical;
  - root on the receiver appends 2 bytes to the open trail by hand (+a
    allows appends): the sender's CLOSE carries its file's size and SHA-256,
    the receiver compares with what it stored, refuses with
    digest_mismatch, logs an alert, and does not seal or rename the file;
    the sender logs an alert and keeps the dist link;
  - a replica that diverged while the sender was down (one byte of the
    receiver's newest trail changed, same size): on reconnect the sender
    compares the receiver's prefix digest with its own file, logs an alert
    and appends nothing after it (the stored bytes stay as they are), and
    the link stays; the next trail ships normally;
  - a receiver host with min_protocol_version 1 refuses a sender started
    with --protocol-version 0, and a sender host with min_protocol_version 1
    refuses a receiver that answers 0; both say so."""
import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, file_size, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)


def chattr(flags, path):
    if os.geteuid() == 0:
        subprocess.run(["chattr", flags, path], check=False, capture_output=True, timeout=10)


def agreed(sc):
    # Version 1 pinned: the suite may run with ADIST_PROTOCOL_VERSION=0.
    recv, send = sc.standard_pair(receiver_args=["--protocol-version", "1"],
                                  sender_args=["--protocol-version", "1"])
    recv.start()
    send.start()
    send.wait_log(r"\[collector\] connected to .*; receiver has no file yet \(protocol version 1\)")
    recv.wait_log(r"authenticated; resume point \(no file yet\) at 0 \(protocol version 1\)")
    name = trail_name(1)
    size, digest = sc.add_trail(name, 500_000)
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30, what="the first trail shipped",
               alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(name)), digest, "the first trail")
    sc.note("version 1 agreed; a trail shipped identical")
    return recv, send


def appended_by_root(sc, recv, send):
    growing, final = trail_name(2, "not_terminated"), trail_name(2)
    src = os.path.join(sc.source, growing)
    with open(src, "wb") as f:
        f.write(os.urandom(100_000))
    os.link(src, os.path.join(sc.dist, growing))
    wait_until(lambda: file_size(sc.remote_file(growing)) == 100_000, timeout=30,
               what="the growing trail on the receiver", alive=(recv, send))
    with open(sc.remote_file(growing), "ab") as f:  # root; +a allows appends
        f.write(b"!!")
    mark_s, mark_r = send.mark(), recv.mark()
    for d in (sc.dist, sc.source):
        os.rename(os.path.join(d, growing), os.path.join(d, final))
    recv.wait_log(r"alert: \[web1 [^\]]+\] CLOSE %s refused: .*100002 bytes.* differs from the "
                  r"sender's file \(100000 bytes" % re.escape(final), since=mark_r)
    send.wait_log(r"alert: \[collector\] the receiver refused CLOSE %s: the file's size or "
                  r"SHA-256 differs from what the receiver stored; leaving the link in place"
                  % re.escape(final), since=mark_s)
    check(os.path.exists(os.path.join(sc.dist, final)), "the dist link went after a mismatch")
    check(os.path.exists(sc.remote_file(growing)) and not os.path.exists(sc.remote_file(final)),
          "the receiver renamed (sealed) the file whose digest did not match")
    sc.note("2 bytes appended by root on the receiver: CLOSE refused, alerts on both sides, "
            "link kept")
    # Out of the way for the next part: the operator's decision, by hand.
    os.unlink(os.path.join(sc.dist, final))


def diverged_replica(sc, recv, send):
    send.stop()
    # The receiver's newest trail: the one left open above. Same size, one
    # byte changed (the +a attribute lifted and put back, as root could).
    newest = sc.remote_file(trail_name(2, "not_terminated"))
    size_before = file_size(newest)
    chattr("-a", newest)
    with open(newest, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))
    chattr("+a", newest)
    stored = sha256_file(newest)
    # The sender's side of that trail, with more data, as if it kept growing.
    growing = trail_name(2, "not_terminated")
    src = os.path.join(sc.source, growing)
    with open(src, "wb") as f:
        f.write(os.urandom(size_before + 5000))
    os.link(src, os.path.join(sc.dist, growing))
    mark = send.mark()
    send.start()
    send.wait_log(r"alert: \[collector\] not sending more of .*%s: its first %d bytes differ from "
                  r"the receiver's copy" % (re.escape(growing), size_before), since=mark)
    nxt = trail_name(3)
    size, digest = sc.add_trail(nxt, 200_000)
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, nxt)), timeout=30,
               what="the next trail shipped", alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(nxt)), digest, "the next trail")
    check_equal(sha256_file(newest), stored, "the diverged replica (nothing appended after it)")
    check(os.path.exists(os.path.join(sc.dist, growing)), "the diverged trail's link went")
    sc.note("a replica changed on the receiver: caught at resume, nothing appended, next trail ok")


def minimum_versions(sc, recv, send):
    sc.stop_all()
    # Receiver host requiring version 1, sender speaking 0 only.
    text = open(recv.conf).read().replace('    host "web1" {',
                                           '    host "web1" {\n        min_protocol_version 1')
    sc.write_config(os.path.basename(recv.conf), text)
    send.extra_args = ["--protocol-version", "0"]
    recv.start()
    mark = recv.mark()
    send.start()
    recv.wait_log(r"refused: the peer speaks protocol version 0 only, and this host requires "
                  r"version 1 \(min_protocol_version\)", since=mark)
    sc.stop_all()
    # Sender host requiring version 1, receiver answering 0 only.
    sc.write_config(os.path.basename(recv.conf), text.replace("        min_protocol_version 1\n", ""))
    stext = open(send.conf).read().replace('    host "collector" {',
                                           '    host "collector" {\n        min_protocol_version 1')
    sc.write_config(os.path.basename(send.conf), stext)
    send.extra_args = ["--protocol-version", "1"]
    recv.extra_args = ["--protocol-version", "0"]
    recv.start()
    mark = send.mark()
    send.start()
    send.wait_log(r"handshake with .* failed: the peer speaks protocol version 0 only, and this "
                  r"host requires version 1", since=mark)
    sc.note("min_protocol_version 1 refuses version 0 on both sides, saying so")


def body(sc):
    recv, send = agreed(sc)
    appended_by_root(sc, recv, send)
    diverged_replica(sc, recv, send)
    minimum_versions(sc, recv, send)


if __name__ == "__main__":
    run_scenario("protocol_v1", body)
