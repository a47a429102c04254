#!/usr/bin/env python3
"""Receipts (docs/protocol.md, "Receipts"): a real sender and receiver,
protocol 1, as root (the receiver's supervisor signs its ledger heads).
  - the sender, configured with the receiver's `ledger_key`, asks for the
    signed head (HEAD) and keeps it in its `receipt_file`, outside the dist
    directory; `status` shows the receipt; the file is whole signed heads,
    append-only (chattr +a): even root cannot overwrite, truncate or remove
    it without lifting the attribute first;
  - `auditdistd verify --key K --receipt <the sender's file, unchanged>` of
    the untampered receiver passes;
  - a head appended to the receiver's heads file without the key (a forged
    signature) is refused by the sender: an alert, nothing kept;
  - root on the receiver cuts the ledger back to the end of the first trail,
    removes the later trails and empties the heads file (chattr -a/-i first),
    and the restarted receiver signs the cut ledger again: verify without
    the receipt is satisfied by this consistent rewritten history (the
    journald CVE-2023-31438 case), verify with the sender's receipt FAILS
    (the ledger was cut);
  - the sender, asking again, gets a head older than its receipt: an alert
    in its log and RECEIPT in `status`; its receipt file is not changed."""
import errno
import fcntl
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, run_scenario, trail_name,  # noqa: E402
                     wait_until)

LEDGER_ENTRY = 264
HEAD = 152
CLOSE_KIND = 4


def run(sc, *args):
    p = subprocess.run([sc.binary, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def sender_status(sc, sock):
    code, out = run(sc, "status", "--control-socket", sock, "--json")
    check_equal(code, 0, f"auditdistd status: {out}")
    hosts = [h for h in json.loads(out)["hosts"] if h["role"] == "sender"]
    check_equal(len(hosts), 1, "sender entries in the status")
    return hosts[0]


def heads_in(path):
    """(count, last seq) of a file of signed heads."""
    data = open(path, "rb").read() if os.path.exists(path) else b""
    check_equal(len(data) % HEAD, 0, f"{path} is whole signed heads")
    if not data:
        return 0, None
    return len(data) // HEAD, int.from_bytes(data[-HEAD + 8:-HEAD + 16], "little")


def ledger_count(ledger):
    return os.path.getsize(ledger) // LEDGER_ENTRY


FS_IOC_GETFLAGS = 0x80086601
FS_APPEND_FL = 0x20


def check_append_only(sc, path):
    """The sender made its receipt file append-only (it starts as root)."""
    with open(path, "rb") as f:
        flags = bytearray(4)
        fcntl.ioctl(f.fileno(), FS_IOC_GETFLAGS, flags)
    check(int.from_bytes(flags, "little") & FS_APPEND_FL, f"{path} is not append-only")
    before = open(path, "rb").read()
    for what, attempt in (("overwritten", lambda: open(path, "r+b").write(b"x")),
                          ("truncated", lambda: os.truncate(path, 0)),
                          ("removed", lambda: os.unlink(path))):
        try:
            attempt()
        except OSError as e:
            check_equal(e.errno, errno.EPERM, f"the receipt file {what}: {e}")
        else:
            check(False, f"root {what} the append-only receipt file")
    check_equal(open(path, "rb").read(), before, "the receipts after the attempts")
    sc.note("the receipt file is append-only: root could not overwrite, truncate or remove it")


def configure_receipts(sc, send, key, receipts):
    text = open(send.conf).read()
    check('password "s3cret"\n' in text, "the sender config has the expected host block")
    text = text.replace('password "s3cret"\n', 'password "s3cret"\n'
                        f'        ledger_key "{key}"\n'
                        f'        receipt_file "{receipts}"\n')
    sc.write_config(os.path.basename(send.conf), text)


def ship_and_collect(sc, recv, send, receipts, ledger, sock):
    """Two rounds (trail 1, then trails 2 and 3): after each, idle, the
    supervisor signs the whole ledger and the sender's receipt reaches its
    last entry; the second receipt extends the first."""
    for round_, trails in enumerate(((1,), (2, 3))):
        for i in trails:
            sc.add_trail(trail_name(i), 200_000 + i)
        wait_until(lambda: not os.listdir(sc.dist), timeout=30, what="the trails shipped",
                   alive=(recv, send))
        wait_until(lambda: heads_in(receipts)[1] == ledger_count(ledger) - 1, timeout=30,
                   what=f"a receipt for the ledger's last entry (round {round_ + 1})",
                   alive=(recv, send))
    count, last = heads_in(receipts)
    check(count >= 2, f"{count} receipt(s) kept over two rounds")
    check(not receipts.startswith(sc.dist), "receipts kept inside the dist directory")
    st = sender_status(sc, sock)
    check(st["receipt"] and st["receipt"].startswith(f"entry {last}, signed "),
          f"status receipt: {st['receipt']!r}")
    check(st["receipt_alert"] is None, f"status receipt_alert: {st['receipt_alert']!r}")
    check_equal(send.count_log(r"alert:"), 0, "sender alerts while shipping")
    sc.note(f"sender kept {count} receipts, the last for entry {last} of "
            f"{ledger_count(ledger)}; status shows it")
    return last


def forged_head(sc, send, ledger_dir, receipts, last):
    """A head appended to the receiver's heads file without the key (what a
    worker, or root without the key, could do): the next entry number, the
    right ledger, a signature that is not the supervisor's. The sender
    refuses it (alert) and keeps nothing."""
    heads = os.path.join(ledger_dir, "heads")
    real = open(heads, "rb").read()[-HEAD:]
    fields = bytearray(real[:88])
    fields[8:16] = (last + 1).to_bytes(8, "little")
    before = open(receipts, "rb").read()
    mark = send.mark()
    with open(heads, "ab") as f:  # +a allows appending
        f.write(bytes(fields) + os.urandom(64))
    send.wait_log(r"alert: .*receipt refused: signed head for entry %d does not verify with "
                  r"the configured ledger_key" % (last + 1), since=mark, timeout=30)
    check_equal(open(receipts, "rb").read(), before, "the sender's receipts after a forged head")
    sc.note("a head appended without the key: the sender logs an alert, keeps nothing")


def cut_after_first_trail(sc, ledger_dir):
    """The ledger cut after trail 1's close entry, trails 2 and 3 removed,
    the heads file emptied: a consistent, shorter history."""
    ledger = os.path.join(ledger_dir, "ledger")
    data = open(ledger, "rb").read()
    first = trail_name(1).encode()
    cut = None
    for i in range(len(data) // LEDGER_ENTRY):
        e = data[i * LEDGER_ENTRY:(i + 1) * LEDGER_ENTRY]
        if e[5] == CLOSE_KIND and e[24:56].rstrip(b"\0") == first:
            cut = (i + 1) * LEDGER_ENTRY
            break
    check(cut is not None, "no close entry for the first trail in the ledger")
    heads = os.path.join(ledger_dir, "heads")
    victims = [os.path.join(sc.host_dir, trail_name(i)) for i in (2, 3)]
    subprocess.run(["chattr", "-a", "-i", ledger, heads, *victims], check=True, timeout=30)
    os.truncate(ledger, cut)
    os.truncate(heads, 0)
    for v in victims:
        os.unlink(v)
    return cut // LEDGER_ENTRY


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root: the supervisor signs the ledger")
    if os.environ.get("ADIST_PROTOCOL_VERSION") == "0":
        raise Skip("receipts are protocol 1 only")
    sock = sc.path("sender.sock")
    recv, send = sc.standard_pair(receiver_args=["--ledger-sign-interval", "1"],
                                  sender_args=["--receipt-interval", "1", "--control-socket", sock])
    recv.start(debug=True)
    wait_until(lambda: os.path.exists(os.path.join(sc.root, "ledger-key.pub")), timeout=30,
               what="the receiver's ledger key", alive=(recv,))
    code, key = run(sc, "ledger-key", "--key-file", os.path.join(sc.root, "ledger-key"))
    check_equal(code, 0, f"auditdistd ledger-key: {key}")
    key = key.strip()
    receipts = sc.path("receipts", "web1", "heads")
    configure_receipts(sc, send, key, receipts)
    send.start(debug=True)
    code, out = run(sc, "-n", "-u", "nobody", "-c", send.conf)
    check_equal(code, 0, f"-n of the sender's configuration:\n{out}")
    check(f"receipts: host collector (protocol 1) keeps the heads signed by {key} in {receipts}"
          in out, f"-n does not name the receipts:\n{out}")
    ledger_dir = os.path.join(sc.remote, ".auditdistd-ledger", "web1")
    ledger = os.path.join(ledger_dir, "ledger")
    last = ship_and_collect(sc, recv, send, receipts, ledger, sock)
    check_append_only(sc, receipts)

    code, out = run(sc, "verify", "--key", key, "--receipt", receipts, sc.host_dir)
    check_equal(code, 0, f"verify of the untampered receiver with the sender's receipts:\n{out}")
    check(re.search(r"^ok: receipt .* signed heads still in the ledger", out, re.M), out)
    sc.note("verify --receipt <sender's file>: OK on the untampered receiver")

    forged_head(sc, send, ledger_dir, receipts, last)
    recv.stop()
    kept = open(receipts, "rb").read()
    entries = cut_after_first_trail(sc, ledger_dir)
    check(entries - 1 < last, f"the cut ({entries} entries) is before the receipt's entry {last}")
    mark, smark = recv.mark(), send.mark()
    recv.start(debug=True)
    recv.wait_log(r"signed the ledger head of .*web1 at entry %d\b" % (entries - 1), since=mark)
    code, out = run(sc, "verify", "--key", key, sc.host_dir)
    check_equal(code, 0, f"verify without the receipt of the cut, re-signed ledger:\n{out}")
    code, out = run(sc, "verify", "--key", key, "--receipt", receipts, sc.host_dir)
    check_equal(code, 1, f"verify with the sender's receipt of the cut, re-signed ledger:\n{out}")
    check(re.search(r"^FAIL: receipt .*signed entry %d but the ledger has only %d entries: "
                    r"the ledger was cut" % (last, entries), out, re.M), out)
    check("FAILED" in out, f"no FAILED summary:\n{out}")
    sc.note(f"ledger cut to {entries} entries and re-signed: verify alone passes, "
            "verify --receipt <sender's file> FAILS")

    send.wait_log(r"alert: .*receipt refused: signed head for entry %d is older than the "
                  r"receipt kept for entry %d: the ledger went back" % (entries - 1, last),
                  since=smark, timeout=60)
    st = sender_status(sc, sock)
    check(st["receipt_alert"] and "went back" in st["receipt_alert"],
          f"status receipt_alert after the cut: {st['receipt_alert']!r}")
    code, out = run(sc, "status", "--control-socket", sock)
    check(re.search(r"^  RECEIPT: .*went back", out, re.M), f"status text:\n{out}")
    code, out = run(sc, "status", "--control-socket", sock, "--prometheus")
    check(re.search(r"^auditdistd_receipt_alert\{[^}]*\} 1$", out, re.M), f"prometheus:\n{out}")
    check_equal(open(receipts, "rb").read(), kept, "the sender's receipts after the cut")
    sc.note("the sender, asking again, logs an alert and shows RECEIPT in status; "
            "its receipts are unchanged")
    sc.stop_all()


if __name__ == "__main__":
    run_scenario("receipts", body)
