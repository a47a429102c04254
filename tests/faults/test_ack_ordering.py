#!/usr/bin/env python3
"""Acknowledgements never run ahead of fdatasync, proven from the receiver's
own system calls.

The receiver runs under `strace -f` (all its threads: the io thread that
reads requests, writes APPEND data and sends replies, and the pool threads
that run fdatasync/fsync/renameat2 for the committer and the OPEN/CLOSE
barriers). The sender ships one 32 MiB trail, four small ones and a growing
`.not_terminated` trail written in pieces and renamed at the end (a CLOSE
with a new name), so there are hundreds of APPENDs and many group commits.

The trace is then replayed: the request stream is decoded from what the
receiver read from the socket (after the 328-byte handshake), the replies
from what it sent (after its 336 bytes), so every reply is tied to its
request by sequence number, and every APPEND to the cumulative number of
bytes written to its trail file's descriptor when it is complete. Then, for
every reply:

- APPEND: some fdatasync(trail fd) returned 0 before the send() carrying
  the first byte of the reply STARTED, and that fdatasync was CALLED after
  the write() storing the last byte of this APPEND had RETURNED (so the
  write is covered by the sync);
- OPEN: fsync(host directory) called after the openat(O_CREAT) (or the
  renameat2, or the reopen) of the name and returned before the reply;
- CLOSE: an fdatasync of the file after its last write, and for a rename
  the renameat2 followed by fsync(host directory), both returned before
  the reply.

Why the order of lines in the trace is the order in time: strace handles one
ptrace stop at a time and writes it out before resuming the thread, and a
line printed whole (not `<unfinished ...>`) had no other line between its
entry and its exit. A call's kernel work happens after its entry stop was
handled and before its exit stop, so "exit of A is printed before entry of
B" means A had finished in the kernel before B began.

Plain tcp:// is used in both configs so that the protocol bytes are visible
in the trace; TLS wraps the very same session code (session.cpp reads and
writes through common::stream either way), so the ordering proven here holds
for tls:// too.

The check is known to be able to fail, twice over: a self-test replays
synthetic traces (reply before the sync returned, a sync called while the
last write was still running, a failed sync, a sync of the wrong fd, a
reply out of order, OPEN/CLOSE replies ahead of the directory fsync) and
each must be rejected; and a second receiver run with `--no-sync` (acks
without fdatasync, for benchmarks) ships one more file and every one of its
APPEND acks must be flagged. Finally the receiver's copies must be byte
identical (size and sha256) to the sources.

Skips (exit 77) when strace is missing or cannot trace (no ptrace).
"""
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (SHUTDOWN_LIMIT, MiB, Daemon, Skip, TestFailure,  # noqa: E402
                     assert_config_ok, check, check_equal, file_size, free_port, list_files,
                     run_scenario, sha256_file, trail_name, wait_until)

PASSWORD = "ack-order-secret"
BIG = 32 * MiB
SMALL = [1, 4097, 65536, 65537 + 4321]
GROW_PIECES = [1, 17, 65535, 65536, 65537, 150_000, 3, 200_000, 4096, 99_999, 1, 180_000]
NOSYNC_SIZE = 2 * MiB

# What the receiver does that matters here, plus what could change an fd's
# meaning (dup*, clone without CLONE_FILES). Writes are traced raw (`write(fd,
# 0xADDR, 0xLEN) = 0xN`): their data is not needed (the copies are compared by
# sha256) and would quadruple the trace. Reads and sends are dumped in hex.
TRACED = ("open,openat,close,accept,accept4,read,readv,recvfrom,recvmsg,recvmmsg,"
          "write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg,sendmmsg,sendfile,splice,"
          "fdatasync,fsync,sync_file_range,syncfs,rename,renameat,renameat2,"
          "dup,dup2,dup3,clone,clone3,fork,vfork")
RAW = "write,writev,pwrite64,pwritev,pwritev2"
STRING_LIMIT = 1 << 20  # bytes of a read/send shown in full (the receiver reads <= 192 KiB)

HANDSHAKE_IN = 8 + 256 + 32 + 32          # welcome, name, proof, challenge
HANDSHAKE_OUT = 8 + 32 + 32 + 8 + 256     # welcome, challenge, proof, resume size, name
V1_RESUME_EXTRA = 32 + 32                  # protocol version 1: prefix digest, its proof
REQ_HEADER = 14
REPLY_SIZE = 11
OPEN, APPEND, CLOSE, KEEPALIVE, ERROR = 1, 2, 3, 4, 5
CMD_NAMES = {OPEN: "OPEN", APPEND: "APPEND", CLOSE: "CLOSE", KEEPALIVE: "KEEPALIVE",
             ERROR: "ERROR"}
TRAIL_NAME = re.compile(r"^\d{14}\.(\d{14}|not_terminated|crash_recovery)$")


# --------------------------------------------------------------------------
# The trace: strace -f -ttt -xx output, several threads in one file


class Call:
    """One system call: `entry` and `exit` are line numbers (1-based) of the
    trace; equal when the call was printed on one line."""
    __slots__ = ("tid", "name", "args", "ret", "entry", "exit", "t_entry", "t_exit", "text",
                 "obj", "data", "partial")

    def __init__(self, tid, name, entry, t_entry):
        self.tid, self.name, self.entry, self.t_entry = tid, name, entry, t_entry
        self.args, self.ret, self.exit, self.t_exit = [], None, None, None
        self.text, self.obj, self.data, self.partial = "", None, None, ""

    def ok(self):
        return self.ret is not None and self.ret >= 0

    def where(self):
        span = f"line {self.entry}" if self.exit == self.entry else \
            f"lines {self.entry}-{self.exit}"
        return f"[{span}, tid {self.tid}] {self.text}"


class Directory:
    def __init__(self, path):
        self.path = path
        self.syncs = []     # fsync/fdatasync calls


class TrailFile:
    def __init__(self, name, call, created):
        self.name, self.open_call, self.created = name, call, created
        self.writes = []    # (call, cumulative bytes after it)
        self.written = 0
        self.syncs = []     # fdatasync/fsync calls
        self.used = False   # matched to an OPEN request


class Connection:
    def __init__(self, call):
        self.accept_call = call
        self.received = bytearray()
        self.sends = []     # (call, bytes actually sent)


def _decode_string(arg, call):
    """A -xx string argument "\\x41\\x42" -> bytes; fails if truncated."""
    if not (arg.startswith('"') and arg.endswith('"')):
        raise TestFailure(f"unexpected string argument in the trace (truncated? raise -s): "
                          f"{call.where()[:300]}")
    body = arg[1:-1]
    if body and not body.startswith("\\x"):
        raise TestFailure(f"the trace was not made with -xx: {call.where()[:300]}")
    return bytes.fromhex(body.replace("\\x", ""))


def _int(s):
    return int(s, 0)


def _readable(text, limit=200):
    """A trace excerpt for messages: short printable strings decoded, other
    strings shown as their length."""
    def render(m):
        b = bytes.fromhex(m.group(1).replace("\\x", ""))
        if len(b) <= 48 and all(32 <= c < 127 for c in b):
            return '"' + b.decode("ascii") + '"'
        return f"<{len(b)} bytes>"
    text = re.sub(r'"((?:\\x[0-9a-f]{2})*)"', render, text[:limit * 4])
    text = re.sub(r'"(?:\\x[0-9a-f]{0,2})+$', "<bytes...>", text)
    return text[:limit]


LINE = re.compile(r"^(?:(\d+) +)?(\d+\.\d+) (.*)$")


class Trace:
    """Replays a trace: the fd table (one per process: every clone must share
    it), the host directory, the trail files opened in it, the accepted
    connections with their byte streams, and every call on them."""

    def __init__(self, host_dir):
        self.host_dir = os.path.abspath(host_dir)
        self.fds = {}
        self.dirs = []
        self.trails = []
        self.conns = []
        self.renames = []   # renameat2/renameat/rename calls in the host directory
        self.lines = 0
        self.calls = 0
        self.pending = {}   # tid -> Call awaiting its <... resumed>
        self.left = set()   # tids of a process that forked: we follow the child
        self.left_pending = {}  # its unfinished renameat2 calls

    # -- input
    def feed_file(self, path):
        with open(path, "r", encoding="ascii", errors="replace") as f:
            for line in f:
                self.feed_line(line.rstrip("\n"))
        return self

    def feed_text(self, text):
        for line in text.splitlines():
            self.feed_line(line)
        return self

    def feed_line(self, line):
        self.lines += 1
        n = self.lines
        m = LINE.match(line)
        if not m:
            raise TestFailure(f"trace line {n} not understood: {line[:200]}")
        tid, t, rest = int(m.group(1) or 0), float(m.group(2)), m.group(3)
        if tid in self.left:
            self._supervisor_line(tid, t, rest, n)
            return
        if rest.startswith("---") or rest.startswith("+++"):
            return  # a signal, or a thread's exit
        if rest.startswith("<... "):
            m2 = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
            call = self.pending.pop(tid, None)
            if not m2 or call is None or call.name != m2.group(1):
                raise TestFailure(f"trace line {n}: a resumption without its start: {line[:200]}")
            call.text += " ..." + _readable(m2.group(2), 120)
            head = call.partial.rstrip()
            self._finish(call, head + (" " if head.endswith(",") else "") + m2.group(2), n, t)
            return
        m2 = re.match(r"(\w+)\((.*)$", rest)
        if not m2:
            raise TestFailure(f"trace line {n} not understood: {line[:200]}")
        call = Call(tid, m2.group(1), n, t)
        body = m2.group(2)
        if body.endswith(" <unfinished ...>"):
            if tid in self.pending:
                raise TestFailure(f"trace line {n}: tid {tid} starts a call while another "
                                  f"is unfinished")
            call.partial = body[:-len(" <unfinished ...>")]
            call.text = _readable(rest, 160)
            self._enter(call, call.partial)
            self.pending[tid] = call
            return
        if tid in self.pending:
            raise TestFailure(f"trace line {n}: tid {tid} makes a call while another is "
                              f"unfinished")
        call.text = _readable(rest)
        self._enter(call, body)
        self._finish(call, body, n, t)

    def _supervisor_line(self, tid, t, rest, n):
        """The root supervisor renames the worker's append-only trails for it
        (common/trail_guard.hpp): its renameat2 calls in the host directory
        count as the receiver's. Everything else it does is ignored."""
        resumed = "<... renameat2 resumed>"
        if rest.startswith(resumed):
            start = self.left_pending.pop(tid, None)
            if start is not None:
                call, head = start
                self._finish(call, head.rstrip() + " " + rest[len(resumed):], n, t,
                             supervisor=True)
            return
        if not rest.startswith("renameat2("):
            return
        call = Call(tid, "renameat2", n, t)
        call.text = _readable(rest)
        body = rest[len("renameat2("):]
        if body.endswith(" <unfinished ...>"):
            self.left_pending[tid] = (call, body[:-len(" <unfinished ...>")])
        else:
            self._finish(call, body, n, t, supervisor=True)

    # -- a call's entry: resolve its fd against the table as it is now
    def _enter(self, call, body):
        self.calls += 1
        first = body.split(",", 1)[0].split(")", 1)[0].strip()
        if call.name in ("close", "read", "readv", "recvfrom", "recvmsg", "recvmmsg", "write",
                         "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg",
                         "sendmmsg", "fdatasync", "fsync", "sync_file_range", "syncfs"):
            try:
                call.obj = self.fds.get(_int(first))
            except ValueError:
                raise TestFailure(f"trace line {call.entry}: no fd in {call.text}")
        if call.name == "close":
            # The number is free for reuse from here on: later calls on it
            # are not on this object.
            self.fds.pop(_int(first), None)

    # -- a call's exit: its result, and what it did
    def _finish(self, call, body, n, t, supervisor=False):
        call.exit, call.t_exit = n, t
        # "args) = ret", the " = " aligned to a column with spaces when short
        cut = body.rfind(" = ")
        head = body[:cut].rstrip() if cut >= 0 else ""
        if not head.endswith(")"):
            raise TestFailure(f"trace line {n}: no result in {call.text}")
        call.args = head[:-1].split(", ")
        ret = body[cut + 3:]
        m = re.search(r" <(\d+\.\d+)>$", ret)  # -T: seconds spent in the call
        if m:
            ret = ret[:m.start()]
            call.t_exit = call.t_entry + float(m.group(1))
        try:
            call.ret = _int(ret.split(" ", 1)[0])
        except ValueError:
            call.ret = None  # "?": the thread exited in the call
        if supervisor:
            old, new = (_decode_string(x, call).decode() for x in (call.args[1], call.args[3]))
            if TRAIL_NAME.match(old) and TRAIL_NAME.match(new):
                call.data = (old, new)
                self.renames.append(call)
            return
        self._apply(call)

    def _apply(self, c):
        name, a = c.name, c.args
        if name in ("clone", "clone3", "fork", "vfork"):
            if c.ok() and "CLONE_FILES" not in c.text and "CLONE_FILES" not in ",".join(a):
                # A new process with a copy of the fd table: the daemon's fork
                # of its root supervisor (parent) and worker (child), before any
                # connection. Follow the child, which does the work; the parent
                # must not have other threads (they would share the old table).
                if self.conns or self.trails or len(self.pending) > 0:
                    raise TestFailure(f"the receiver forked after it began its work, which "
                                      f"this replay does not model: {c.where()}")
                self.left.add(c.tid)
        elif name in ("open", "openat") and c.ok():
            dirfd = None if name == "open" else a[0]
            path = _decode_string(a[0 if name == "open" else 1], c).decode("utf-8", "replace")
            flags = a[1 if name == "open" else 2]
            base = self.fds.get(_int(dirfd)) if dirfd not in (None, "AT_FDCWD") else None
            full = path if path.startswith("/") or base is None else \
                os.path.join(getattr(base, "path", "?"), path)
            if "O_DIRECTORY" in flags and os.path.normpath(full) == self.host_dir and \
                    (base is None or path != "."):
                obj = Directory(self.host_dir)
                self.dirs.append(obj)
            elif isinstance(base, Directory) and TRAIL_NAME.match(path) and \
                    ("O_WRONLY" in flags or "O_RDWR" in flags):
                obj = TrailFile(path, c, "O_CREAT" in flags)
                self.trails.append(obj)
            else:
                obj = None
            self._set_fd(c.ret, obj)
        elif name in ("sendfile", "splice"):
            for arg in a[:3]:
                if isinstance(self.fds.get(int(arg) if arg.isdigit() else -1),
                              (Connection, TrailFile)):
                    raise TestFailure(f"the receiver used {name} on a traced fd, which this "
                                      f"replay does not model: {c.where()}")
        elif name in ("accept", "accept4") and c.ok():
            obj = Connection(c)
            self.conns.append(obj)
            self._set_fd(c.ret, obj)
        elif name in ("dup", "dup2", "dup3") and c.ok():
            src = self.fds.get(_int(a[0]))
            if src is not None:
                raise TestFailure(f"the receiver duplicated a traced fd, which this replay does "
                                  f"not model: {c.where()}")
            self._set_fd(c.ret, None)
        elif name in ("rename", "renameat", "renameat2"):
            if name == "rename":
                old, new = a[0], a[1]
                same = True
            else:
                old, new = a[1], a[3]
                same = isinstance(self.fds.get(_int(a[0])), Directory) and \
                    isinstance(self.fds.get(_int(a[2])), Directory)
            if same:
                c.data = (_decode_string(old, c).decode(), _decode_string(new, c).decode())
                self.renames.append(c)
        elif isinstance(c.obj, TrailFile):
            if name in ("write", "writev", "pwrite64", "pwritev", "pwritev2"):
                if name != "write":
                    raise TestFailure(f"the receiver wrote a trail file with {name}, which this "
                                      f"replay does not model: {c.where()}")
                check(c.ok(), f"a write to trail file {c.obj.name} failed: {c.where()}")
                c.obj.written += c.ret
                c.obj.writes.append((c, c.obj.written))
            elif name in ("fdatasync", "fsync"):
                c.obj.syncs.append(c)
            elif name in ("sync_file_range", "syncfs"):
                raise TestFailure(f"unexpected {name} on a trail file: {c.where()}")
        elif isinstance(c.obj, Directory):
            if name in ("fdatasync", "fsync"):
                c.obj.syncs.append(c)
        elif isinstance(c.obj, Connection):
            if name in ("read", "recvfrom"):
                if c.ok():
                    c.obj.received += _decode_string(a[1], c)[:c.ret]
            elif name == "sendto":
                if c.ok():
                    data = _decode_string(a[1], c)
                    check(len(data) >= c.ret, f"a send shows fewer bytes than it sent: "
                                              f"{c.where()[:300]}")
                    c.obj.sends.append((c, data[:c.ret]))
            elif name not in ("close",):
                raise TestFailure(f"the receiver used {name} on the connection, which this "
                                  f"replay cannot decode (extend it): {c.where()[:300]}")

    def _set_fd(self, fd, obj):
        if obj is None:
            self.fds.pop(fd, None)
        else:
            self.fds[fd] = obj


# --------------------------------------------------------------------------
# The check


class Report:
    def __init__(self):
        self.violations = []       # (kind, message)
        self.replies = 0
        self.appends = 0
        self.append_bytes = 0
        self.opens = 0
        self.closes = 0
        self.close_renames = 0
        self.keepalives = 0
        self.connections = 0
        self.groups = {}           # id(sync call) -> [sync call, number of appends]
        self.min_slack = None      # seconds from a covering sync's return to the ack
        self.unanswered = 0
        self.files = []            # names OPENed

    def violation(self, kind, message):
        self.violations.append((kind, message))

    def summary(self):
        sizes = [n for _, n in self.groups.values()]
        return {
            "replies": self.replies, "appends": self.appends, "bytes": self.append_bytes,
            "opens": self.opens, "closes": self.closes, "renames": self.close_renames,
            "group_commits": len(sizes), "largest_group": max(sizes) if sizes else 0,
            "mean_group": (sum(sizes) / len(sizes)) if sizes else 0.0,
        }


def _first_sync_between(syncs, after_line, before_line):
    """The first successful sync called after line `after_line` and returned
    before line `before_line` (None if there is none)."""
    best = None
    for s in syncs:
        if s.ret == 0 and s.exit is not None and s.entry > after_line and s.exit < before_line:
            if best is None or s.exit < best.exit:
                best = s
    return best


def _describe_syncs(syncs, around):
    near = sorted(syncs, key=lambda s: abs(s.entry - around))[:3]
    return "; ".join(s.where() for s in sorted(near, key=lambda s: s.entry)) or "none"


def check_trace(trace):
    """Checks every reply of every connection; returns a Report (violations
    listed in it, not raised)."""
    rep = Report()
    dirsyncs = [s for d in trace.dirs for s in d.syncs]
    for conn in trace.conns:
        _check_connection(trace, conn, dirsyncs, rep)
    return rep


def _decode_requests(data, conn):
    """The request frames after the handshake: [(seq, cmd, payload size, payload if a name)]."""
    out = []
    off = HANDSHAKE_IN
    check(data[:5] == b"ADIST", f"connection {conn}: the receiver did not read a welcome first")
    while off + REQ_HEADER <= len(data):
        order = data[off]
        check(order in (1, 2), f"bad byte order {order} in a request at stream offset {off}")
        e = "<" if order == 1 else ">"
        cmd, seq, size = struct.unpack_from(e + "BQI", data, off + 1)
        if off + REQ_HEADER + size > len(data):
            break  # the connection ended in the middle of a frame
        # The name, up to its NUL (a version 1 CLOSE has its digest after it).
        payload = bytes(data[off + REQ_HEADER:off + REQ_HEADER + size]).split(b"\0", 1)[0] \
            if cmd in (OPEN, CLOSE) else None
        out.append((seq, cmd, size, payload))
        off += REQ_HEADER + size
    return out


def _decode_replies(conn):
    """[(seq, error, the send call carrying its first byte)] after the handshake,
    and the handshake's resume point (size, name)."""
    stream = bytearray()
    starts = []  # (offset in stream, call)
    for call, data in sorted(conn.sends, key=lambda cd: cd[0].entry):
        starts.append((len(stream), call))
        stream += data
    if len(stream) < HANDSHAKE_OUT:
        return [], None
    check(stream[:5] == b"ADIST", "the receiver's first bytes are not a welcome")
    resume_size = struct.unpack_from("<Q", stream, 72)[0]
    resume_name = bytes(stream[80:336]).split(b"\0", 1)[0].decode("ascii", "replace")
    out = []
    k = 0
    off = HANDSHAKE_OUT + (V1_RESUME_EXTRA if stream[5:7] != b"00" else 0)
    while off + REPLY_SIZE <= len(stream):
        while k + 1 < len(starts) and starts[k + 1][0] <= off:
            k += 1
        order = stream[off]
        check(order in (1, 2), f"bad byte order {order} in a reply")
        seq, err = struct.unpack_from(("<" if order == 1 else ">") + "QH", stream, off + 1)
        out.append((seq, err, starts[k][1]))
        off += REPLY_SIZE
    check(off == len(stream), f"the receiver sent {len(stream) - off} bytes that are not a "
                              f"whole reply")
    return out, (resume_size, resume_name)


def _check_connection(trace, conn, dirsyncs, rep):
    requests = _decode_requests(conn.received, conn.accept_call.where()) \
        if len(conn.received) >= HANDSHAKE_IN else []
    replies, resume = _decode_replies(conn)
    if not requests and not replies:
        return
    rep.connections += 1
    check(len(replies) <= len(requests),
          f"{len(replies)} replies for {len(requests)} requests on {conn.accept_call.where()}")
    rep.unanswered += len(requests) - len(replies)
    current = None
    appended = 0
    base = 0
    for (seq, cmd, size, payload), (rseq, err, send) in zip(requests, replies):
        rep.replies += 1
        what = f"{CMD_NAMES.get(cmd, cmd)} seq {seq}"
        if rseq != seq:
            rep.violation("order", f"reply seq {rseq} sent where the reply to {what} was due "
                                   f"(replies must follow the requests): {send.where()[:200]}")
            return
        if err != 0:
            rep.violation("error", f"{what} got error reply {err}: {send.where()[:200]}")
            return
        ack = send.entry
        if cmd == OPEN:
            rep.opens += 1
            name = payload.rstrip(b"\0").decode("ascii", "replace")
            rep.files.append(name)
            cands = [t for t in trace.trails if not t.used and t.name == name and
                     t.open_call.exit < ack]
            if not cands:
                rep.violation("open", f"{what} ({name}) acked but the file was not opened "
                                      f"before the ack: {send.where()[:200]}")
                return
            current = cands[0]
            current.used = True
            appended = 0
            base = resume[0] if resume and resume[1] == name else 0
            # The namespace change that made `name` exist here (create or
            # rename), else the reopen itself, must be followed by a
            # directory fsync that returned before the ack.
            op = current.open_call
            if not current.created:
                renames = [r for r in trace.renames if r.ok() and r.data[1] == name and
                           r.exit < op.exit]
                if renames:
                    op = renames[-1]
            if _first_sync_between(dirsyncs, op.exit, ack) is None:
                rep.violation("open", f"{what} ({name}) acked before an fsync of the directory "
                                      f"that followed {op.where()}: ack {send.where()[:120]}; "
                                      f"directory syncs near: "
                                      f"{_describe_syncs(dirsyncs, ack)}")
        elif cmd == APPEND:
            rep.appends += 1
            rep.append_bytes += size
            if current is None:
                rep.violation("append", f"{what} acked with no file open")
                return
            appended += size
            w = next((c for c, cum in current.writes if cum >= appended), None)
            where = (f"{what} (bytes {base + appended - size}..{base + appended} of "
                     f"{current.name})")
            if w is None or w.exit > ack:
                rep.violation("append", f"{where} acked before it was written: ack "
                                        f"{send.where()[:120]}; write "
                                        f"{w.where() if w else 'none'}")
                continue
            s = _first_sync_between(current.syncs, w.exit, ack)
            if s is None:
                rep.violation("append", f"{where} acked with no fdatasync of the file called "
                                        f"after its write returned and returned before the "
                                        f"ack: write {w.where()}; ack {send.where()[:120]}; "
                                        f"syncs near: {_describe_syncs(current.syncs, ack)}")
                continue
            g = rep.groups.setdefault(id(s), [s, 0])
            g[1] += 1
            slack = send.t_entry - s.t_exit
            rep.min_slack = slack if rep.min_slack is None else min(rep.min_slack, slack)
        elif cmd in (CLOSE, ERROR):
            if cmd == CLOSE:
                rep.closes += 1
            if current is None:
                rep.violation("close", f"{what} acked with no file open")
                return
            last = current.writes[-1][0].exit if current.writes else current.open_call.exit
            if current.written != appended:
                rep.violation("close", f"{what}: {current.written} bytes were written to "
                                       f"{current.name} for {appended} bytes of APPENDs")
            if _first_sync_between(current.syncs, last, ack) is None:
                rep.violation("close", f"{what} ({current.name}) acked with no fdatasync of the "
                                       f"file after its last write: ack {send.where()[:120]}; "
                                       f"syncs near: {_describe_syncs(current.syncs, ack)}")
            new = payload.rstrip(b"\0").decode("ascii", "replace") if cmd == CLOSE else ""
            if cmd == CLOSE and new != current.name:
                rep.close_renames += 1
                renames = [r for r in trace.renames if r.ok() and
                           r.data == (current.name, new) and r.exit < ack]
                if not renames:
                    rep.violation("close", f"{what}: {current.name} -> {new} acked before the "
                                           f"rename returned: ack {send.where()[:120]}")
                elif _first_sync_between(dirsyncs, renames[-1].exit, ack) is None:
                    rep.violation("close", f"{what}: rename {current.name} -> {new} acked "
                                           f"before an fsync of the directory after it: rename "
                                           f"{renames[-1].where()}; ack {send.where()[:120]}; "
                                           f"directory syncs near: "
                                           f"{_describe_syncs(dirsyncs, ack)}")
            current = None
        elif cmd == KEEPALIVE:
            rep.keepalives += 1


def assert_ordered(rep, label):
    if rep.violations:
        shown = "\n  ".join(f"{k}: {m}" for k, m in rep.violations[:5])
        raise TestFailure(f"{label}: {len(rep.violations)} acknowledgement(s) not preceded by "
                          f"the sync covering them:\n  {shown}")


# --------------------------------------------------------------------------
# Self-test: synthetic traces that must pass or fail


def _hx(b):
    return '"' + "".join(f"\\x{c:02x}" for c in b) + '"'


def _request(cmd, seq, payload):
    return struct.pack("<BBQI", 1, cmd, seq, len(payload)) + payload


def _reply(seq, err=0):
    return struct.pack("<BQH", 1, seq, err)


def synthetic_trace(variant, host_dir="/h/remote/web1"):
    """A tiny session: OPEN (create) of a .not_terminated trail, three
    APPENDs (100, 50 and 30 bytes) in two group commits, CLOSE with a rename;
    io thread 100, pool threads 101 and 102. `variant` breaks one rule."""
    nt = b"20260101000000.not_terminated"
    final = b"20260101000000.20260101005900"
    hs_in = b"ADIST00\0" + b"web1".ljust(256, b"\0") + bytes(64)
    hs_out = b"ADIST00\0" + bytes(64) + struct.pack("<Q", 0) + bytes(256)
    first = _request(OPEN, 1, nt + b"\0") + _request(APPEND, 2, bytes(100)) + \
        _request(APPEND, 3, bytes(50))
    second = _request(APPEND, 4, bytes(30)) + _request(CLOSE, 5, final + b"\0")
    r3_seq = 4 if variant == "reply out of order" else 3
    sync_ret = "-1 EIO (Input/output error)" if variant == "sync failed" else "0"
    sync_fd = 3 if variant == "sync of the wrong fd" else 11
    L = [
        (100, f"openat(AT_FDCWD, {_hx(host_dir.encode())}, O_RDONLY|O_NOFOLLOW|O_CLOEXEC|"
              f"O_DIRECTORY) = 3"),
        (100, "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, "
              "exit_signal=0}, 88) = 101"),
        (100, "accept(7, NULL, NULL) = 10"),
        (100, f"recvfrom(10, {_hx(hs_in)}, {len(hs_in)}, 0, NULL, NULL) = {len(hs_in)}"),
        (101, f"openat(3, {_hx(b'.')}, O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 11"),
        (101, "close(11) = 0"),
        (100, f"sendto(10, {_hx(hs_out)}, {len(hs_out)}, MSG_NOSIGNAL, NULL, 0) = {len(hs_out)}"),
        (100, f"recvfrom(10, {_hx(first)}, 196608, 0, NULL, NULL) = {len(first)}"),
        (101, f"openat(3, {_hx(nt)}, O_WRONLY|O_CREAT|O_EXCL|O_APPEND|O_NOFOLLOW|O_CLOEXEC, "
              f"0600) = 11"),
        ("open-dirsync", None),
        (100, "write(0x2, 0x7ffd0000, 0x40) = 0x40"),
        ("open-reply", None),
        (100, "write(0xb, 0x7f000010, 0x64) = 0x64"),
        ("write3", None),
        (100, f"recvfrom(10, {_hx(second)}, 196608, 0, NULL, NULL) = {len(second)}"),
        (100, "write(0xb, 0x7f000200, 0x1e <unfinished ...>"),
        ("sync1-exit", None),
        (100, "<... write resumed>) = 0x1e"),
        ("reply23", None),
        (101, "fdatasync(11) = 0"),
        (100, f"sendto(10, {_hx(_reply(4)[:5])}, 11, MSG_NOSIGNAL, NULL, 0) = 5"),
        (100, "recvfrom(10, 0x7f000000, 196608, 0, NULL, NULL) = -1 EAGAIN (Resource "
              "temporarily unavailable)"),
        (100, f"sendto(10, {_hx(_reply(4)[5:])}, 6, MSG_NOSIGNAL, NULL, 0) = 6"),
        (102, "fdatasync(11) = 0"),
        (102, f"renameat2(3, {_hx(nt)}, 3, {_hx(final)}, RENAME_NOREPLACE) = 0"),
        ("close-dirsync", None),
        (102, "close(11) = 0"),
        ("close-reply", None),
        (100, "recvfrom(10, \"\", 196608, 0, NULL, NULL) = 0"),
        (100, "close(10) = 0"),
        (102, "+++ exited with 0 +++"),
    ]
    blocks = {
        "open-dirsync": [(101, "fsync(3 <unfinished ...>"),
                         (100, "recvfrom(10, 0x7f000000, 196608, 0, NULL, NULL) = -1 EAGAIN "
                               "(Resource temporarily unavailable)"),
                         (101, "<... fsync resumed>) = 0")],
        "open-reply": [(100, f"sendto(10, {_hx(_reply(1))}, 11, MSG_NOSIGNAL, NULL, 0) = 11")],
        "write3": [(100, "write(0xb, 0x7f000100, 0x32) = 0x32"),
                   (102, f"fdatasync({sync_fd} <unfinished ...>")],
        "sync1-exit": [(102, f"<... fdatasync resumed>) = {sync_ret}")],
        "reply23": [(100, f"sendto(10, {_hx(_reply(2) + _reply(r3_seq))}, 22, MSG_NOSIGNAL, "
                          f"NULL, 0) = 22")],
        "close-dirsync": [(102, "fsync(3) = 0")],
        "close-reply": [(100, f"sendto(10, {_hx(_reply(5))}, 11, MSG_NOSIGNAL, NULL, 0) = 11")],
    }
    if variant == "ack before the sync returned":
        blocks["reply23"] += blocks["sync1-exit"]
        blocks["sync1-exit"] = []
    elif variant == "sync called before the write returned":
        blocks["write3"] = [(100, "write(0xb, 0x7f000100, 0x32 <unfinished ...>"),
                            (102, f"fdatasync({sync_fd} <unfinished ...>"),
                            (100, "<... write resumed>) = 0x32")]
    elif variant == "OPEN ack before the directory fsync":
        blocks["open-dirsync"], blocks["open-reply"] = blocks["open-reply"], \
            blocks["open-dirsync"]
    elif variant == "CLOSE ack before the directory fsync":
        blocks["close-dirsync"], blocks["close-reply"] = blocks["close-reply"], \
            blocks["close-dirsync"]
    elif variant == "rename never synced":
        blocks["close-dirsync"] = []
    elif variant != "correct" and variant not in ("reply out of order", "sync failed",
                                                  "sync of the wrong fd"):
        raise ValueError(variant)
    out = []
    for tid, text in L:
        for t2, x in (blocks[tid] if text is None else [(tid, text)]):
            cut = x.rfind(") = ")
            if cut > 0 and not x.startswith("<..."):
                x = x[:cut + 1].ljust(39) + x[cut + 1:]  # strace's alignment of " = "
            out.append(f"{t2} {1767225600 + len(out) / 1000:.6f} {x}")
    return "\n".join(out) + "\n"


SELF_TEST = {
    # variant: the kind of violation it must produce
    "ack before the sync returned": "append",
    "sync called before the write returned": "append",
    "sync failed": "append",
    "sync of the wrong fd": "append",
    "reply out of order": "order",
    "OPEN ack before the directory fsync": "open",
    "CLOSE ack before the directory fsync": "close",
    "rename never synced": "close",
}


def self_test():
    """The replay accepts the correct synthetic trace (with the expected
    figures) and rejects every broken variant for the expected reason."""
    rep = check_trace(Trace("/h/remote/web1").feed_text(synthetic_trace("correct")))
    assert_ordered(rep, "self-test, correct trace")
    check_equal(rep.summary(), {"replies": 5, "appends": 3, "bytes": 180, "opens": 1,
                                "closes": 1, "renames": 1, "group_commits": 2,
                                "largest_group": 2, "mean_group": 1.5},
                "self-test: figures of the correct synthetic trace")
    for variant, kind in SELF_TEST.items():
        rep = check_trace(Trace("/h/remote/web1").feed_text(synthetic_trace(variant)))
        kinds = sorted({k for k, _ in rep.violations})
        check(kinds == [kind], f"self-test: the synthetic trace '{variant}' should be rejected "
                               f"for '{kind}', got {kinds or 'no violation'}")
    return len(SELF_TEST)


# --------------------------------------------------------------------------
# The receiver under strace


class TracedReceiver(Daemon):
    """A receiver Daemon run as `strace ... auditdistd -F ...`. strace blocks
    fatal signals when it runs a command with -o, so SIGTERM goes to the
    traced auditdistd itself; strace exits with its status once every thread
    has exited, then the trace file is complete."""

    def __init__(self, sc, label, conf, trace_path, strace_opts, extra_args=()):
        super().__init__(sc, label, conf, "receiver", extra_args)
        self.trace_path = trace_path
        self.strace_opts = list(strace_opts)
        self.child = None

    def start(self, ready=True, debug=False):
        check(self.proc is None or self.proc.poll() is not None,
              f"{self.label}: start() while it is still running")
        assert_config_ok(self.sc.binary, self.conf)
        self.runs += 1
        args = [self.sc.binary, "-F", "-c", self.conf]
        if debug:
            args.append("-d")
        if os.geteuid() == 0:
            # The scenario's ledger signing key, never the machine's.
            args += ["-u", "nobody", "--ledger-key", os.path.join(self.sc.root, "ledger-key")]
        args += self.extra_args
        cmd = ["strace", *self.strace_opts, "-o", self.trace_path, "--", *args]
        with open(self.log_path, "ab") as log:
            log.write(f"----- {self.label} run {self.runs}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.run_offset = log.tell()
            # LeakSanitizer cannot run under ptrace (it aborts at exit): off
            # for the traced receiver only, in an ASan build.
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         close_fds=True, env=env)
        self.expect_running = True
        self.child = None
        if ready:
            self.wait_log(r"auditdistd started", timeout=30)
            self.child = wait_until(self._find_child, timeout=10,
                                    what="the traced auditdistd process")
        return self

    def _find_child(self):
        """The pid of the process strace started (its only child)."""
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    kids.append(int(entry))
        return kids[0] if len(kids) == 1 else None

    def terminate(self):
        if self.running() and self.term_sent_run != self.runs:
            self.term_sent_run = self.runs
            self.term_sent_at = time.monotonic()
            if self.child:
                os.kill(self.child, signal.SIGTERM)

    def force_kill(self):
        # The traced process first (with --seccomp-bpf its traced calls would
        # fail with ENOSYS once strace is gone); strace then reaps it and exits.
        if self.child and self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.child, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        super().force_kill()


def strace_options():
    """The strace options, or Skip when strace cannot trace here."""
    if shutil.which("strace") is None:
        raise Skip("strace is not installed (scripts/install-deps installs it)")
    base = ["-f", "-ttt", "-T", "-xx", "-s", str(STRING_LIMIT), "-e", f"trace={TRACED}",
            "-e", f"raw={RAW}"]
    errors = []
    for extra in (["--seccomp-bpf"], []):
        opts = base + extra
        p = subprocess.run(["strace", *opts, "-o", "/dev/null", "--", "true"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            return opts
        errors.append(p.stderr.strip().splitlines()[-1:] or [f"exit {p.returncode}"])
    raise Skip(f"strace cannot trace here: {errors[-1][0]}")


# --------------------------------------------------------------------------
# The scenario


def tcp_configs(sc):
    """dist/, source/, remote/ and configs of a receiver and a sender talking
    plain tcp:// on 127.0.0.1 (the receiver still needs a key and cert file
    in its config)."""
    sc.pair_dirs()
    cert, key, _ = sc.make_cert("receiver")
    url = f"tcp://127.0.0.1:{free_port()}"
    rconf = sc.receiver_config("receiver.conf", url, sc.remote, cert, key,
                               [("web1", "127.0.0.1", PASSWORD)])
    sconf = sc.write_config("sender.conf", "\n".join([
        'name "web1"', 'pidfile "none"', "timeout 5", "sender {",
        f'    directory "{sc.dist}"', '    host "collector" {', f'        remote "{url}"',
        f'        password "{PASSWORD}"', "    }", "}"]) + "\n")
    return rconf, sconf


def wait_shipped(sc, names, alive, timeout=60):
    wait_until(lambda: not any(os.path.exists(os.path.join(sc.dist, n)) for n in names),
               timeout=timeout, what=f"{len(names)} file(s) shipped (dist links removed)",
               alive=alive)


def grow_and_rename(sc, index, recv, send):
    """A .not_terminated trail written in pieces, each waited for at the
    receiver, then renamed to its final name (CLOSE with a new name)."""
    growing, final = trail_name(index, "not_terminated"), trail_name(index)
    src = os.path.join(sc.source, growing)
    h = hashlib.sha256()
    total = 0
    fd = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    try:
        os.link(src, os.path.join(sc.dist, growing))
        for i, n in enumerate(GROW_PIECES):
            piece = os.urandom(n)
            check_equal(os.write(fd, piece), n, "bytes written to the growing trail")
            h.update(piece)
            total += n
            want = total
            wait_until(lambda: file_size(sc.remote_file(growing)) >= want, timeout=20,
                       interval=0.005, what=f"piece {i} of {growing} at the receiver",
                       alive=(recv, send))
    finally:
        os.close(fd)
    os.rename(os.path.join(sc.dist, growing), os.path.join(sc.dist, final))
    os.rename(src, os.path.join(sc.source, final))
    wait_shipped(sc, [final], (recv, send))
    return final, total, h.hexdigest()


def retire(d):
    """Stops a daemon for good (clean exit within the limit asserted), so that
    its trace is complete. Its process is then forgotten: the final stop_all
    of run_scenario would otherwise time the exit from our SIGTERM, after the
    seconds spent replaying the traces."""
    d.stop()
    check(d.last_stop_seconds < SHUTDOWN_LIMIT,
          f"{d.label} took {d.last_stop_seconds:.1f} s to exit after SIGTERM")
    d.proc = None


def analyse(sc, trace_path, label):
    t0 = time.monotonic()
    trace = Trace(sc.host_dir).feed_file(trace_path)
    rep = check_trace(trace)
    elapsed = time.monotonic() - t0
    size = os.path.getsize(trace_path)
    sc.note(f"{label}: trace of {trace.lines} lines ({size / MiB:.0f} MiB, {trace.calls} calls, "
            f"{len(trace.conns)} connection(s)) replayed in {elapsed:.1f} s")
    return rep


def body(sc):
    n = self_test()
    sc.note(f"self-test: the correct synthetic trace passes with the expected figures; all {n} "
            f"broken variants are rejected for the expected reason")
    opts = strace_options()
    rconf, sconf = tcp_configs(sc)
    trace1 = sc.path("receiver.strace")
    recv = TracedReceiver(sc, "receiver", rconf, trace1, opts)
    sc.daemons.append(recv)
    send = sc.daemon("sender", sconf, "sender")
    started = time.monotonic()
    recv.start()
    send.start()
    send.wait_log(r"connected to .*; receiver has no file yet")

    expected = {}
    names = [trail_name(1)] + [trail_name(2 + i) for i in range(len(SMALL))]
    for name, size in zip(names, [BIG] + SMALL):
        expected[name] = sc.add_trail(name, size)
    wait_shipped(sc, names, (recv, send))
    final, total, digest = grow_and_rename(sc, 2 + len(SMALL), recv, send)
    expected[final] = (total, digest)
    retire(recv)
    transfer = time.monotonic() - started
    sc.note(f"{len(expected)} trails ({sum(s for s, _ in expected.values()) / MiB:.1f} MiB) "
            f"shipped to the traced receiver in {transfer:.1f} s")

    # Negative control: the same receiver with --no-sync acks without
    # fdatasync; the replay must flag every APPEND ack of the next file.
    trace2 = sc.path("receiver-nosync.strace")
    recv2 = TracedReceiver(sc, "receiver-nosync", rconf, trace2, opts, ["--no-sync"])
    sc.daemons.append(recv2)
    recv2.start()
    control = trail_name(3 + len(SMALL))
    expected[control] = sc.add_trail(control, NOSYNC_SIZE)
    wait_shipped(sc, [control], (recv2, send))
    retire(send)
    retire(recv2)

    check_equal(list_files(sc.host_dir), sorted(expected), "files in the receiver's host directory")
    for name, (size, sha) in sorted(expected.items()):
        check_equal(file_size(sc.remote_file(name)), size, f"size of the receiver's {name}")
        check_equal(sha256_file(sc.remote_file(name)), sha, f"sha256 of the receiver's {name}")
    sc.note(f"all {len(expected)} copies are byte-identical (size and sha256)")

    rep = analyse(sc, trace1, "normal run")
    assert_ordered(rep, "normal run")
    s = rep.summary()
    # One connection, every request answered: a reconnect would be a fault
    # of its own (and would leave requests unanswered, hence unchecked).
    check_equal(rep.connections, 1, "connections in the normal run")
    check_equal(rep.unanswered, 0, "requests left without a reply in the normal run")
    want_opened = sorted(names + [trail_name(2 + len(SMALL), "not_terminated")])
    check_equal(sorted(rep.files), want_opened, "files OPENed in the normal run")
    check_equal(s["closes"], len(want_opened), "CLOSEs checked in the normal run")
    check_equal(s["renames"], 1, "CLOSEs with a rename checked in the normal run")
    check_equal(s["bytes"], sum(s2 for n2, (s2, _) in expected.items() if n2 != control),
                "APPEND bytes acknowledged in the normal run")
    check(s["appends"] >= BIG // 65536, f"only {s['appends']} APPENDs in the normal run")
    check(s["group_commits"] >= 10 and s["largest_group"] >= 2,
          f"too few group commits to prove anything: {s}")
    sc.note(f"normal run: {s['replies']} replies checked: {s['appends']} APPENDs "
            f"({s['bytes'] / MiB:.1f} MiB), {s['opens']} OPENs, {s['closes']} CLOSEs "
            f"({s['renames']} with rename); {s['group_commits']} group commits (fdatasync), "
            f"largest group {s['largest_group']} APPENDs, mean {s['mean_group']:.1f}; "
            f"closest ack {rep.min_slack * 1e6:.0f} us after its sync returned; "
            f"no ack ahead of its sync")

    rep2 = analyse(sc, trace2, "--no-sync run")
    s2 = rep2.summary()
    kinds = sorted({k for k, _ in rep2.violations})
    check(s2["appends"] >= NOSYNC_SIZE // 65536,
          f"--no-sync run: only {s2['appends']} APPENDs seen")
    check_equal(kinds, ["append"], "kinds of violations found in the --no-sync run")
    check_equal(len(rep2.violations), s2["appends"],
                "--no-sync run: APPEND acks flagged (every one must be)")
    sc.note(f"--no-sync control: all {s2['appends']} APPEND acks flagged, e.g. "
            f"{rep2.violations[0][1][:160]}...")


if __name__ == "__main__":
    run_scenario("ack_ordering", body)
