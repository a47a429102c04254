#!/bin/sh
# ctest "service: systemd unit": etc/auditdistd.service, with @SBINDIR@ set to
# the directory of the built binary, must pass `systemd-analyze verify` with
# no output at all (unknown keys and bad values are only warnings there).
# Usage: verify_unit.sh <unit template> <auditdistd binary>. Skips (77)
# without systemd-analyze.
set -eu
template=$1
binary=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found"
    exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|@SBINDIR@|$(cd "$(dirname "$binary")" && pwd)|g" "$template" > "$dir/auditdistd.service"
if ! out=$(systemd-analyze verify --man=no "$dir/auditdistd.service" 2>&1); then
    echo "FAIL: systemd-analyze verify failed:"; echo "$out"; exit 1
fi
if [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify warned:"; echo "$out"; exit 1
fi
grep -q '^ExecStartPre=.*auditdistd -n ' "$dir/auditdistd.service" ||
    { echo "FAIL: no ExecStartPre config check"; exit 1; }
grep -q '^ExecStart=.*auditdistd -F ' "$dir/auditdistd.service" ||
    { echo "FAIL: ExecStart does not run in the foreground"; exit 1; }
grep -q '^ExecReload=.*-HUP' "$dir/auditdistd.service" || { echo "FAIL: no ExecReload"; exit 1; }
echo "PASS: systemd-analyze verify is silent"
