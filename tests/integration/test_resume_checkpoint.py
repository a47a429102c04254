#!/usr/bin/env python3
"""Protocol 1 resumes without reading the trail again (docs/protocol.md,
"Resuming without reading the prefix"): the sender keeps its running SHA-256
at the offset the receiver last acknowledged, in memory across reconnects
and in a file of one record (--digest-state) across restarts.
  - the receiver restarts: the sender's resume hashes 0 bytes of the 4 MiB
    already stored (the checkpoint is at the resume point);
  - the sender stops (SIGTERM) and starts again: the checkpoint file (root's,
    0600, opened before the privilege drop) brings it back: 0 bytes read;
  - the sender is killed (-9) after the first checkpoint of its run was
    written: it resumes from that one, reading only the bytes after it;
  - the checkpoint file with a flipped byte: not believed (checksum), the
    whole prefix is read, shipping goes on;
  - a well-formed checkpoint for this file with a wrong digest (root rewrote
    the record): the resume reads the whole prefix before calling the replica
    divergent, finds it is not, and ships on: no alert; the proved state is
    the next checkpoint (a reconnect then reads 0 bytes);
  - a sender host added by a reload (SIGHUP): its checkpoint is kept in
    memory (the sandbox allows no mkdir or creating open), the sender lives;
  - the trail, renamed and closed at the end, is byte-identical on the
    receiver (its CLOSE digest matched)."""
import hashlib
import os
import re
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GrowingTrail, Skip, check, check_equal,  # noqa: E402
                     run_scenario, sha256_file, wait_until)

MiB = 1024 * 1024
RECORD = 160


def continued(send, mark, offset_re, read_re):
    """The sender's debug line for a resume from a checkpoint; (offset, read)."""
    m = send.wait_log(r"digest continued from the checkpoint at offset (%s), (%s) bytes read"
                      % (offset_re, read_re), since=mark)
    return int(m.group(1)), int(m.group(2))


def grow(sc, g, n, recv, send):
    """Appends `n` bytes and waits until the sender has the receiver's
    acknowledgement for all of it (stored is not enough: the checkpoint
    follows the acks)."""
    mark = send.mark()
    g.append(n)
    send.wait_log(r"acked %s offset %d " % (re.escape(g.name), g.size), since=mark)


def start(send):
    send.start(debug=True)  # and -d in extra_args: -dd, the ack lines


def body(sc):
    if os.environ.get("ADIST_PROTOCOL_VERSION") == "0":
        raise Skip("digests are protocol 1 only")
    recv, send = sc.standard_pair(receiver_args=["--protocol-version", "1"],
                                  sender_args=["--protocol-version", "1", "-d"])
    checkpoint = os.path.join(sc.root, "digests", "collector")
    recv.start()
    start(send)
    g = GrowingTrail(sc, 1)
    grow(sc, g, 4 * MiB, recv, send)

    mark = send.mark()
    recv.stop()
    recv.start()
    off, read = continued(send, mark, r"\d+", r"\d+")
    check_equal((off, read), (4 * MiB, 0), "resume after the receiver restarted (offset, read)")
    grow(sc, g, MiB, recv, send)
    sc.note("receiver restarted: the sender resumed at 4 MiB reading 0 bytes of its trail")

    send.stop()
    st = os.stat(checkpoint)
    check_equal(st.st_size, RECORD, "the checkpoint file's size")
    check_equal(stat.S_IMODE(st.st_mode), 0o600, "the checkpoint file's mode")
    if os.geteuid() == 0:
        check_equal(st.st_uid, 0, "the checkpoint file's owner (opened before the drop)")
    mark = send.mark()
    start(send)
    off, read = continued(send, mark, r"\d+", r"\d+")
    check_equal((off, read), (5 * MiB, 0), "resume after the sender restarted (offset, read)")
    sc.note("sender stopped and started: the checkpoint file brought it back, 0 bytes read")

    # The first ack of this run wrote the file (then at most every 30 s).
    grow(sc, g, 2 * MiB, recv, send)
    send.kill9()
    g.append(MiB)
    mark = send.mark()
    start(send)
    off, read = continued(send, mark, r"\d+", r"\d+")
    check(5 * MiB < off <= 7 * MiB and off + read == 7 * MiB,
          f"resume after kill -9: from the checkpoint at {off}, {read} bytes read to 7 MiB")
    send.wait_log(r"acked %s offset %d " % (re.escape(g.name), g.size), since=mark)
    sc.note(f"sender killed (-9): resumed from its checkpoint at {off}, reading {read} bytes")

    send.stop()
    data = bytearray(open(checkpoint, "rb").read())
    data[60] ^= 0x01
    open(checkpoint, "wb").write(bytes(data))
    mark = send.mark()
    start(send)
    send.wait_log(r"no digest checkpoint taken from it \(its checksum does not match", since=mark)
    grow(sc, g, MiB, recv, send)
    check(not re.search(r"digest continued from the checkpoint", send.text(mark)),
          "a torn checkpoint was used")
    sc.note("a checkpoint with a flipped byte is not believed: the prefix is read, shipping goes on")

    send.stop()
    rec = bytearray(open(checkpoint, "rb").read())
    rec[24] ^= 0xFF  # the chaining value: a digest this file never had
    rec[128:160] = hashlib.sha256(bytes(rec[:128])).digest()
    open(checkpoint, "wb").write(bytes(rec))
    mark = send.mark()
    start(send)
    send.wait_log(r"the digest checkpoint at offset \d+ does not lead to the receiver's digest; "
                  r"reading the whole prefix", since=mark)
    grow(sc, g, MiB, recv, send)
    check(not re.search(r"alert:", send.text(mark)), "an alert for a wrong checkpoint")
    # The whole read proved the prefix: the next resume starts from there.
    mark = send.mark()
    recv.stop()
    recv.start()
    off, read = continued(send, mark, r"\d+", r"\d+")
    check_equal((off, read), (g.size, 0), "resume after the wrong checkpoint was replaced")
    sc.note("a well-formed but wrong checkpoint: the whole prefix read, no alert, shipping goes "
            "on, and the next resume starts from the proved state")

    # A host added by a reload: its checkpoint file cannot be opened in the
    # sandbox (no mkdir, no creating open): kept in memory, the daemon lives.
    mark = send.mark()
    text = open(send.conf).read().rstrip()
    assert text.endswith("}")
    # The same receiver (the sandbox allows the ports of the start only),
    # another password: refused there, and optional: it holds no link.
    remote = re.search(r'remote "(tls://[^"]+)"', text).group(1)
    fingerprint = re.search(r'fingerprint "([^"]+)"', text).group(1)
    text = text[:-1] + (f'    host "spare" {{\n        remote "{remote}"\n'
                        f'        fingerprint "{fingerprint}"\n'
                        '        password "spare-password"\n        optional yes\n    }\n}\n')
    sc.write_config(os.path.basename(send.conf), text)
    send.send_signal(signal.SIGHUP)
    send.wait_log(r"\[spare\] the digest checkpoint is kept in memory only \(added by a reload",
                  since=mark)
    send.wait_log(r"sender hosts added: spare", since=mark)
    grow(sc, g, MiB, recv, send)
    check(send.running(), "the sender after a reload that added a host")
    sc.note("a host added by a reload keeps its checkpoint in memory; the sender goes on")

    g.rename("terminated")
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, g.name)), timeout=60,
               what="the closed trail's link gone", alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(g.name)), g.hash.hexdigest(), "the shipped trail")
    sc.note(f"the trail ({g.size} bytes) closed identical on the receiver")
    sc.stop_all()


if __name__ == "__main__":
    run_scenario("resume_checkpoint", body)
