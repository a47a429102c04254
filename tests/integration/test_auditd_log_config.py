#!/usr/bin/env python3
"""Linux auditd_log, configuration: a dist directory on another filesystem
than auditd's log is refused by `auditdistd -n` and by the start, with the
file, the line of `auditd_log` and why (hard links stay in one filesystem);
a log directory that does not exist likewise. The same configuration with
the dist directory next to the log passes."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EX_CONFIG, check, check_equal, run_scenario  # noqa: E402


def conf_text(dist, log):
    return "\n".join(['pidfile "none"', "sender {", f'    directory "{dist}"',
                      '    host "c" {', '        remote "tcp://127.0.0.1:9"',
                      '        password "x"', f'        auditd_log "{log}"', "    }", "}"]) + "\n"


def run(binary, args):
    # As root -n checks the daemon user too, as the start does: nobody.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    # Never the machine's /var/lib/auditdistd: the -F start opens the sender's
    # digest checkpoint before it fails.
    state = ["--digest-state", os.path.join(os.path.dirname(args[-1]), "digests")]
    return subprocess.run([binary, *args, *user, *state], capture_output=True, text=True, timeout=30)


def body(sc):
    logdir = sc.mkdir("log", mode=0o700)
    log = os.path.join(logdir, "audit.log")
    other = "/dev/shm" if os.stat("/dev/shm").st_dev != os.stat(logdir).st_dev else "/proc"
    conf = sc.write_config("cross.conf", conf_text(f"{other}/adist-dist-{os.getpid()}", log))
    for args in (["-n", "-c", conf], ["-F", "-c", conf]):
        r = run(sc.binary, args)
        check_equal(r.returncode, EX_CONFIG, f"exit status of {' '.join(args[:1])}")
        check(f"{conf}:7: host \"c\": auditd_log \"{log}\"" in r.stderr and
              "is on another filesystem than" in r.stderr and "hard-linked" in r.stderr,
              f"the refusal names the line and why: {r.stderr!r}")
    missing = sc.write_config("missing.conf", conf_text(os.path.join(logdir, "dist"),
                                                        sc.path("nolog", "audit.log")))
    r = run(sc.binary, ["-n", "-c", missing])
    check_equal(r.returncode, EX_CONFIG, "exit status for a missing log directory")
    check("No such file or directory" in r.stderr, f"says why: {r.stderr!r}")
    good = sc.write_config("good.conf", conf_text(os.path.join(logdir, "dist"), log))
    r = run(sc.binary, ["-n", "-c", good])
    check_equal(r.returncode, 0, f"the same filesystem passes ({r.stderr!r})")


run_scenario("auditd_log_config", body)
