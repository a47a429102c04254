#!/usr/bin/env python3
"""SIGTERM in the middle of a 128 MiB transfer, alternately to the receiver
and the sender: each exits cleanly (status 0, within the 5 s grace period),
is restarted, the sender resumes exactly at the size of the receiver's copy,
and the copy ends up byte-identical (size and sha256)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import interrupted_transfer, run_scenario  # noqa: E402

STEPS = [("receiver", "term", 0.2), ("sender", "term", 0.45), ("receiver", "term", 0.7)]

if __name__ == "__main__":
    run_scenario("graceful_restart", lambda sc: interrupted_transfer(sc, STEPS))
