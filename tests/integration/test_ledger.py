#!/usr/bin/env python3
"""The receiver's ledger (docs/protocol.md, "Ledger"; docs/security.md):
  - trails ship; the receiver restarts while a trail is open, and takes that
    trail's SHA-256 from its ledger: the log says 0 bytes were read back (a
    count, not a time); the trail then closes with a matching digest;
  - kill -9 of the receiver in the middle of a trail: the restart takes the
    digest from the ledger (plus the bytes written after the last entry),
    the trail completes, no alert, and verify proves it;
  - as root, the supervisor signs the ledger's head (heads file beside the
    ledger, outside the host directory) with the key `auditdistd ledger-key`
    prints; `auditdistd verify --key` proves the host directory: exit 0;
  - on copies of the stored tree, verify fails (exit 1, a FAIL line saying
    what) for: the ledger cut by one entry, the ledger cut mid-entry, a byte
    of the ledger edited, 2 bytes appended to a trail (as root could with
    +a), one byte of a trail edited, a trail removed, a forged head, and an
    entry number signed twice (with the real key) for other contents;
  - without the key, verify still proves the chain and the trails but says
    that signatures were not checked;
  - a receipt (signed heads kept elsewhere) given to verify still matches;
    with the ledger cut and the heads file emptied, the receipt fails."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, file_size, run_scenario, trail_name,  # noqa: E402
                     wait_until)

LEDGER_ENTRY = 264
HEAD = 152


def run(sc, *args):
    p = subprocess.run([sc.binary, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def verify(sc, host_dir, key=None):
    args = ["verify", host_dir] + (["--key", key] if key else [])
    return run(sc, *args)


def sign(sc, message):
    """Ed25519 signature of `message` with the scenario's ledger key (32
    raw bytes), by the openssl command (PKCS#8 DER around the seed)."""
    seed = open(os.path.join(sc.root, "ledger-key"), "rb").read()
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    key, msg, sig = sc.path("sign.der"), sc.path("sign.msg"), sc.path("sign.sig")
    open(key, "wb").write(der)
    open(msg, "wb").write(message)
    subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-keyform", "DER", "-inkey", key,
                    "-in", msg, "-out", sig], check=True, capture_output=True, timeout=30)
    os.unlink(key)
    return open(sig, "rb").read()


def ship_and_restart(sc):
    recv, send = sc.standard_pair(receiver_args=["--ledger-sign-interval", "1"])
    recv.start(debug=True)
    send.start()
    first = trail_name(1)
    sc.add_trail(first, 300_000)
    growing, final = trail_name(2, "not_terminated"), trail_name(2)
    src = os.path.join(sc.source, growing)
    with open(src, "wb") as f:
        f.write(os.urandom(250_000))
    os.link(src, os.path.join(sc.dist, growing))
    wait_until(lambda: file_size(sc.remote_file(growing)) == 250_000, timeout=30,
               what="the growing trail stored", alive=(recv, send))
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, first)), timeout=30,
               what="the first trail acknowledged", alive=(recv, send))
    ledger_dir = os.path.join(sc.remote, ".auditdistd-ledger", "web1")
    check(os.path.isfile(os.path.join(ledger_dir, "ledger")), "no ledger beside the host directory")
    check(not any(n.startswith(".auditdistd-ledger") for n in os.listdir(sc.host_dir)),
          "the ledger is inside the host directory")
    recv.stop()
    mark = recv.mark()
    recv.start(debug=True)
    recv.wait_log(r"digest of %s at 250000 bytes: from the ledger, 0 bytes read back"
                  % re.escape(growing), since=mark)
    check_equal(recv.count_log(r"digest of .* bytes: not in the ledger", since=mark), 0,
                "trails taken whole after the restart")
    with open(src, "ab") as f:
        f.write(os.urandom(50_000))
    for d in (sc.dist, sc.source):
        os.rename(os.path.join(d, growing), os.path.join(d, final))
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, final)), timeout=30,
               what="the growing trail closed", alive=(recv, send))
    check_equal(recv.count_log(r"alert:", since=mark), 0, "alerts after the restart")
    recv.wait_log(r"signed the ledger head of .*web1 at entry", since=mark)
    sc.note("restart: digest from the ledger, 0 bytes read back; CLOSE matched; head signed")
    killed_mid_transfer(sc, recv, send)
    sc.stop_all()
    return ledger_dir


def killed_mid_transfer(sc, recv, send):
    """kill -9 of the receiver while a 24 MiB trail arrives: after the
    restart the trail's digest comes from its last entry plus whatever was
    written after it (a `recovered` entry), the trail completes, and the
    ledger still proves everything (checked by verify in body())."""
    big = trail_name(3)
    sc.add_trail(big, 24 * 1024 * 1024)
    wait_until(lambda: file_size(sc.remote_file(big)) > 4 * 1024 * 1024, timeout=60,
               interval=0.002, what="part of the big trail stored", alive=(recv, send))
    recv.kill9()
    mark = recv.mark()
    recv.start(debug=True)
    recv.wait_log(r"digest of %s at \d+ bytes: from the ledger, \d+ bytes read back" % re.escape(big),
                  since=mark)
    wait_until(lambda: not os.path.exists(os.path.join(sc.dist, big)), timeout=60,
               what="the big trail shipped after the kill", alive=(recv, send))
    check_equal(recv.count_log(r"alert:", since=mark), 0, "alerts after the kill")
    sc.note("kill -9 mid-transfer: digest from the ledger plus the tail, trail completed")


def damaged_copies(sc, key):
    cases = []

    def copy(label):
        root = sc.path("copy-" + label)
        shutil.copytree(sc.remote, root)
        return root, os.path.join(root, "web1"), os.path.join(root, ".auditdistd-ledger", "web1")

    def cut_entry(host, led):
        path = os.path.join(led, "ledger")
        os.truncate(path, os.path.getsize(path) - LEDGER_ENTRY)
    cases.append(("ledger cut by one entry", cut_entry, r"the ledger was cut|past what the ledger"))

    def cut_mid(host, led):
        path = os.path.join(led, "ledger")
        os.truncate(path, os.path.getsize(path) - 100)
    cases.append(("ledger cut mid-entry", cut_mid, r"partial entry"))

    def edit_ledger(host, led):
        with open(os.path.join(led, "ledger"), "r+b") as f:
            f.seek(LEDGER_ENTRY + 20)
            b = f.read(1)
            f.seek(LEDGER_ENTRY + 20)
            f.write(bytes([b[0] ^ 1]))
    cases.append(("a ledger byte edited", edit_ledger, r"hash chain|not what was signed|entry 1"))

    def append_trail(host, led):
        with open(os.path.join(host, trail_name(1)), "ab") as f:
            f.write(b"!!")
    cases.append(("2 bytes appended to a trail", append_trail, r"2 bytes past what the ledger covers"))

    def edit_trail(host, led):
        with open(os.path.join(host, trail_name(2)), "r+b") as f:
            f.seek(1000)
            b = f.read(1)
            f.seek(1000)
            f.write(bytes([b[0] ^ 0x55]))
    cases.append(("a trail byte edited", edit_trail, r"bytes edited"))

    def remove_trail(host, led):
        os.unlink(os.path.join(host, trail_name(1)))
    cases.append(("a trail removed", remove_trail, r"in the ledger but missing"))

    def forge_head(host, led):
        with open(os.path.join(led, "heads"), "r+b") as f:
            f.seek(-HEAD + 10, os.SEEK_END)  # the entry number of the last head
            b = f.read(1)
            f.seek(-HEAD + 10, os.SEEK_END)
            f.write(bytes([b[0] ^ 2]))
    cases.append(("a signed head altered", forge_head, r"bad signature"))

    def resealed(host, led):
        # The journald CVE-2023-31439 case: someone holding the key signs a
        # second head for an entry number already signed, other contents.
        path = os.path.join(led, "heads")
        last = open(path, "rb").read()[-HEAD:]
        fields = bytearray(last[:88])
        fields[24] ^= 1  # another entry hash
        with open(path, "ab") as f:
            f.write(bytes(fields) + sign(sc, b"auditdistd ledger head 1" + bytes(fields)))
    cases.append(("an entry signed twice", resealed, r"signed twice for different contents"))

    for label, damage, expected in cases:
        root, host, led = copy(re.sub(r"\W+", "-", label))
        code, out = verify(sc, host)  # sanity: the copy verifies before the damage
        check_equal(code, 0, f"verify of the undamaged copy for '{label}':\n{out}")
        damage(host, led)
        code, out = verify(sc, host, key)
        check_equal(code, 1, f"verify exit status after '{label}':\n{out}")
        check(re.search(r"^FAIL: .*(%s)" % expected, out, re.M),
              f"verify after '{label}' does not say what ({expected}):\n{out}")
        check("FAILED" in out, f"no FAILED summary after '{label}'")
        shutil.rmtree(root)
    sc.note("verify fails loudly on " + ", ".join(c[0] for c in cases))


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root: the supervisor signs the ledger")
    ship_and_restart(sc)
    code, key = run(sc, "ledger-key", "--key-file", os.path.join(sc.root, "ledger-key"))
    check_equal(code, 0, f"auditdistd ledger-key: {key}")
    key = key.strip()
    check(re.fullmatch(r"ed25519:[0-9a-f]{64}", key), f"ledger-key printed {key!r}")
    code, out = verify(sc, sc.host_dir, key)
    check_equal(code, 0, f"verify of the stored host directory:\n{out}")
    check(re.search(r"^ok: 3 of 3 trails match the ledger", out, re.M), out)
    check(re.search(r"^ok: [1-9]\d* signed heads match the ledger", out, re.M), out)
    code, out = verify(sc, sc.host_dir)
    check_equal(code, 0, f"verify without a key:\n{out}")
    check("signatures NOT checked" in out, f"verify without a key does not say so:\n{out}")
    sc.note("verify --key: OK; without a key it says signatures were not checked")
    # A receipt: the signed heads kept away from the receiver.
    receipt = sc.path("receipt")
    shutil.copy(os.path.join(sc.remote, ".auditdistd-ledger", "web1", "heads"), receipt)
    code, out = run(sc, "verify", "--key", key, "--receipt", receipt, sc.host_dir)
    check_equal(code, 0, f"verify with a receipt:\n{out}")
    check(re.search(r"^ok: receipt .* still in the ledger", out, re.M), out)
    # The ledger cut and the heads file cut with it: the receipt still knows.
    root = sc.path("copy-receipt")
    shutil.copytree(sc.remote, root)
    led = os.path.join(root, ".auditdistd-ledger", "web1")
    os.truncate(os.path.join(led, "ledger"), LEDGER_ENTRY)
    os.truncate(os.path.join(led, "heads"), 0)
    code, out = run(sc, "verify", "--key", key, "--receipt", receipt, os.path.join(root, "web1"))
    check_equal(code, 1, f"verify of a cut ledger with its heads removed, with a receipt:\n{out}")
    check(re.search(r"^FAIL: receipt .*the ledger was cut", out, re.M), out)
    shutil.rmtree(root)
    sc.note("a receipt kept elsewhere catches a ledger cut together with its heads")
    damaged_copies(sc, key)


if __name__ == "__main__":
    run_scenario("ledger", body)
