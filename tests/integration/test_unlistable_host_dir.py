#!/usr/bin/env python3
"""The receiver's newest-trail scan fails closed. Once a trail is stored, the
host directory is made unlistable to the receiver's user (mode 0300: it can
still create files in it, but not read it) and an older trail appears in the
sender's dist directory. The receiver must refuse the session ("cannot
list ...", or "cannot open the host directory ...": an idle host's store
holds no descriptor, so the next session opens the directory again) instead of reporting "no file yet", which would let the sender
create the older trail. Once the directory is listable again, a newer trail
arrives byte-identical and the older one is never stored. Needs root (the
receiver runs as nobody, whom the mode binds)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Skip, check, check_equal, run_scenario, sha256_file,  # noqa: E402
                     trail_name, wait_until)


def body(sc):
    if os.geteuid() != 0:
        raise Skip("needs root (the receiver must run as nobody for the mode to bind)")
    recv, send = sc.standard_pair()
    newest = trail_name(5)
    sc.add_trail(newest, 80_000)
    recv.start()
    send.start()
    send.wait_log(rf"shipped {newest}", timeout=30)
    send.stop()

    older = trail_name(2)
    sc.add_trail(older, 60_000)
    os.chmod(sc.host_dir, 0o300)
    try:
        mark = recv.mark()
        send.start()
        # A connection met the unlistable directory; give it time to act.
        refused = r"refused: cannot (list|open the host directory) .*web1.*: Permission denied"
        recv.wait_log(refused, since=mark, timeout=30)
        time.sleep(1)
        check(not os.path.exists(sc.remote_file(older)),
              f"the receiver stored {older}, older than its newest {newest}")
        recv.wait_log(refused, since=mark, count=2, timeout=1)
        check_equal(recv.count_log(r"resume point", since=mark), 0,
                    "resume points offered while the directory could not be listed")
    finally:
        os.chmod(sc.host_dir, 0o700)

    later = trail_name(6)
    sc.add_trail(later, 90_000)
    send.wait_log(rf"shipped {later}", timeout=60)
    check_equal(sha256_file(sc.remote_file(later)), sha256_file(os.path.join(sc.source, later)),
                f"sha256 of {later} on the receiver")
    time.sleep(0.5)
    check(not os.path.exists(sc.remote_file(older)),
          f"the receiver stored {older}, older than its newest {newest}")
    wait_until(lambda: os.path.exists(os.path.join(sc.dist, older)), timeout=1,
               what=f"{older} left unshipped in the dist directory")
    sc.stop_all()


if __name__ == "__main__":
    run_scenario("unlistable_host_dir", body)
