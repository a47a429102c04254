#!/usr/bin/env python3
"""Connections that must be refused, each with its own receiver and sender
(all four run at the same time):
  password     the sender's password differs from the receiver's;
  fingerprint  the sender pins the fingerprint of another certificate;
  host_name    the receiver knows the sender's address, but not its name;
  address      the receiver knows the name, but at 127.0.0.2 (the sender
               connects from 127.0.0.1).
Each is refused with a clear log line on the side that decides, again on the
sender's retry; the receiver never authenticates it, nothing at all is
written under the receiver's directory, the dist directory is untouched (names,
sizes, mtimes, contents) and no password shows in any log."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port, list_files, run_scenario,  # noqa: E402
                     snapshot, trail_name, write_random_file)

RIGHT = "r1ght-Passw0rd-xyz"
WRONG = "wr0ng-Passw0rd-abc"

CASES = {
    # name: (receiver host name, receiver host remote, sender password,
    #        use the other certificate's fingerprint,
    #        [(log, regex)] that must appear at least twice (first try and retry))
    "password": ("web1", "127.0.0.1", WRONG, False, [
        ("receiver", r"\[web1 127\.0\.0\.1:\d+\] refused: authentication failed"),
        ("sender", r"closed the connection during the handshake after our password proof"),
    ]),
    "fingerprint": ("web1", "127.0.0.1", RIGHT, True, [
        ("sender", r"presented a certificate that does not match the configured fingerprint"),
    ]),
    "host_name": ("web2", "127.0.0.1", RIGHT, False, [
        ("receiver", r'refused: no host named "web1" is configured for this address'),
        ("sender", r"closed the connection during the handshake"),
    ]),
    "address": ("web1", "127.0.0.2", RIGHT, False, [
        ("receiver", r"connection from 127\.0\.0\.1:\d+ refused: no host is configured "
                     r"with this address"),
        ("sender", r"TLS handshake with tls://127\.0\.0\.1:\d+ failed"),
    ]),
}


def body(sc):
    cert, key, fp = sc.make_cert("receiver")
    _, _, other_fp = sc.make_cert("impostor")
    check(fp != other_fp, "test bug: two certificates with one fingerprint")
    cases = {}
    for case, (rhost, rremote, spassword, other, _) in CASES.items():
        dist = sc.mkdir(case, "dist")
        remote = sc.path(case, "remote")
        for i, kind in enumerate(["terminated", "not_terminated"]):
            write_random_file(os.path.join(dist, trail_name(20 + i, kind)), 100_000 + i)
        port = free_port()
        url = f"tls://127.0.0.1:{port}"
        rconf = sc.receiver_config(f"{case}/receiver.conf", url, remote, cert, key,
                                   [(rhost, rremote, RIGHT)])
        sconf = sc.sender_config(f"{case}/sender.conf", "web1", dist,
                                 [("collector", url, other_fp if other else fp, spassword)])
        recv = sc.daemon(f"{case}/receiver", rconf, "receiver")
        send = sc.daemon(f"{case}/sender", sconf, "sender")
        cases[case] = (recv, send, dist, remote, snapshot(dist))
    for recv, send, *_ in cases.values():
        recv.start()
        send.start()

    for case, (recv, send, dist, remote, before) in cases.items():
        logs = {"receiver": recv, "sender": send}
        for side, regex in CASES[case][4]:
            logs[side].wait_log(regex, timeout=30, count=2)  # the retry is refused too
        send.wait_log(r"reconnecting in \d+ ms", timeout=30, count=2)
        if case == "fingerprint":
            m = send.wait_log(r"expected (SHA256=[0-9A-F:]{95}), got (SHA256=[0-9A-F:]{95})")
            check_equal((m.group(1), m.group(2)), (other_fp, fp),
                        "fingerprints named in the sender's refusal")
        for d in (recv, send):
            d.assert_running(f"after the refusal ({case})")
            text = d.full_text()
            for secret in (RIGHT, WRONG):
                check(secret not in text, f"{case}: a password appears in the {d.label} log")
        check("authenticated" not in recv.full_text(), f"{case}: the receiver authenticated it")
        check(" OPEN " not in recv.full_text(), f"{case}: the receiver got an OPEN")
        check("shipped" not in send.full_text(), f"{case}: the sender shipped something")
        # Beside the host directories: the hosts' ledgers, which must be empty.
        ledgers = [f for f in list_files(remote) if f.startswith(".auditdistd-ledger/")]
        check_equal([f for f in list_files(remote) if f not in ledgers], [],
                    f"{case}: files under the receiver's directory")
        check_equal(sum(os.path.getsize(os.path.join(remote, f)) for f in ledgers), 0,
                    f"{case}: bytes in the ledgers")
        check_equal(snapshot(dist), before, f"{case}: dist directory")
        sc.note(f"{case}: refused as expected")


if __name__ == "__main__":
    run_scenario("refusals", body)
