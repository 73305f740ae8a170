#!/usr/bin/env bash
# The Debian package as a user meets it: `make deb`, the package's contents
# and man pages, then a Debian 12 container booted with systemd
# (systemd-nspawn, its own network namespace, nothing touches the host's
# network) in which `apt-get install ./tund_*.deb` creates the user and
# group tund, `systemctl enable --now tund` starts the sandboxed unit,
# `tundctl status` answers a member of group tund and refuses anyone else,
# the daemon holds only CAP_NET_ADMIN and CAP_NET_RAW, systemctl reload
# re-reads the config, Restart=on-failure brings it back after SIGKILL, and
# purge removes it.
#
# The container's tree is made once with mmdebstrap (from the Debian
# mirror, TUND_DEBIAN_MIRROR) and kept in /var/cache/tund-tests/bookworm
# (TUND_PKG_TREE), outside the clone like apt's own cache, so that a fresh
# clone on the same machine does not pay the few minutes again; each run
# boots it with a throw-away overlay (--volatile=overlay), so the tree stays
# clean.
set -u
. "$(dirname "$0")/../netns/lib.sh"
t_init deb

ROOTFS=${TUND_PKG_TREE:-/var/cache/tund-tests/bookworm}
MIRROR=${TUND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Tools the tree needs besides the package's own dependencies: systemd as
# PID 1, man-db so that systemd-analyze verify checks Documentation=.
BASE_PKGS="systemd systemd-sysv dbus adduser man-db"

for tool in mmdebstrap systemd-nspawn nsenter dpkg-deb groff; do
	command -v "$tool" >/dev/null || fail "$tool is missing (make deps installs it)"
done

# --- build and inspect ----------------------------------------------------
make -C "$TOP" deb >"$T_DIR/make.log" 2>&1 || fail "make deb failed"
debs=("$TOP"/build/tund_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "make deb left ${#debs[@]} packages"
DEB=${debs[0]}
t_log "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"

dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' >"$T_DIR/contents"
for entry in '-rwxr-xr-x root/root ./usr/sbin/tund' \
	'-rwxr-xr-x root/root ./usr/bin/tundctl' \
	'-rw-r--r-- root/root ./lib/systemd/system/tund.service' \
	'-rw-r--r-- root/root ./etc/tund/tund.conf' \
	'-rw-r--r-- root/root ./usr/share/doc/tund/examples/tund.conf' \
	'-rw-r--r-- root/root ./usr/share/doc/tund/copyright' \
	'-rw-r--r-- root/root ./usr/share/man/man8/tund.8.gz' \
	'-rw-r--r-- root/root ./usr/share/man/man8/tundctl.8.gz' \
	'-rw-r--r-- root/root ./usr/share/man/man5/tund.conf.5.gz'; do
	grep -qxF -- "$entry" "$T_DIR/contents" || fail "package lacks: $entry"
done
[ "$(dpkg-deb -f "$DEB" Package)" = tund ] || fail "package name is not tund"
dpkg-deb -f "$DEB" Depends | grep -q 'libnice10' || fail "Depends lacks libnice10"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles | grep -qx /etc/tund/tund.conf ||
	fail "/etc/tund/tund.conf is not a conffile"

mkdir -p "$T_DIR/x"
dpkg-deb -x "$DEB" "$T_DIR/x"
for page in man8/tund.8 man8/tundctl.8 man5/tund.conf.5; do
	zcat "$T_DIR/x/usr/share/man/$page.gz" | groff -man -Tutf8 -ww 2>"$T_DIR/groff.err" >"$T_DIR/page.txt" ||
		fail "groff cannot render $page"
	[ -s "$T_DIR/groff.err" ] && fail "groff warns about $page: $(head -n 3 "$T_DIR/groff.err")"
	[ "$(wc -l <"$T_DIR/page.txt")" -gt 20 ] || fail "$page renders to almost nothing"
done

# --- the container tree (made once) -----------------------------------------
# The package's dependencies, without versions or alternatives.
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep .)
if [ ! -f "$ROOTFS/.complete" ]; then
	t_log "mmdebstrap Debian 12 into $ROOTFS (once; a few minutes)"
	rm -rf "$ROOTFS.tmp"
	mkdir -p "$(dirname "$ROOTFS")"
	start=$SECONDS
	# mmdebstrap: apt resolves the dependencies (debootstrap cannot pick
	# among alternatives such as libnice10's dbus-session-bus | ...).
	# shellcheck disable=SC2086
	mmdebstrap --variant=minbase --dpkgopt=force-unsafe-io \
		--include="$(echo $BASE_PKGS $deps | tr ' ' ,)" \
		bookworm "$ROOTFS.tmp" "$MIRROR" >"$T_DIR/mmdebstrap.log" 2>&1 ||
		fail "mmdebstrap failed (see above)"
	rm -rf "$ROOTFS"
	mv "$ROOTFS.tmp" "$ROOTFS"
	touch "$ROOTFS/.complete"
	t_log "mmdebstrap took $((SECONDS - start)) s"
fi
# A package added to the lists since the tree was made: install it there.
missing=
for p in $BASE_PKGS $deps; do
	chroot "$ROOTFS" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	t_log "adding to the tree:$missing"
	# shellcheck disable=SC2086
	systemd-nspawn -q --register=no --keep-unit -D "$ROOTFS" sh -c \
		"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing" \
		>"$T_DIR/tree-update.log" 2>&1 || fail "cannot install$missing into the tree"
fi

# --- boot it ----------------------------------------------------------------
mkdir -m 0755 "$T_DIR/pkg"
install -m 0644 "$DEB" "$T_DIR/pkg/"
DEB_IN=/mnt/pkg/$(basename "$DEB")
boot_start=$SECONDS
systemd-nspawn -q --register=no --keep-unit --volatile=overlay --private-network \
	--bind-ro="$T_DIR/pkg:/mnt/pkg" --bind=/dev/net/tun -D "$ROOTFS" -b \
	>"$T_DIR/container.log" 2>&1 </dev/null &
NSPAWN=$!
LEADER=
t_track "$NSPAWN"
# Killing nspawn alone would leave the container running: on any exit,
# end its PID namespace by killing its PID 1 too.
trap 'ct_cleanup; t_cleanup' EXIT
ct_cleanup() {
	[ -n "$LEADER" ] && pid_running "$LEADER" && kill -KILL "$LEADER" 2>/dev/null
	return 0
}

# The container's PID 1: nspawn's child in another PID namespace.
leader() {
	local p
	for p in $(pgrep -P "$NSPAWN"); do
		if [ "$(readlink "/proc/$p/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
			LEADER=$p
			return 0
		fi
	done
	return 1
}
wait_until 60 leader || fail "the container did not start"
leader
# ct CMD...: runs CMD inside the container, as root, with a clean environment.
ct() {
	nsenter -t "$LEADER" -a -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
booted() { ct systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
wait_until 180 booted || fail "systemd in the container did not finish booting: $(ct systemctl is-system-running 2>&1)"
t_log "container booted in $((SECONDS - boot_start)) s"

# --- install ------------------------------------------------------------------
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB_IN" >"$T_DIR/apt.log" 2>&1 ||
	fail "apt-get install ./$(basename "$DEB") failed"
ct getent passwd tund | grep -q '^tund:' || fail "no user tund"
tund_uid=$(ct id -u tund)
[ "$tund_uid" -lt 1000 ] || fail "user tund is not a system user (uid $tund_uid)"
[ "$(ct id -gn tund)" = tund ] || fail "user tund's group is not tund"
[ "$(ct stat -c '%U:%G %a' /etc/tund/tund.conf)" = "root:tund 640" ] ||
	fail "/etc/tund/tund.conf is $(ct stat -c '%U:%G %a' /etc/tund/tund.conf), not root:tund 640"
[ "$(ct systemctl is-enabled tund)" = disabled ] || fail "installing enabled the service"

ct systemd-analyze verify tund.service >"$T_DIR/verify.log" 2>&1 ||
	fail "systemd-analyze verify failed: $(cat "$T_DIR/verify.log")"
[ -s "$T_DIR/verify.log" ] && fail "systemd-analyze verify warns: $(cat "$T_DIR/verify.log")"

# --- start ------------------------------------------------------------------
ct systemctl enable --now tund >"$T_DIR/enable.log" 2>&1 || fail "systemctl enable --now tund failed"
status_ok() { ct tundctl status >"$T_DIR/status.txt" 2>&1; }
if ! wait_until 60 status_ok; then
	ct journalctl -u tund --no-pager >"$T_DIR/journal.log" 2>&1
	fail "tundctl status does not answer: $(cat "$T_DIR/status.txt")"
fi
grep -q 'tund0' "$T_DIR/status.txt" || fail "status does not name tund0: $(cat "$T_DIR/status.txt")"
ct test -d /sys/class/net/tund0 || fail "no interface tund0 in the container"

# Who may use the socket: a member of group tund, not anyone else.
ct useradd -m member && ct useradd -m other && ct adduser --quiet member tund ||
	fail "cannot create the test users"
[ "$(ct stat -c '%U:%G %A' /run/tund/tund.sock)" = "tund:tund srwxrwx---" ] ||
	[ "$(ct stat -c '%U:%G %A' /run/tund/tund.sock)" = "tund:tund srw-rw----" ] ||
	fail "socket is $(ct stat -c '%U:%G %A' /run/tund/tund.sock), not tund:tund 0660"
ct runuser -u member -- tundctl status >"$T_DIR/member.txt" 2>&1 ||
	fail "member of group tund is refused: $(cat "$T_DIR/member.txt")"
grep -q 'tund0' "$T_DIR/member.txt" || fail "member's status lacks tund0"
ct runuser -u other -- tundctl status >"$T_DIR/other.txt" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "non-member got exit $rc, not 1: $(cat "$T_DIR/other.txt")"
grep -qi 'permission denied' "$T_DIR/other.txt" ||
	fail "non-member's error does not say permission denied: $(cat "$T_DIR/other.txt")"
t_log "member: status ok; non-member: $(head -n 1 "$T_DIR/other.txt")"

# What the daemon runs with.
pid=$(ct systemctl show -p MainPID --value tund)
[ "${pid:-0}" -gt 0 ] || fail "no MainPID"
ct cat "/proc/$pid/status" >"$T_DIR/proc.txt"
field() { awk -v k="$1:" '$1 == k {print $2}' "$T_DIR/proc.txt"; }
[ "$(field Uid)" = "$tund_uid" ] || fail "tund runs as uid $(field Uid), not tund ($tund_uid)"
# CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
for set in CapEff CapPrm CapBnd CapAmb; do
	[ "$(field $set)" = 0000000000003000 ] ||
		fail "$set is $(field $set), not CAP_NET_ADMIN+CAP_NET_RAW (0000000000003000)"
done
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs is not set"
# LimitRTPRIO=1: the packet threads may go to real-time priority under bulk
# traffic ([daemon] realtime), and no higher. systemd can apply it only
# where it may raise the limit (CAP_SYS_RESOURCE, which this host's root may
# lack); tund then stays at normal priority.
[ "$(ct systemctl show -p LimitRTPRIO --value tund)" = 1 ] ||
	fail "the unit's LimitRTPRIO is $(ct systemctl show -p LimitRTPRIO --value tund), not 1"
rtprio=$(ct cat "/proc/$pid/limits" | awk '/^Max realtime priority/ {print $4, $5}')
if prlimit --rtprio=1:1 true 2>/dev/null; then
	[ "$rtprio" = "1 1" ] || fail "RLIMIT_RTPRIO of the service is '$rtprio', not '1 1'"
else
	t_skip rtprio "this root cannot raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE): the service's limit from LimitRTPRIO=1 is not checked (it is '$rtprio')"
fi
t_log "LimitRTPRIO=1 in the unit; the daemon's RLIMIT_RTPRIO: $rtprio"
[ "$(ct stat -c '%U %a' /var/lib/tund)" = "tund 700" ] || fail "state dir is $(ct stat -c '%U %a' /var/lib/tund)"
[ "$(ct stat -c '%U %a' /var/lib/tund/private.key)" = "tund 600" ] || fail "private.key is not tund 600"
ct journalctl -u tund --no-pager >"$T_DIR/journal.log" 2>&1
# The TUN reader: the unit allows io_uring's system calls, so where the
# kernel has the multishot read (6.7) the service reads through it.
reader=$(ct tundctl status | sed -n 's/^ *tun I\/O: .*reads through \(.*\)$/\1/p')
if kernel_has_uring; then
	[ "$reader" = io_uring ] ||
		fail "the service reads its TUN with '${reader:-?}', not io_uring: $(grep -o 'reading with read().*' "$T_DIR/journal.log" | head -1)"
else
	t_skip uring "kernel $(uname -r) has no io_uring TUN reader (multishot read is 6.7+; or kernel.io_uring_disabled): the service's io_uring reader is not checked"
fi
t_log "the service reads its TUN through ${reader:-?} (kernel $(uname -r))"
grep -q 'broadcast for LAN games is off' "$T_DIR/journal.log" &&
	fail "the sandbox stops the broadcast rules: $(grep broadcast "$T_DIR/journal.log")"

# tundctl ping needs the raw ICMP socket: a static peer with no endpoint
# gets the request sent and no reply (exit 1), not a socket error.
key=$(ct tundctl genkey | ct tundctl pubkey)
ct tundctl peer add "$key" --name nobody --allowed-ips 10.99.0.2/32 >/dev/null ||
	fail "peer add failed"
ct tundctl ping nobody -c 1 >"$T_DIR/ping.txt" 2>&1
grep -q '1 sent, 0 received' "$T_DIR/ping.txt" || fail "ping did not send: $(cat "$T_DIR/ping.txt")"
status_ok || fail "tund stopped answering after ping: $(cat "$T_DIR/status.txt")"

# systemctl reload: SIGHUP re-reads the config (readable by group tund)
# in the same process.
ct systemctl reload tund || fail "systemctl reload tund failed"
reloaded() { ct journalctl -u tund --no-pager | grep -q 'reload: '; }
wait_until 30 reloaded || fail "no reload line in the journal after systemctl reload"
ct journalctl -u tund --no-pager | grep -q 'reload: no STUN/TURN or broker setting changed' ||
	fail "reload did not report an unchanged config: $(ct journalctl -u tund --no-pager | grep reload)"
status_ok || fail "tund does not answer after reload"

# Nothing above may have crashed it.
ct journalctl -u tund --no-pager >"$T_DIR/journal.log" 2>&1
[ "$(ct systemctl show -p NRestarts --value tund)" = 0 ] || fail "tund restarted on its own"
[ "$(ct systemctl show -p MainPID --value tund)" = "$pid" ] || fail "tund's MainPID changed"

# Restart=on-failure: SIGKILL, and systemd brings it back.
ct kill -KILL "$pid" || fail "cannot kill tund (pid $pid in the container)"
restarted() { local p; p=$(ct systemctl show -p MainPID --value tund); [ "${p:-0}" -gt 0 ] && [ "$p" != "$pid" ] && status_ok; }
wait_until 60 restarted || fail "tund did not come back after SIGKILL: $(cat "$T_DIR/status.txt")"
t_log "restarted after SIGKILL (NRestarts=$(ct systemctl show -p NRestarts --value tund))"
t_log "$(ct systemd-analyze security tund 2>/dev/null | tail -n 1)"

# --- stop and purge ------------------------------------------------------------
ct systemctl stop tund || fail "systemctl stop tund failed"
ct test -e /sys/class/net/tund0 && fail "tund0 is still there after stop"
ct test -e /run/tund/tund.sock && fail "the socket is still there after stop"
ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y tund >>"$T_DIR/apt.log" 2>&1 ||
	fail "apt-get purge tund failed"
for f in /usr/sbin/tund /usr/bin/tundctl /lib/systemd/system/tund.service /var/lib/tund /etc/tund/tund.conf; do
	ct test -e "$f" && fail "$f is still there after purge"
done

# Power the container off (SIGRTMIN+4 asks systemd for a clean poweroff).
ct systemctl poweroff >/dev/null 2>&1 || kill -s RTMIN+4 "$LEADER"
wait_until 60 eval "! pid_running $NSPAWN" || fail "the container did not power off"
t_untrack "$NSPAWN"
t_log "package installed, started, answered, restarted and purged in a booted container"
echo "ok"
