#!/usr/bin/env python3
"""The examples in docs/auditdistd.conf.5 are real configurations: each
literal block of its EXAMPLES section passes `auditdistd -n` (given a
generated certificate, and an empty /var/audit: -n checks the files and
directories a configuration names)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import assert_config_ok, check, checkable_config, run_scenario  # noqa: E402

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                    "auditdistd.conf.5")


def body(sc):
    with open(PAGE) as f:
        text = f.read()
    examples = text.split(".Sh EXAMPLES", 1)[1].split("\n.Sh ", 1)[0]
    blocks = re.findall(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed$", examples, re.S | re.M)
    check(len(blocks) == 2, f"expected 2 examples in the man page, found {len(blocks)}")
    for i, block in enumerate(blocks):
        conf = sc.write_config(f"example{i}.conf", checkable_config(sc, block))
        assert_config_ok(sc.binary, conf, private_var_audit=True)
        sc.note(f"example {i + 1} of auditdistd.conf(5): configuration OK")


if __name__ == "__main__":
    run_scenario("man_examples", body)
