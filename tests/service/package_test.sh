#!/bin/sh
# ctest "service: debian package": builds the Debian package of the build
# tree with `cpack -G DEB` into a temporary directory and, on this machine:
#  - checks its control fields (a real Maintainer, Version <project>-<rev>)
#    and that its maintainer scripts pass sh -n;
#  - runs its postrm purge alone with a failing deluser and no delgroup
#    (fake tools first in PATH), which must say so and still succeed;
#  - runs lintian on it (installed with apt-get when missing, and left
#    installed) and fails on any error (E:); warnings are printed, and the
#    ones kept are listed with why in docs/operations.md;
#  - installs it (dpkg -i), and checks /usr/sbin/auditdistd runs, the manual
#    pages, the unit in /lib/systemd/system with ExecStart=/usr/sbin/..., the
#    examples (one sample per role, each refused by -n for its placeholder
#    secrets), /usr/share/doc/auditdistd/copyright (DEP-5), changelog.Debian.gz
#    (gzip -n, newest entry = the package version) and every docs/*.md, no
#    file in /etc, the system user auditdistd, and the owners and
#    modes of /var/audit/dist (auditdistd:root 0750) and /var/audit/remote
#    (root:auditdistd 0770: the dropped receiver may create a host directory);
#    installs it a second time (upgrade path: postinst is idempotent);
#  - starts /usr/sbin/auditdistd in the foreground with the receiver section
#    of the installed receiver sample, changed only where this machine needs
#    it (see adapt_sample below), and checks it logs "auditdistd started",
#    listens, creates /var/audit/remote/web1 for the daemon user, and that
#    its worker runs as auditdistd under a root supervisor; a SIGHUP reload
#    adding host web2 makes the unprivileged worker create
#    /var/audit/remote/web2; SIGTERM stops it with status 0 within 6 s;
#  - starts it again with the default pidfile /var/run/auditdistd.pid, as
#    an init without systemd would, installs the package once more (so the
#    daemon runs a deleted binary, as after an upgrade), and checks that
#    dpkg -r stops it (prerm: SIGTERM by pidfile) with status 0;
#  - dpkg -r: binary, unit, manual pages, examples and documentation are
#    gone, the trail directories and their contents stay;
#  - dpkg --purge: the user and group are gone, and so are the unit's
#    enablement links, but /var/audit/remote with a (planted) received trail
#    and /var/audit/dist with a trail not shipped yet still exist: audit
#    trails are evidence, a package never deletes them; purge prints the
#    chattr and rm that delete them.
# Everything this test created is removed at exit, the package purged if the
# test installed it. Skips (77) without root or dpkg, when a package named
# auditdistd or a user or group auditdistd is already on the machine (they
# are not the test's to clobber), or when dpkg-statoverride entries exist for
# the trail directories, or when /var/run/auditdistd.pid exists.
# Usage: package_test.sh <build dir> <cpack> <project version> <source dir>
set -u
build=$1
cpack=$2
version=$3
source=$4
examples=/usr/share/doc/auditdistd/examples

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (installs a package)"
for tool in dpkg dpkg-deb dpkg-query dpkg-statoverride "$cpack" openssl python3 setpriv flock getent; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done
[ -r "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake not found"

# One package test per machine at a time (other build trees run the same).
exec 9>/run/lock/auditdistd-package-test.lock || skip "cannot open the lock file"
flock -w 300 9 || skip "another package test held the lock for 300 s"

status=$(dpkg-query -W -f='${db:Status-Status}' auditdistd 2>/dev/null)
case "$status" in
"" | not-installed) ;;
*) skip "a package auditdistd is on this machine (status: $status); not touching it" ;;
esac
getent passwd auditdistd >/dev/null && skip "a user auditdistd exists outside the package; purge would delete it"
getent group auditdistd >/dev/null && skip "a group auditdistd exists outside the package; purge would delete it"
getent passwd auditdistd-collector >/dev/null &&
	skip "a user auditdistd-collector exists outside the package; purge would delete it"
for d in /var/audit/dist /var/audit/remote; do
	[ -z "$(dpkg-statoverride --list "$d")" ] || skip "dpkg-statoverride entry for $d"
done
# The default pidfile and status socket, which the prerm check uses.
for f in /var/run/auditdistd.pid /var/run/auditdistd.sock; do
	[ ! -e "$f" ] || skip "$f exists (a daemon of another install?)"
done

tmp=$(mktemp -d /tmp/adist-pkg-XXXXXX)
chmod 0700 "$tmp"
# What was there before, so that cleanup removes only what this test made
# and restores owner and mode of what it found.
created=""
restore=""
for d in /var/audit /var/audit/dist /var/audit/remote /var/audit/remote/web1 /etc/security; do
	if [ -e "$d" ]; then
		restore="$restore $d:$(stat -c '%u:%g:%a' "$d")"
	else
		created="$d $created" # deepest first
	fi
done
trail=20240101000000.20240101000100 # a trail file name: start.end
plant_remote=/var/audit/remote/web1/$trail
plant_dist=/var/audit/dist/$trail
[ -e "$plant_remote" ] || [ -e "$plant_dist" ] && skip "$plant_remote or $plant_dist exists"
conf_existed=0
[ -e /etc/security/auditdistd.conf ] && conf_existed=1
# What the receiver makes beside the trails and for its signer: the ledgers
# (append-only) and the supervisor's Ed25519 key. Removed at exit only when
# this test made them.
ledger_dir=/var/audit/remote/.auditdistd-ledger
made_state=""
for f in "$ledger_dir" /var/lib/auditdistd/ledger-key /var/lib/auditdistd/ledger-key.pub /var/lib/auditdistd; do
	[ -e "$f" ] || made_state="$made_state $f"
done
manifest_existed=1 # until known
installed=0
supervisor=""
worker=""

cleanup()
{
	for p in $worker $supervisor; do kill -9 "$p" 2>/dev/null; done
	if [ "$installed" = 1 ]; then
		dpkg --purge auditdistd >"$tmp/cleanup.log" 2>&1 ||
			{ echo "cleanup: dpkg --purge auditdistd failed:"; cat "$tmp/cleanup.log"; }
	fi
	# Only what the test put there, and then rmdir: a file in these
	# directories that the test did not make is left alone.
	rm -f "$plant_remote" "$plant_dist" /var/run/auditdistd.pid /var/run/auditdistd.sock
	for f in $made_state; do
		[ -e "$f" ] || continue
		chattr -R -f -a -i "$f" 2>/dev/null
		if [ -d "$f" ] && [ "$f" = /var/lib/auditdistd ]; then
			rmdir "$f" 2>/dev/null || echo "cleanup: left $f (not empty)"
		else
			rm -rf "$f"
		fi
	done
	rmdir /var/audit/remote/.adist-pkg-test 2>/dev/null
	for d in $created; do
		[ ! -d "$d" ] || rmdir "$d" || echo "cleanup: left $d (not empty)"
	done
	for r in $restore; do
		d=${r%%:*} ids=${r#*:}
		[ -d "$d" ] && chown "${ids%:*}" "$d" && chmod "${ids##*:}" "$d"
	done
	# cpack rewrote the build tree's install_manifest.txt (the list a
	# `cmake --install` leaves for uninstalling): put back what was there.
	if [ -f "$tmp/install_manifest.txt" ]; then
		cp -p "$tmp/install_manifest.txt" "$build/install_manifest.txt"
	elif [ "$manifest_existed" = 0 ]; then
		rm -f "$build/install_manifest.txt"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# dpkg with a bounded wait for its lock (apt may run at the same time).
dpkg_run()
{
	i=0
	while ! dpkg "$@" >"$tmp/dpkg.log" 2>&1; do
		grep -q "lock" "$tmp/dpkg.log" && [ $i -lt 60 ] || return 1
		sleep 1
		i=$((i + 1))
	done
}
mode() { stat -c '%U:%G %a' "$1"; }
# Waits up to $1 tenths of a second for the command that follows to succeed.
wait_for()
{
	n=$1
	shift
	i=0
	while ! "$@"; do
		[ $i -lt "$n" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# --- build the package
manifest_existed=0
if [ -f "$build/install_manifest.txt" ]; then
	manifest_existed=1
	cp -p "$build/install_manifest.txt" "$tmp/install_manifest.txt"
fi
"$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$tmp/out/auditdistd_${version}"-*_"$(dpkg --print-architecture).deb" 2>/dev/null)
[ -f "$deb" ] || { cat "$tmp/cpack.log"; ls "$tmp/out"; fail "cpack did not make auditdistd_${version}-<revision>_<arch>.deb"; }
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = auditdistd ] || fail "Package: $(field Package)"
debversion=$(field Version)
case "$debversion" in "$version"-[0-9]*) ;; *) fail "Version: $debversion, project version $version (expected $version-<revision>)" ;; esac
[ "$(field Section)" = admin ] || fail "Section: $(field Section)"
[ "$(field Priority)" = optional ] || fail "Priority: $(field Priority)"
maintainer=$(field Maintainer)
echo "Maintainer: $maintainer"
echo "$maintainer" | grep -Eq '^[^<>]+ <[^@<> ]+@[a-z0-9.-]+\.[a-z]+>$' || fail "Maintainer is not 'Name <address>': $maintainer"
case "$maintainer" in *.example\>* | *.invalid\>* | *noreply* | *localhost*) fail "Maintainer is a placeholder: $maintainer" ;; esac
depends=$(field Depends)
for dep in adduser libc6 libssl3; do
	case ", $depends" in *", $dep"*) ;; *) fail "Depends lacks $dep: $depends" ;; esac
done
dpkg-deb -e "$deb" "$tmp/control"
for script in postinst prerm postrm; do
	[ -x "$tmp/control/$script" ] || fail "no executable $script in the package"
	sh -n "$tmp/control/$script" || fail "sh -n $script"
done
# postrm purge on its own, before anything is installed, with fake tools
# first in PATH: a deluser that fails must be reported with the command to
# run, a missing delgroup too, and the purge must still succeed.
mkdir "$tmp/fakebin"
printf '#!/bin/sh\nexit 0\n' >"$tmp/fakebin/getent"
printf '#!/bin/sh\nexit 0\n' >"$tmp/fakebin/deb-systemd-helper"
printf '#!/bin/sh\necho "fake deluser: user auditdistd is busy" >&2\nexit 8\n' >"$tmp/fakebin/deluser"
chmod 0755 "$tmp/fakebin/"*
PATH="$tmp/fakebin:/usr/bin:/bin" sh "$tmp/control/postrm" purge >"$tmp/postrm.log" 2>&1 ||
	{ cat "$tmp/postrm.log"; fail "postrm purge failed when deluser failed"; }
grep -q '^auditdistd: could not remove the system user auditdistd: fake deluser: user auditdistd is busy$' "$tmp/postrm.log" &&
	grep -q '^auditdistd: remove it with: deluser --system --quiet auditdistd$' "$tmp/postrm.log" &&
	grep -q '^auditdistd: could not remove the system group auditdistd: delgroup not found; remove it with: delgroup --system --quiet --only-if-empty auditdistd (or: groupdel auditdistd)$' "$tmp/postrm.log" ||
	{ cat "$tmp/postrm.log"; fail "postrm did not report the user and group it could not remove"; }
dpkg-deb -c "$deb" | grep -q '\./etc/' && fail "the package ships files in /etc: $(dpkg-deb -c "$deb" | grep '\./etc/')"

# --- lintian: no error. Installed for the test when missing (and left
# installed, like the build dependencies).
if ! command -v lintian >/dev/null 2>&1; then
	echo "installing lintian (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q lintian >"$tmp/apt.log" 2>&1 ||
		{ tail -n 20 "$tmp/apt.log"; fail "apt-get install lintian failed (install it by hand: apt-get install lintian)"; }
fi
lintian --version
lintian "$deb" >"$tmp/lintian.log" 2>&1
echo "lintian $(basename "$deb"):"
cat "$tmp/lintian.log"
grep -q '^E: ' "$tmp/lintian.log" && fail "lintian reports errors (E: lines above)"

# --- install
installed=1
dpkg_run -i "$deb" || { cat "$tmp/dpkg.log"; fail "dpkg -i failed"; }
[ "$(dpkg-query -W -f='${Status}' auditdistd)" = "install ok installed" ] ||
	fail "status after dpkg -i: $(dpkg-query -W -f='${Status}' auditdistd)"
/usr/sbin/auditdistd -h >"$tmp/help.txt" 2>&1 || fail "/usr/sbin/auditdistd -h failed: $(cat "$tmp/help.txt")"
grep -q "^usage: auditdistd" "$tmp/help.txt" || fail "auditdistd -h printed: $(cat "$tmp/help.txt")"
ls /usr/share/man/man8/auditdistd.8* >/dev/null 2>&1 || fail "no /usr/share/man/man8/auditdistd.8*"
ls /usr/share/man/man5/auditdistd.conf.5* >/dev/null 2>&1 || fail "no /usr/share/man/man5/auditdistd.conf.5*"
# The collector's shell hooks (docs/collector.md): bash via /etc/profile.d,
# zsh via one marked line in /etc/zsh/zshrc.
[ "$(readlink /etc/profile.d/auditdistd-collector.sh)" = /usr/share/auditdistd/auditdistd-collector.sh ] ||
	[ ! -d /etc/profile.d ] || fail "no /etc/profile.d/auditdistd-collector.sh link"
zsh_hook='source /usr/share/auditdistd/auditdistd-collector.zsh # auditdistd: collector hook'
if [ -f /etc/zsh/zshrc ]; then
	[ "$(grep -cF "$zsh_hook" /etc/zsh/zshrc)" = 1 ] || fail "/etc/zsh/zshrc lacks the collector hook line"
	! command -v zsh >/dev/null || zsh -n /etc/zsh/zshrc || fail "/etc/zsh/zshrc no longer parses"
fi
unit=/lib/systemd/system/auditdistd.service
[ -f "$unit" ] || fail "no $unit"
grep -q '^ExecStart=/usr/sbin/auditdistd -F ' "$unit" || fail "$unit: $(grep '^ExecStart=' "$unit")"
grep -q '^ExecStartPre=/usr/sbin/auditdistd -n ' "$unit" || fail "$unit: $(grep '^ExecStartPre=' "$unit")"
grep -q '@SBINDIR@' "$unit" && fail "$unit still has @SBINDIR@"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ] ||
		fail "systemd-analyze verify $unit: $out"
fi
for f in auditdistd-receiver.conf.sample auditdistd-sender.conf.sample audit_control.sample rc.d/auditdistd; do
	[ -f "$examples/$f" ] || fail "no $examples/$f"
done
[ ! -e "$examples/auditdistd.conf.sample" ] || fail "the old combined sample is still installed"
# As shipped, each sample is refused for its placeholder secrets (exit 78),
# so that a copied sample never runs with a password everybody knows.
for role in receiver sender; do
	/usr/sbin/auditdistd -n -c "$examples/auditdistd-$role.conf.sample" >"$tmp/check.txt" 2>&1
	code=$?
	[ "$code" = 78 ] && grep -q ':[0-9]*: host "[a-z0-9]*": password is still the placeholder' "$tmp/check.txt" ||
		fail "auditdistd -n on the $role sample: exit $code, $(cat "$tmp/check.txt")"
done
grep -q '^receiver' "$examples/auditdistd-sender.conf.sample" && fail "the sender sample has a receiver section"
grep -q '^sender' "$examples/auditdistd-receiver.conf.sample" && fail "the receiver sample has a sender section"
# What Debian requires in /usr/share/doc/<package>, and the documentation.
doc=/usr/share/doc/auditdistd
head -n 1 "$doc/copyright" 2>/dev/null | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
	fail "$doc/copyright is missing or not machine-readable (DEP-5)"
grep -qx 'License: BSD-2-Clause' "$doc/copyright" || fail "$doc/copyright names no BSD-2-Clause licence"
[ -f "$doc/changelog.Debian.gz" ] || fail "no $doc/changelog.Debian.gz"
# gzip -n: header flags 0 (no name) and time stamp 0.
[ "$(od -An -tx1 -j3 -N5 "$doc/changelog.Debian.gz" | tr -d ' ')" = 0000000000 ] ||
	fail "$doc/changelog.Debian.gz was not made with gzip -n"
top=$(gzip -dc "$doc/changelog.Debian.gz" | head -n 1)
case "$top" in "auditdistd ($debversion) "*) ;; *) fail "newest changelog entry '$top' is not version $debversion" ;; esac
for md in "$source"/docs/*.md; do
	[ -f "$doc/$(basename "$md")" ] || fail "no $doc/$(basename "$md")"
done
[ -z "$(dpkg-query -W -f='${Conffiles}' auditdistd)" ] || fail "the package has conffiles"
[ -e /etc/security/auditdistd.conf ] && [ "$conf_existed" = 0 ] &&
	fail "the package created /etc/security/auditdistd.conf (it holds passwords: the administrator writes it)"

# The user and the directories.
pw=$(getent passwd auditdistd) || fail "no user auditdistd after install"
uid=$(echo "$pw" | cut -d: -f3)
gid=$(getent group auditdistd | cut -d: -f3) || fail "no group auditdistd after install"
[ "$(echo "$pw" | cut -d: -f4)" = "$gid" ] || fail "primary group of auditdistd is not auditdistd: $pw"
[ "$(echo "$pw" | cut -d: -f6)" = /nonexistent ] || fail "home of auditdistd: $pw"
[ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "shell of auditdistd: $pw"
# The collector process's own user: its own uid and group, not the daemon's.
cpw=$(getent passwd auditdistd-collector) || fail "no user auditdistd-collector after install"
cgid=$(getent group auditdistd-collector | cut -d: -f3) || fail "no group auditdistd-collector after install"
[ "$(echo "$cpw" | cut -d: -f4)" = "$cgid" ] || fail "primary group of auditdistd-collector: $cpw"
[ "$(echo "$cpw" | cut -d: -f3)" != "$uid" ] && [ "$cgid" != "$gid" ] ||
	fail "auditdistd-collector shares the uid or gid of auditdistd: $cpw"
[ "$(echo "$cpw" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "shell of auditdistd-collector: $cpw"
[ "$uid" -lt 1000 ] || fail "auditdistd is not a system user: $pw"
[ ! -e /nonexistent ] || fail "/nonexistent exists"
check_dirs()
{
	case "$created" in *"/var/audit "*) [ "$(mode /var/audit)" = "root:root 755" ] ||
		fail "/var/audit is $(mode /var/audit), not root:root 755" ;; esac
	[ "$(mode /var/audit/dist)" = "auditdistd:root 750" ] ||
		fail "/var/audit/dist is $(mode /var/audit/dist), not auditdistd:root 750"
	[ "$(mode /var/audit/remote)" = "root:auditdistd 770" ] ||
		fail "/var/audit/remote is $(mode /var/audit/remote), not root:auditdistd 770"
	[ -d /etc/security ] || fail "no /etc/security"
}
check_dirs
case "$created" in
*"/etc/security "*) [ "$(mode /etc/security)" = "root:root 755" ] || fail "/etc/security is $(mode /etc/security)" ;;
esac
# The unprivileged receiver can add a host directory (what a reload that
# adds a host does); the unprivileged sender can remove a shipped link from
# the dist directory, which nobody else may write.
as_daemon() { setpriv --reuid=auditdistd --regid=auditdistd --init-groups "$@"; }
as_daemon mkdir /var/audit/remote/.adist-pkg-test || fail "user auditdistd cannot create a directory in /var/audit/remote"
rmdir /var/audit/remote/.adist-pkg-test
touch /var/audit/dist/.adist-pkg-test
as_daemon rm /var/audit/dist/.adist-pkg-test || fail "user auditdistd cannot remove a link in /var/audit/dist"
setpriv --reuid=nobody --regid=nogroup --clear-groups ls /var/audit/dist >/dev/null 2>&1 &&
	fail "user nobody can list /var/audit/dist"

# Installing again (prerm upgrade, postinst configure <old version>) keeps
# the same user and modes.
dpkg_run -i "$deb" || { cat "$tmp/dpkg.log"; fail "second dpkg -i failed"; }
[ "$(getent passwd auditdistd)" = "$pw" ] || fail "second install changed the user: $(getent passwd auditdistd)"
check_dirs
[ ! -f /etc/zsh/zshrc ] || [ "$(grep -cF "$zsh_hook" /etc/zsh/zshrc)" = 1 ] ||
	fail "the second install changed the collector hook lines in /etc/zsh/zshrc"

# Enabling the unit as an administrator would (systemctl works offline).
enabled=""
if command -v systemctl >/dev/null 2>&1 && systemctl enable auditdistd.service >"$tmp/enable.log" 2>&1; then
	enabled=/etc/systemd/system/multi-user.target.wants/auditdistd.service
	[ -L "$enabled" ] || enabled=""
fi
echo "enablement link for the purge check: ${enabled:-none (no systemctl enable here)}"

# --- run the daemon with the sample receiver config
# adapt_sample: the installed receiver sample, as an administrator would
# start from it, changed only where this machine needs it (it has no sender
# section: a config with a sender keeps root and would connect to its
# TEST-NET collector; receiver-only is what drops to the user auditdistd):
#  - the placeholder password gets a real one, as -n demands;
#  - the two listen lines (0.0.0.0:7878 and [::]:7878) become one
#    127.0.0.1 address with a free port: nothing outside reaches the test,
#    7878 may be in use, and the machine may have no IPv6;
#  - certfile and keyfile point at a certificate and key made for the test
#    in a temporary directory: /etc/security keeps no test keys.
# directory "/var/audit/remote" and host "web1" stay.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=collector -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/openssl.log" 2>&1 ||
	{ cat "$tmp/openssl.log"; fail "openssl req failed"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp "$examples/auditdistd-receiver.conf.sample" "$tmp/receiver.sample"
awk -v port="$port" -v cert="$tmp/cert.pem" -v key="$tmp/key.pem" '
	/^[ \t]*listen[ \t]/ { if (!l) print "    listen \"tls://127.0.0.1:" port "\""; l = 1; next }
	/^[ \t]*certfile[ \t]/ { print "    certfile \"" cert "\""; next }
	/^[ \t]*keyfile[ \t]/ { print "    keyfile \"" key "\""; next }
	/^[ \t]*password[ \t]/ { print "        password \"a long random secret for the test\""; next }
	{ print }' "$tmp/receiver.sample" >"$tmp/auditdistd.conf"
chmod 0600 "$tmp/auditdistd.conf"
grep -q '^    directory "/var/audit/remote"$' "$tmp/auditdistd.conf" &&
	grep -q '^    host "web1" {$' "$tmp/auditdistd.conf" ||
	fail "unexpected receiver section in the sample: $(cat "$tmp/receiver.sample")"
echo "the sample's receiver section, as run (diff):"
diff "$tmp/receiver.sample" "$tmp/auditdistd.conf"
out=$(/usr/sbin/auditdistd -n -c "$tmp/auditdistd.conf" 2>&1) || fail "auditdistd -n: $out"

/usr/sbin/auditdistd -F -c "$tmp/auditdistd.conf" -P "$tmp/auditdistd.pid" >"$tmp/daemon.log" 2>&1 &
supervisor=$!
started() { grep -q "auditdistd started" "$tmp/daemon.log" || { kill -0 "$supervisor" 2>/dev/null || return 0; return 1; }; }
wait_for 100 started || { cat "$tmp/daemon.log"; fail "no 'auditdistd started' within 10 s"; }
kill -0 "$supervisor" 2>/dev/null || { cat "$tmp/daemon.log"; fail "the daemon exited"; }
child_of() { grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3; }
find_worker() { worker=$(child_of "$supervisor"); [ -n "$worker" ]; }
wait_for 50 find_worker || { cat "$tmp/daemon.log"; fail "no worker process under the supervisor $supervisor"; }
ids() { awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' "/proc/$1/status"; }
[ "$(ids "$supervisor" Uid)" = "0 0 0 0" ] || fail "supervisor Uid: $(ids "$supervisor" Uid)"
[ "$(ids "$worker" Uid)" = "$uid $uid $uid $uid" ] || fail "worker Uid: $(ids "$worker" Uid), auditdistd is $uid"
[ "$(ids "$worker" Gid)" = "$gid $gid $gid $gid" ] || fail "worker Gid: $(ids "$worker" Gid), auditdistd is $gid"
[ "$(readlink "/proc/$worker/exe")" = /usr/sbin/auditdistd ] || fail "worker runs $(readlink "/proc/$worker/exe")"
grep -q "running as user auditdistd" "$tmp/daemon.log" || { cat "$tmp/daemon.log"; fail "no 'running as user auditdistd'"; }
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).close()' "$port" ||
	fail "nothing listens on 127.0.0.1:$port"
[ "$(mode /var/audit/remote/web1)" = "auditdistd:auditdistd 700" ] ||
	fail "/var/audit/remote/web1 is $(mode /var/audit/remote/web1)"

# A reload that adds a host: the worker, running as auditdistd by now,
# creates /var/audit/remote/web2 itself; the group write of the package's
# root:auditdistd 0770 is what lets it.
[ ! -e /var/audit/remote/web2 ] || fail "/var/audit/remote/web2 exists before the reload"
created="/var/audit/remote/web2 $created"
sed 's/^}$/    host "web2" {\n        remote "192.0.2.11"\n        password "another long random secret"\n    }\n}/' \
	"$tmp/auditdistd.conf" >"$tmp/auditdistd.conf.new"
mv "$tmp/auditdistd.conf.new" "$tmp/auditdistd.conf"
chmod 0600 "$tmp/auditdistd.conf"
out=$(/usr/sbin/auditdistd -n -c "$tmp/auditdistd.conf" 2>&1) || fail "auditdistd -n after adding web2: $out"
kill -HUP "$supervisor"
reloaded() { grep -q "configuration reloaded\|reload: " "$tmp/daemon.log"; }
wait_for 100 reloaded || { cat "$tmp/daemon.log"; fail "no reload logged within 10 s of SIGHUP"; }
grep -q "configuration reloaded" "$tmp/daemon.log" || { cat "$tmp/daemon.log"; fail "the reload that adds web2 failed"; }
[ "$(mode /var/audit/remote/web2)" = "auditdistd:auditdistd 700" ] ||
	fail "/var/audit/remote/web2 after the reload is $(mode /var/audit/remote/web2)"
kill -0 "$worker" 2>/dev/null || fail "the worker died on reload"

kill -TERM "$supervisor"
gone() { ! kill -0 "$supervisor" 2>/dev/null; }
wait_for 60 gone || { cat "$tmp/daemon.log"; fail "still running 6 s after SIGTERM"; }
wait "$supervisor"
code=$?
supervisor=""
kill -0 "$worker" 2>/dev/null && fail "the worker $worker outlived the supervisor"
worker=""
[ "$code" = 0 ] || { cat "$tmp/daemon.log"; fail "exit status $code after SIGTERM"; }
grep -q "auditdistd stopped" "$tmp/daemon.log" || { cat "$tmp/daemon.log"; fail "no 'auditdistd stopped'"; }
[ ! -e "$tmp/auditdistd.pid" ] || fail "pidfile left after SIGTERM"

# --- remove: prerm stops a daemon that no systemd unit started, the
# program goes, the trails stay. The daemon runs with the default pidfile,
# as an rc script or an administrator would start it.
echo "received trail" >"$plant_remote"
chown auditdistd:auditdistd "$plant_remote"
chmod 0600 "$plant_remote"
echo "trail not shipped yet" >"$plant_dist"
/usr/sbin/auditdistd -F -c "$tmp/auditdistd.conf" >"$tmp/daemon2.log" 2>&1 &
supervisor=$!
pidfile_written() { [ -s /var/run/auditdistd.pid ] || { kill -0 "$supervisor" 2>/dev/null || return 0; return 1; }; }
wait_for 100 pidfile_written && [ "$(cat /var/run/auditdistd.pid 2>/dev/null)" = "$supervisor" ] ||
	{ cat "$tmp/daemon2.log"; fail "no /var/run/auditdistd.pid naming $supervisor within 10 s"; }
wait_for 100 find_worker || { cat "$tmp/daemon2.log"; fail "no worker under the second daemon"; }
# Installing the package again meanwhile (an upgrade, which restarts nothing
# without systemd) leaves the daemon on the replaced binary: prerm must
# still know it for auditdistd.
dpkg_run -i "$deb" || { cat "$tmp/dpkg.log"; fail "third dpkg -i failed"; }
[ "$(readlink "/proc/$supervisor/exe")" = "/usr/sbin/auditdistd (deleted)" ] ||
	fail "after reinstalling, the daemon runs $(readlink "/proc/$supervisor/exe")"
dpkg_run -r auditdistd || { cat "$tmp/dpkg.log"; fail "dpkg -r failed"; }
cat "$tmp/dpkg.log"
grep -q "Stopping auditdistd (pid $supervisor, /var/run/auditdistd.pid)" "$tmp/dpkg.log" ||
	fail "prerm did not say it stopped pid $supervisor"
# prerm waited until the daemon had stopped: it is at most a zombie now.
grep -q '^State:[[:space:]]*Z' "/proc/$supervisor/status" 2>/dev/null || ! kill -0 "$supervisor" 2>/dev/null ||
	{ cat "$tmp/daemon2.log"; fail "the daemon still runs after dpkg -r"; }
wait "$supervisor"
code=$?
supervisor=""
[ "$code" = 0 ] || { cat "$tmp/daemon2.log"; fail "exit status $code after prerm's SIGTERM"; }
kill -0 "$worker" 2>/dev/null && fail "the worker $worker outlived the supervisor"
worker=""
[ ! -e /var/run/auditdistd.pid ] || fail "pidfile left after prerm stopped the daemon"
for f in /usr/sbin/auditdistd "$unit" "$examples/auditdistd-receiver.conf.sample" \
	"$examples/auditdistd-sender.conf.sample" "$examples/rc.d/auditdistd" "$doc/copyright" \
	"$doc/changelog.Debian.gz" "$doc/operations.md"; do
	[ ! -e "$f" ] || fail "$f left after dpkg -r"
done
ls /usr/share/man/man8/auditdistd.8* /usr/share/man/man5/auditdistd.conf.5* >/dev/null 2>&1 &&
	fail "manual pages left after dpkg -r"
getent passwd auditdistd >/dev/null || fail "dpkg -r removed the user (only purge does)"
[ -f "$plant_remote" ] && [ -f "$plant_dist" ] || fail "dpkg -r removed trail files"

# --- purge: the user goes, the trails stay
dpkg_run --purge auditdistd || { cat "$tmp/dpkg.log"; fail "dpkg --purge failed"; }
installed=0
cat "$tmp/dpkg.log"
# Purge says how to delete the kept trails, which the receiver made +a/+i.
grep -q '^    chattr -R -i -a /var/audit/remote$' "$tmp/dpkg.log" &&
	grep -q '^    rm -r /var/audit/remote /var/audit/dist$' "$tmp/dpkg.log" ||
	fail "purge did not print how to remove the kept trails"
grep -q "could not remove the system" "$tmp/dpkg.log" && fail "postrm could not remove the user or group"
status=$(dpkg-query -W -f='${db:Status-Status}' auditdistd 2>/dev/null)
case "$status" in "" | not-installed) ;; *) fail "status after purge: $status" ;; esac
getent passwd auditdistd >/dev/null && fail "user auditdistd left after purge"
[ ! -f /etc/zsh/zshrc ] || ! grep -qF "$zsh_hook" /etc/zsh/zshrc || fail "purge left the zsh hook line"
[ ! -L /etc/profile.d/auditdistd-collector.sh ] || fail "purge left /etc/profile.d/auditdistd-collector.sh"
getent group auditdistd >/dev/null && fail "group auditdistd left after purge"
getent passwd auditdistd-collector >/dev/null && fail "user auditdistd-collector left after purge"
getent group auditdistd-collector >/dev/null && fail "group auditdistd-collector left after purge"
[ -z "$enabled" ] || [ ! -L "$enabled" ] || fail "enablement link $enabled left after purge"
# Received trails are evidence: purging the package must never delete them.
[ -d /var/audit/remote ] || fail "purge removed /var/audit/remote"
[ "$(cat "$plant_remote" 2>/dev/null)" = "received trail" ] || fail "purge removed or changed $plant_remote"
[ "$(cat "$plant_dist" 2>/dev/null)" = "trail not shipped yet" ] || fail "purge removed or changed $plant_dist"
echo "PASS: the Debian package installs, runs the sample receiver as auditdistd, removes and purges cleanly, and keeps the trails"
