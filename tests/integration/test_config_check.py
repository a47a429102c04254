#!/usr/bin/env python3
"""`auditdistd -n -c FILE`: good configurations print "configuration OK" and
exit 0; each bad one exits 78 (EX_CONFIG), prints nothing on stdout and
"FILE:LINE: message" on stderr with the right line and message; a password
never appears in the output (not whole, not 8 consecutive characters of it),
even when the error is on the password's own line or a host is named like
its password. Unreadable files: "FILE: message", exit 78. Last, a file the
daemon refuses to run with must not pass -n either."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EX_CONFIG, TestFailure, assert_config_ok, check, check_equal,  # noqa: E402
                     checkable_config, run_config_check, run_scenario)

PW = "Zq7-Secret-Pa55word"
FP = "SHA256=" + ":".join(["AB"] * 32)

GOOD = {
    "both roles, comments, unquoted words": f"""# sender and receiver in one file
name web1
pidfile "none"
timeout 5
sender {{
    directory "/var/audit/dist"
    host "collector" {{
        remote "tls://127.0.0.1:7878"
        fingerprint "{FP}"
        password "{PW}"
    }}
    host "backup" {{
        remote "tls://[::1]:7879"
        directory "/var/audit/dist2"
        fingerprint "{FP.lower()}"   # lower case is accepted too
        password {PW}
    }}
}}
receiver {{
    listen "tls://127.0.0.1:7878"
    listen "tls://[::1]:7878"
    directory "/var/audit/remote"
    host "web2" {{ remote 127.0.0.1  password "{PW}" }}
    host "web3" {{
        remote "::1"
        directory "other"
        password "{PW}x"
    }}
}}
""",
    "receiver only, defaults": f"""receiver {{
    host "web1" {{
        remote "127.0.0.1"
        password "{PW}"
    }}
}}
""",
}

RECEIVER_HEAD = """pidfile "none"
receiver {
    listen "tls://127.0.0.1:7878"
"""

# name: (text, line of the error, regex the message must match)
BAD = {
    "unknown keyword": (RECEIVER_HEAD + f"""    bogus "x"
    host "web1" {{ remote "127.0.0.1" password "{PW}" }}
}}
""", 4, r'unknown keyword "bogus"'),
    "host without password": (RECEIVER_HEAD + """    directory "/var/audit/remote"
    host "web1" {
        remote "127.0.0.1"
    }
}
""", 5, r'host "web1": no password'),
    "tls sender without fingerprint": (f"""name "web1"
sender {{
    host "collector" {{
        remote "tls://127.0.0.1:7878"
        password "{PW}"
    }}
}}
""", 3, r"no fingerprint"),
    "invalid fingerprint": (f"""name "web1"
sender {{
    host "collector" {{
        remote "tls://127.0.0.1:7878"
        fingerprint "SHA256=AB:CD"
        password "{PW}"
    }}
}}
""", 5, r"invalid fingerprint"),
    "section not closed": (RECEIVER_HEAD + f"""    host "web1" {{ remote "127.0.0.1" password "{PW}" }}
""", 2, r"not closed"),
    "timeout zero": (f"""timeout 0
receiver {{ host "web1" {{ remote "127.0.0.1" password "{PW}" }} }}
""", 1, r"timeout must be"),
    "relative sender directory": (f"""name "web1"
sender {{
    directory "var/audit/dist"
    host "collector" {{ remote "tls://127.0.0.1" fingerprint "{FP}" password "{PW}" }}
}}
""", 3, r"absolute path"),
    "directory given twice": (RECEIVER_HEAD + f"""    directory "/a"
    directory "/b"
    host "web1" {{ remote "127.0.0.1" password "{PW}" }}
}}
""", 5, r"given twice"),
    "unclosed IPv6 bracket": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "[::1"
        password "{PW}"
    }}
}}
""", 5, r"\]"),
    # Errors on or around the password itself: it must never be shown.
    "junk after the password": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password "{PW}" junk
    }}
}}
""", 6, r"unknown keyword"),
    "unquoted password with spaces": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password {PW} and more
    }}
}}
""", 6, r"unknown keyword"),
    "password on the next line, junk after it": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password
            {PW}{PW} trailing
    }}
}}
""", 7, r"unknown keyword"),
    "unquoted password glued to a comment": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password {PW}#comment
    }}
}}
""", 6, r"starts a comment"),
    "password too long": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password "{PW * 20}"
    }}
}}
""", 6, r"longer than 255"),
    "unterminated password string": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        password "{PW}
    }}
}}
""", 6, r"unterminated quoted string"),
    "password keyword misspelled": (RECEIVER_HEAD + f"""    host "web1" {{
        remote "127.0.0.1"
        passwd "{PW}"
    }}
}}
""", 6, r"unknown keyword"),
    "password in the global section": (f"""password "{PW}"
receiver {{ host "web1" {{ remote "127.0.0.1" password "{PW}" }} }}
""", 1, r'"password" is not allowed in the global section'),
    "host named like its password, twice": (RECEIVER_HEAD + f"""    host "{PW}" {{ remote "127.0.0.1" password "{PW}" }}
    host "{PW}" {{ remote "127.0.0.2" password "{PW}" }}
}}
""", 5, r"details withheld"),
    "host named like its password, no brace": (RECEIVER_HEAD + f"""    host "{PW}"
        password "{PW}"
}}
""", 5, r""),
}


def leaks(text, password):
    """True when `text` shows the password or 8 consecutive characters of it."""
    if password in text:
        return True
    return any(password[i:i + 8] in text for i in range(len(password) - 7))


def body(sc):
    for i, (what, text) in enumerate(GOOD.items()):
        path = sc.write_config(f"good{i}.conf", checkable_config(sc, text))
        code, out, err = run_config_check(sc.binary, path, private_var_audit=True)
        check(code == 0 and out.strip() == "configuration OK",
              f"good config ({what}) refused: exit {code}, stdout {out!r}, stderr {err!r}")
        check(not leaks(out + err, PW), f"good config ({what}): the password is shown")
    sc.note(f"{len(GOOD)} good configurations accepted")

    for i, (what, (text, line, regex)) in enumerate(BAD.items()):
        path = sc.write_config(f"bad{i:02d}.conf", text)
        code, out, err = run_config_check(sc.binary, path)
        check_equal(code, EX_CONFIG, f"exit code for a bad config ({what}); stderr {err!r}")
        check("configuration OK" not in out, f"bad config ({what}) reported OK")
        check(not leaks(out + err, PW),
              f"bad config ({what}): the password appears in the output: {err.strip()!r}")
        first = err.splitlines()[0] if err else ""
        prefix = f"{path}:{line}: "
        check(first.startswith(prefix),
              f"bad config ({what}): expected an error starting with {prefix!r}, got {err!r}")
        check(re.search(regex, first[len(prefix):]) is not None,
              f"bad config ({what}): message {first[len(prefix):]!r} does not match /{regex}/")
    sc.note(f"{len(BAD)} bad configurations refused with file:line and no password")

    missing = sc.path("does-not-exist.conf")
    for path, regex in ((missing, "cannot open"), (sc.root, "cannot read")):
        code, out, err = run_config_check(sc.binary, path)
        check_equal(code, EX_CONFIG, f"exit code of -n on {path}")
        check(err.startswith(f"{path}: ") and regex in err,
              f"-n on {path}: expected \"{path}: {regex}...\", got {err!r}")

    # The file holds passwords: readable by others, group-writable or owned by
    # another user, the daemon refuses to run with it (78) and so does -n.
    good = sc.write_config("perm.conf", checkable_config(sc, next(iter(GOOD.values()))))
    for mode, owner, regex in ((0o644, 0, r"mode 0644 lets others read"),
                               (0o620, 0, r"mode 0620 lets others"),
                               (0o600, 65534, r"owned by uid 65534, not root")):
        os.chown(good, owner, 0)
        os.chmod(good, mode)
        code, out, err = run_config_check(sc.binary, good, private_var_audit=True)
        check(code == EX_CONFIG and re.search(regex, err) is not None,
              f"-n on a config with mode {mode:o} owner {owner}: exit {code}, {err!r}")
        p = subprocess.run([sc.binary, "-F", "-c", good, "--digest-state", sc.path("digests")],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == EX_CONFIG and re.search(regex, p.stderr) is not None,
              f"the daemon with a config of mode {mode:o} owner {owner}: exit {p.returncode}, "
              f"{p.stderr!r}")
    os.chown(good, 0, 0)
    os.chmod(good, 0o640)
    assert_config_ok(sc.binary, good, private_var_audit=True)  # group-readable (root:wheel 0640) is fine
    sc.note("configs readable by others, group-writable or not root's are refused")

    # A file with neither a sender nor a receiver section: the daemon refuses
    # to start with it (EX_CONFIG), so -n must not call it OK.
    empty = sc.write_config("empty.conf", 'pidfile "none"\n# nothing else\n')
    p = subprocess.run([sc.binary, "-F", "-c", empty], capture_output=True,
                                     text=True, timeout=30)
    check_equal(p.returncode, EX_CONFIG, "exit code of the daemon started with an empty config")
    code, out, err = run_config_check(sc.binary, empty)
    if code != EX_CONFIG or "configuration OK" in out:
        raise TestFailure(
            "DAEMON BUG (daemon/main.cpp, `if (o.check_only)` is tested before the "
            "\"neither a sender nor a receiver section\" check): `auditdistd -n` prints "
            f"{out.strip()!r} and exits {code} for a configuration the daemon refuses to run "
            f"with (exit {p.returncode}: {p.stderr.strip()!r})")


if __name__ == "__main__":
    run_scenario("config_check", body)
