#!/usr/bin/env python3
"""`include "DIR/*.conf"` in the receiver section, one file per host:
  - a host defined only in an included file authenticates and its trail
    arrives byte-identical;
  - a file added to the directory and a SIGHUP add the host (as root the
    root supervisor reads the files for the unprivileged worker, which
    makes the host's directory in the base directory the receiver made
    root:<nobody's group> 0770 at startup, as the package makes it);
  - an included file others may read is refused like the main file, by -n
    (exit 78, naming that file) and by a reload, which keeps the running
    configuration;
  - an error inside an included file names that file and its line."""
import os
import pwd
import re
import stat
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EX_CONFIG, check, check_equal, run_config_check, run_scenario,  # noqa: E402
                     sha256_file, trail_name, wait_until)


def host_file(sc, name, remote, password, mode=0o600):
    path = sc.path("conf.d", f"{name}.conf")
    with open(path, "w") as f:
        f.write(f'# managed per host\nhost "{name}" {{\n    remote "{remote}"\n'
                f'    password "{password}"\n}}\n')
    os.chmod(path, mode)
    return path


def status_lists(sc, host):
    p = subprocess.run([sc.binary, "status", "--control-socket", sc.path("recv.sock")],
                       capture_output=True, text=True, timeout=10)
    return p.returncode == 0 and re.search(rf"receiver {host}\b", p.stdout) is not None


def body(sc):
    recv, send = sc.standard_pair(password="included-pw-1",
                                  receiver_args=("--control-socket", sc.path("recv.sock")))
    os.makedirs(sc.path("conf.d"), mode=0o700)
    with open(recv.conf) as f:
        text = f.read()
    # The host block moves out of the main file, into conf.d/web1.conf.
    block = re.search(r'    host "web1" \{.*?\n    \}\n', text, re.S).group(0)
    pattern = sc.path("conf.d") + "/*.conf"
    sc.write_config(os.path.basename(recv.conf),
                    text.replace(block, f'    include "{pattern}"\n'))
    host_file(sc, "web1", "127.0.0.1", "included-pw-1")

    recv.start()
    send.start()
    recv.wait_log(r"\[web1 127\.0\.0\.1:\d+\] authenticated")
    name = trail_name(7)
    size, digest = sc.add_trail(name, 200_000)
    wait_until(lambda: os.listdir(sc.dist) == [], timeout=30, what="the trail to be shipped",
               alive=(recv, send))
    check_equal(sha256_file(sc.remote_file(name)), digest, "the shipped trail's sha256")
    sc.note("a host from an included file shipped a trail byte-identical")

    host_file(sc, "web2", "127.0.0.2", "included-pw-2")
    recv.send_signal(signal.SIGHUP)
    wait_until(lambda: status_lists(sc, "web2"), timeout=20,
               what="host web2 in status after the reload")
    if os.geteuid() == 0:
        # The receiver made its missing base directory as the package does,
        # so that the unprivileged worker could make web2's on the reload.
        st = os.stat(sc.remote)
        nobody = pwd.getpwnam("nobody")
        check_equal((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o770, 0, nobody.pw_gid),
                    "mode, owner and group of the base directory the receiver made")
        check_equal(os.stat(os.path.join(sc.remote, "web2")).st_uid, nobody.pw_uid,
                    "owner of web2's directory, made by the worker on the reload")
    sc.note("a file added to the include directory and a SIGHUP added its host")

    loose = host_file(sc, "web3", "127.0.0.3", "included-pw-3", mode=0o644)
    code, out, err = run_config_check(sc.binary, recv.conf)
    check_equal(code, EX_CONFIG, f"-n with an included file others may read: {out}{err}")
    check(f"{loose}: mode 0644 lets others read or change it" in err, f"-n said {err!r}")
    mark = recv.mark()
    recv.send_signal(signal.SIGHUP)
    recv.wait_log(rf"reload: .*web3\.conf: mode 0644 lets others read.*keeping the running "
                  r"configuration", since=mark)
    check(not status_lists(sc, "web3"), "web3 was added from a file others may read")
    check(status_lists(sc, "web2"), "web2 went away after a refused reload")
    os.unlink(loose)

    bad = sc.path("conf.d", "web4.conf")
    with open(bad, "w") as f:
        f.write('host "web4" {\n    remote "127.0.0.4"\n    pasword "typo"\n}\n')
    os.chmod(bad, 0o600)
    code, out, err = run_config_check(sc.binary, recv.conf)
    check_equal(code, EX_CONFIG, "-n with an error in an included file")
    check(err.startswith(f"{bad}:3: unknown keyword"), f"-n said {err!r}")
    os.unlink(bad)
    sc.note("an unsafe or wrong included file is refused, naming that file (and line)")


if __name__ == "__main__":
    run_scenario("include", body)
