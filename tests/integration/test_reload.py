#!/usr/bin/env python3
"""SIGHUP reloads the configuration without dropping what the change does
not affect. One receiver (started as root, so it drops to nobody and the
root supervisor reads the root-only config for it), three senders.
  1. A config with a syntax error: the receiver logs file:line and keeps
     running the old one; nobody is disconnected.
  2. Host web3 and a second listener (tcp://) added: web3 connects to the new
     listener and ships; web1 and web2 keep their connections.
  3. web2's password changed on the receiver: web2's connection is closed and
     it is refused; after web2's sender reloads with the new password it
     ships again. web1 is untouched throughout.
  4. The second listener removed: new connections to it are refused, while
     web3's established connection goes on shipping.
  5. web3 removed: its connection is closed and it is refused from then on.
  6. A sender reload with a wrong fingerprint: that uplink restarts and
     refuses the receiver; back to the right one, it ships again.
  7. A pidfile change needs a restart: refused, nothing applied.
Every shipped trail arrives byte-identical."""
import grp
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until, write_random_file)

PASSWORDS = {"web1": "pw-one", "web2": "pw-two", "web3": "pw-three"}


def receiver_text(sc, ports, hosts, passwords, extra=""):
    lines = ['pidfile "none"', "timeout 5", extra, "receiver {"]
    lines += [f'    listen "{url}"' for url in ports]
    lines += [f'    directory "{sc.remote}"', f'    certfile "{sc.cert}"', f'    keyfile "{sc.key}"']
    for h in hosts:
        lines += [f'    host "{h}" {{', '        remote "127.0.0.1"',
                  f'        password "{passwords[h]}"', "    }"]
    return "\n".join(lines + ["}", ""])


def sender_text(name, dist, url, fingerprint, password):
    fp = f'        fingerprint "{fingerprint}"' if url.startswith("tls") else ""
    return "\n".join([f'name "{name}"', 'pidfile "none"', "timeout 5", "sender {",
                      f'    directory "{dist}"', '    host "collector" {', f'        remote "{url}"',
                      fp, f'        password "{password}"', "    }", "}", ""])


def body(sc):
    sc.cert, sc.key, fp = sc.make_cert("receiver")
    sc.remote = sc.mkdir("remote")
    # As the Debian package sets /var/audit/remote up (root:auditdistd 0770):
    # a host added by a reload gets its directory made by the unprivileged worker.
    os.chown(sc.remote, 0, grp.getgrnam("nogroup").gr_gid)
    os.chmod(sc.remote, 0o770)
    tls_url = f"tls://127.0.0.1:{free_port()}"
    tcp_port = free_port()
    tcp_url = f"tcp://127.0.0.1:{tcp_port}"
    rconf = sc.write_config("receiver.conf", receiver_text(sc, [tls_url], ["web1", "web2"], PASSWORDS))
    recv = sc.daemon("receiver", rconf, "receiver")
    senders, dists, confs, counter = {}, {}, {}, [0]
    for name in ("web1", "web2", "web3"):
        dists[name] = sc.mkdir(name, "dist")
        url = tcp_url if name == "web3" else tls_url
        confs[name] = sc.write_config(f"{name}/sender.conf",
                                      sender_text(name, dists[name], url, fp, PASSWORDS[name]))
        senders[name] = sc.daemon(f"{name}/sender", confs[name], "sender")
    web1, web2, web3 = senders["web1"], senders["web2"], senders["web3"]

    def ship(host, timeout=30):
        counter[0] += 1
        name = trail_name(counter[0])
        src = sc.path(host, "src-" + name)
        digest = write_random_file(src, 256 * 1024)
        os.link(src, os.path.join(dists[host], name))
        senders[host].wait_log(rf"shipped {name}", since=0, timeout=timeout)
        check_equal(sha256_file(os.path.join(sc.remote, host, name)), digest, f"sha256 of {host}/{name}")

    def hup(daemon, expect, timeout=10):
        mark = daemon.mark()
        daemon.send_signal(signal.SIGHUP)
        return daemon.wait_log(expect, since=mark, timeout=timeout)

    recv.start()
    web1.start()
    web2.start()
    ship("web1")
    ship("web2")
    rmark, m1, m2 = recv.mark(), web1.mark(), web2.mark()

    def untouched(*hosts):
        for h in hosts:
            lost = senders[h].count_log(r"connection lost|reconnecting", since={"web1": m1, "web2": m2}[h])
            check(lost == 0, f"{h} lost its connection during a reload that did not concern it")
            check(recv.count_log(rf"\[{h} .*(closing its connection|authenticated)", since=rmark) == 0,
                  f"the receiver dropped or re-authenticated {h} during a reload that did not concern it")

    # 1. A syntax error: file:line, old configuration kept.
    with open(rconf, "a") as f:
        f.write("receiver {\n    listen\n")
    m = hup(recv, r"reload: .*receiver\.conf:\d+: .*; keeping the running configuration")
    sc.note(f"1: bad config refused: {m.group(0)!r}")
    recv.assert_running("after a bad reload")
    ship("web1")
    untouched("web1", "web2")

    # 2. A host and a listener added.
    sc.write_config("receiver.conf", receiver_text(sc, [tls_url, tcp_url], ["web1", "web2", "web3"],
                                                   PASSWORDS))
    m = hup(recv, r"configuration reloaded from .*")
    sc.note(f"2: {m.group(0)}")
    check("listen added: " + tcp_url in m.group(0) and "receiver hosts added: web3" in m.group(0),
          "the reload summary does not list the new listener and host")
    web3.start()
    ship("web3")
    ship("web1")
    untouched("web1", "web2")

    # 3. web2's password changed on the receiver.
    new_pw = dict(PASSWORDS, web2="pw-two-new")
    sc.write_config("receiver.conf", receiver_text(sc, [tls_url, tcp_url], ["web1", "web2", "web3"], new_pw))
    hup(recv, r"\[web2\] changed by the new configuration: closing its connection")
    web2.wait_log(r"connection lost|closed the connection", since=m2)
    web2.wait_log(r"does not know our password|closed the connection during the handshake", since=m2)
    sc.write_config("web2/sender.conf", sender_text("web2", dists["web2"], tls_url, fp, "pw-two-new"))
    m = hup(web2, r"configuration reloaded from .*sender hosts changed: collector")
    ship("web2", timeout=45)
    ship("web1")
    untouched("web1")
    sc.note("3: web2's password changed on both sides: refused in between, then shipped again")

    # 4. The tcp listener removed: no new connections, web3's goes on.
    m3 = web3.mark()
    sc.write_config("receiver.conf", receiver_text(sc, [tls_url], ["web1", "web2", "web3"], new_pw))
    hup(recv, rf"no longer listening on {re.escape(tcp_url)}")
    with socket.socket() as s:
        s.settimeout(5)
        check(s.connect_ex(("127.0.0.1", tcp_port)) != 0, "the removed listener still accepts")
    ship("web3")
    check(web3.count_log(r"connection lost|reconnecting", since=m3) == 0,
          "web3 lost its established connection when its listener was removed")
    sc.note("4: listener removed: connecting to it is refused, web3's connection goes on")

    # 5. web3 removed.
    sc.write_config("receiver.conf", receiver_text(sc, [tls_url], ["web1", "web2"], new_pw))
    hup(recv, r"\[web3\] removed by the new configuration: closing its connection")
    web3.wait_log(r"connection lost|closed the connection", since=m3)
    web3.wait_log(r"reconnecting in", since=m3, count=2, timeout=20)
    ship("web1")
    sc.note("5: web3 removed: disconnected and kept out")
    web3.stop()

    # 6. A wrong fingerprint on web1's sender, then the right one.
    m1 = web1.mark()
    wrong = "SHA256=" + ":".join(["AB"] * 32)
    sc.write_config("web1/sender.conf", sender_text("web1", dists["web1"], tls_url, wrong, "pw-one"))
    hup(web1, r"configuration reloaded from .*sender hosts changed: collector")
    web1.wait_log(r"does not match the configured fingerprint", since=m1, timeout=20)
    sc.write_config("web1/sender.conf", sender_text("web1", dists["web1"], tls_url, fp, "pw-one"))
    hup(web1, r"configuration reloaded from .*sender hosts changed: collector")
    ship("web1", timeout=45)
    sc.note("6: wrong fingerprint after a sender reload: refused the receiver; fixed: shipped")

    # 7. A pidfile change needs a restart.
    sc.write_config("receiver.conf", receiver_text(sc, [tls_url], ["web1", "web2"], new_pw).replace(
        'pidfile "none"', f'pidfile "{sc.path("other.pid")}"'))
    hup(recv, r"changes the pidfile, which needs a restart; keeping the running configuration")
    ship("web2")
    sc.note("7: a pidfile change is refused until a restart")


if __name__ == "__main__":
    run_scenario("reload", body)
