#!/bin/sh
# ctest "service: rc.d script": rc.d/auditdistd passes `sh -n`, then runs
# under tests/service/rc.subr.shim (a stand-in for FreeBSD's /etc/rc.subr)
# with the built binary, and must: do nothing unless auditdistd_enable=YES;
# refuse to start without the config (required_files) or with a config that
# `auditdistd -n` rejects (start_precmd); start with auditdistd_flags and
# -c/-P from auditdistd_config/auditdistd_pidfile; say it is running; send
# SIGHUP on reload (the daemon keeps running); stop it (pidfile removed).
# Usage: rc_d_test.sh <source dir> <auditdistd binary>
set -u
src=$1
binary=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(mktemp -d /tmp/adist-rcd-XXXXXX)
cleanup()
{
	if [ -r "$dir/auditdistd.pid" ]; then kill -9 "$(cat "$dir/auditdistd.pid")" 2>/dev/null; fi
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

sh -n "$src/rc.d/auditdistd" || fail "sh -n rc.d/auditdistd"
sed -e "s|^\. /etc/rc.subr$|. $src/tests/service/rc.subr.shim|" \
    -e "s|^command=\"/usr/local/sbin/\${name}\"$|command=\"$binary\"|" \
    "$src/rc.d/auditdistd" > "$dir/auditdistd.rc"
grep -q "rc.subr.shim" "$dir/auditdistd.rc" || fail "rc.d script does not source /etc/rc.subr"
grep -q "command=\"$binary\"" "$dir/auditdistd.rc" || fail "rc.d script's command is not /usr/local/sbin/auditdistd"
export RC_CONF="$dir/rc.conf"
rc() { sh "$dir/auditdistd.rc" "$@" 2>&1; }

conf="$dir/auditdistd.conf"
mkdir -p "$dir/dist"
# Started as root, the daemon runs as the -u user (the package's auditdistd
# may not exist here), which removes shipped links from its dist directory.
[ "$(id -u)" != 0 ] || chown nobody "$dir/dist"
cat > "$dir/rc.conf" <<CONF
auditdistd_enable="NO"
auditdistd_config="$conf"
auditdistd_pidfile="$dir/auditdistd.pid"
auditdistd_flags="-d -u nobody --digest-state $dir/digests"
CONF

out=$(rc start) || fail "start with auditdistd_enable=NO failed: $out"
echo "$out" | grep -q "Set auditdistd_enable to YES" || fail "disabled start said: $out"
[ ! -e "$dir/auditdistd.pid" ] || fail "started although disabled"
[ "$(rc rcvar)" = auditdistd_enable ] || fail "rcvar is not auditdistd_enable"

sed -i 's/auditdistd_enable="NO"/auditdistd_enable="YES"/' "$dir/rc.conf"
out=$(rc start) && fail "started without a config: $out"
echo "$out" | grep -q "$conf is not readable" || fail "missing config not reported: $out"

printf 'sender {\n    directory "%s"\n    host "c" {\n        remote "tcp://127.0.0.1:9"\n' "$dir/dist" > "$conf"
out=$(rc start) && fail "started with a config that does not parse: $out"
echo "$out" | grep -q "failed precmd" || fail "bad config not stopped by start_precmd: $out"
[ ! -e "$dir/auditdistd.pid" ] || fail "a pidfile exists after a refused start"

printf 'name "web1"\nsender {\n    directory "%s"\n    host "c" {\n        remote "tcp://127.0.0.1:9"\n        password "pw"\n    }\n}\n' "$dir/dist" > "$conf"
chmod 600 "$conf"
out=$(rc start) || fail "start failed: $out"
i=0; while [ ! -s "$dir/auditdistd.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
pid=$(cat "$dir/auditdistd.pid" 2>/dev/null) || fail "no pidfile after start: $out"
kill -0 "$pid" || fail "pid $pid from the pidfile is not running"
cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline")
for want in "-d" "-c $conf" "-P $dir/auditdistd.pid"; do
	case " $cmdline " in *" $want "*) ;; *) fail "command line '$cmdline' lacks '$want'" ;; esac
done
out=$(rc start) && fail "a second start succeeded: $out"
echo "$out" | grep -q "already running" || fail "second start said: $out"
out=$(rc status) || fail "status while running: $out"
echo "$out" | grep -q "running as pid $pid" || fail "status said: $out"

out=$(rc reload) || fail "reload failed: $out"
sleep 0.5
kill -0 "$pid" || fail "the daemon died on reload (SIGHUP)"

out=$(rc stop) || fail "stop failed: $out"
kill -0 "$pid" 2>/dev/null && fail "still running after stop"
[ ! -e "$dir/auditdistd.pid" ] || fail "pidfile left after stop"
out=$(rc status) && fail "status after stop says running: $out"
echo "PASS: rc.d script under the rc.subr shim"
