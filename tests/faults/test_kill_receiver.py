#!/usr/bin/env python3
"""kill -9 of the receiver in the middle of a 128 MiB transfer, three times at
growing points, each time restarted: the sender resumes at the size the
receiver reports (cross-checked in both logs) and the copy ends up
byte-identical (size and sha256: nothing lost, nothing written twice)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import interrupted_transfer, run_scenario  # noqa: E402

STEPS = [("receiver", "kill", 0.15), ("receiver", "kill", 0.4), ("receiver", "kill", 0.65)]

if __name__ == "__main__":
    run_scenario("kill_receiver", lambda sc: interrupted_transfer(sc, STEPS))
