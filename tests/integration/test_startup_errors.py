#!/usr/bin/env python3
"""Startup failures end the daemon at once with a sysexits code and one clear
line (never a hang, never a half-started daemon):
  listen port in use -> 69 "cannot listen on"; missing certificate, key not
  matching the certificate, or a certificate given as key -> 78; unknown -u
  user -> 67; -u root -> 78 "refusing to run as root" (as root only); host
  directory under a regular file -> 73; unknown option, a too small or a
  negative --window -> 64 with the usage; -n of a listen address that is a
  host name -> 78, as startup would; `fingerprint` of a key or a missing file ->
  66; a private key others may read, or an encrypted one (never a prompt)
  -> 78; a configuration others may read -> 78; a dist directory of another
  user or a host directory root owns (with a privilege drop) -> 77.
  Every one of them that needs no start (all but the port in use) gives
  `-n` the same exit code and the same line as the start: the two never
  disagree. A valid receiver started afterwards on the same port works."""
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check, check_equal, free_port, run_scenario,  # noqa: E402
                     write_random_file)


def run(sc, args, timeout=30):
    p = subprocess.run([sc.binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def body(sc):
    cert, key, fingerprint = sc.make_cert("receiver")
    cert2, key2, _ = sc.make_cert("other")
    port = free_port()
    root = os.geteuid() == 0
    user = ["-u", "nobody"] if root else []

    def conf(label, cert_path=cert, key_path=key, directory=None, listen_port=port):
        return sc.receiver_config(f"{label}.conf", f"tls://127.0.0.1:{listen_port}",
                                  directory or sc.path("remote"), cert_path, key_path,
                                  [("web1", "127.0.0.1", "pw")])

    cases = [
        ("missing certificate", ["-F", "-c", conf("nocert", cert_path=sc.path("none.pem"))]
         + user, 78, r"cannot load certificate"),
        ("key of another certificate", ["-F", "-c", conf("mismatch", key_path=key2)] + user,
         78, r"cannot load private key .*(mismatch|does not match)"),
        # A certificate is world-readable: refused as a key before OpenSSL
        # would say it holds no key.
        ("certificate given as key", ["-F", "-c", conf("certkey", key_path=cert)] + user, 78,
         r"private key .*receiver\.cert\.pem: mode 0644"),
        ("unknown option", ["--bogus"], 64, r"usage: auditdistd"),
        ("window below 64 KiB", ["-F", "-c", conf("window"), "--window", "1000"], 64,
         r"--window must be a number of bytes from 65536 to 1073741824"),
        ("relative --digest-state", ["-F", "-c", conf("window"), "--digest-state", "digests"], 64,
         r"--digest-state must be an absolute directory or \"none\""),
        ("relative --audit-log-state", ["-F", "-c", conf("window"), "--audit-log-state", "state"],
         64, r"--audit-log-state must be an absolute directory"),
        ("negative window (wrapped to 2^64-1 before)", ["-F", "-c", conf("window"),
                                                       "--window=-1"], 64,
         r"--window must be a number of bytes from 65536"),
        ("-n with a listen host name (the daemon would refuse it)",
         ["-n", "-c", sc.write_config("listen-name.conf", open(conf("lname")).read().replace(
             f"tls://127.0.0.1:{port}", f"tls://localhost:{port}"))], 78,
         r"\"localhost\" is not an IP address"),
        ("fingerprint of a key file", ["fingerprint", key], 66, r"no PEM certificate"),
        ("fingerprint of a missing file", ["fingerprint", sc.path("none.pem")], 66,
         r"cannot open"),
    ]
    # The receiver's private key: readable by others, or encrypted (which
    # used to prompt on the terminal twice and block).
    open_key = sc.path("certs", "open.key.pem")
    with open(key) as src, open(open_key, "w") as dst:
        dst.write(src.read())
    os.chmod(open_key, 0o644)
    cases.append(("private key readable by others", ["-F", "-c", conf("openkey", key_path=open_key)]
                  + user, 78, r"private key .*open.key.pem: mode 0644 lets others read or change "
                  r"it \(chmod 0600 "))
    enc_key, enc_cert = sc.path("certs", "enc.key.pem"), sc.path("certs", "enc.cert.pem")
    for argv in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-aes256", "-pass", "pass:a passphrase", "-out", enc_key],
                 ["openssl", "req", "-x509", "-key", enc_key, "-passin", "pass:a passphrase",
                  "-out", enc_cert, "-days", "2", "-subj", "/CN=encrypted"]):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    os.chmod(enc_key, 0o600)
    cases.append(("encrypted private key", ["-F", "-c", conf("enckey", cert_path=enc_cert,
                                                               key_path=enc_key)] + user, 78,
                  r"encrypted private keys are not supported"))
    blocker_file = sc.path("not-a-dir")
    write_random_file(blocker_file, 10)
    cases.append(("receiver directory is a regular file",
                  ["-F", "-c", conf("dirfile", directory=blocker_file)] + user, 77,
                  r"not-a-dir is not a directory"))
    loose = conf("loose")
    os.chmod(loose, 0o644)
    cases.append(("configuration readable by others", ["-F", "-c", loose] + user, 78,
                  r"loose\.conf: mode 0644 lets others read or change it: it holds passwords"))
    foreign = sc.path("foreign-dist")
    os.makedirs(foreign)
    os.chown(foreign, 4242, 4242)
    cases.append(("dist directory of another user",
                  ["-F", "-c", sc.sender_config("foreign.conf", "s1", foreign,
                                                [("web1", f"tls://127.0.0.1:{port}", fingerprint,
                                                  "pw")])] + user, 77,
                  r"foreign-dist belongs to uid 4242, not to root or "))
    if root:
        rootdir = sc.path("roothost", "web1")
        os.makedirs(rootdir, mode=0o700)
        cases.append(("host directory of root, worker nobody",
                      ["-F", "-c", conf("roothost", directory=sc.path("roothost"))] + user, 77,
                      r"web1 belongs to root, but the receiver writes there as nobody"))
    if root:
        cases += [
            ("unknown -u user", ["-F", "-c", conf("nouser"), "-u", "no-such-user-adist"], 67,
             r"user no-such-user-adist does not exist"),
            ("-u root", ["-F", "-c", conf("asroot"), "-u", "root"], 78,
             r"refusing to run as root"),
        ]
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen(1)
        code, out = run(sc, ["-F", "-c", conf("inuse")] + user)
        check_equal(code, 69, f"exit code with the port in use; output {out!r}")
        check("cannot listen on tls://127.0.0.1:" in out, f"port in use: output {out!r}")
    for what, args, want, regex in cases:
        code, out = run(sc, args)
        check_equal(code, want, f"exit code ({what}); output {out.strip()!r}")
        check(re.search(regex, out) is not None, f"{what}: output {out.strip()!r} lacks /{regex}/")
    sc.note(f"{len(cases) + 1} startup errors: right exit codes and messages")
    # -n checks what the start checks, with the same words.
    agreed = 0
    for what, args, want, regex in cases:
        if "-F" not in args:
            continue
        code, out = run(sc, ["-n" if a == "-F" else a for a in args])
        check_equal(code, want, f"-n exit code ({what}); output {out.strip()!r}")
        check(re.search(regex, out) is not None, f"-n, {what}: output {out.strip()!r} lacks /{regex}/")
        agreed += 1
    sc.note(f"-n agrees with the start on {agreed} of them")

    good = sc.daemon("receiver", conf("good"), "receiver")
    good.start()
    good.wait_log(rf"listening on tls://127\.0\.0\.1:{port}")


if __name__ == "__main__":
    run_scenario("startup_errors", body)
