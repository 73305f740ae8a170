#!/usr/bin/env bash
# README's "Self-hosting the servers": mosquitto with README's two lines of
# config and coturn started with README's turnserver command (PUBLIC_IP and
# SECRET filled in; read from README.md) on the lab's server, nothing else.
# Two friends behind symmetric NATs, a network with that broker and that
# TURN server only (no STUN: README says TURN alone is enough), connect
# through the relay and ping. coturn runs in a private mount namespace with
# empty /var/lib/turn, /var/log and /var/tmp, so its default database and
# log files of the machine stay untouched.
set -u
. "$(dirname "$0")/lib.sh"
t_init readmeself
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_readme.sh"
LAB_NO_SERVICES=1 lab_up symmetric
block=$(readme_block "**Self-hosting the servers**")

# mosquitto: the two config lines README puts in conf.d/tund.conf.
mq=$(sed -n 's/^# *\/etc\/mosquitto\/conf.d\/tund.conf: *//p; s/^# \{10,\}\([a-z_]* .*\)$/\1/p' <<<"$block")
[ "$(wc -l <<<"$mq")" = 2 ] && grep -qx 'listener 1883 0.0.0.0' <<<"$mq" ||
	fail "README's mosquitto lines changed: $mq"
{ printf '%s\n' "$mq"; echo 'log_dest stderr'; } >"$T_DIR/selfhost-mosquitto.conf"
lab_bg srv "$T_DIR/mosquitto.log" mosquitto -c "$T_DIR/selfhost-mosquitto.conf"
mq_listening() { lab_exec srv ss -ltnH 'sport = :1883' | grep -q '0.0.0.0:1883'; }
wait_until 20 mq_listening || fail "README's mosquitto does not listen on 1883"

# coturn: README's command, continuation joined, placeholders filled.
cmd=$(grep -v '^#' <<<"$block" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep '^turnserver ')
[ -n "$cmd" ] || fail "README has no turnserver command"
SECRET=s3cret$$
read -ra words <<<"${cmd//PUBLIC_IP/$LAB_SRV}"
words=("${words[@]//SECRET/$SECRET}")
t_log "README's: ${words[*]}"
lab_bg srv "$T_DIR/coturn.log" unshare -m --propagation private sh -c \
	'for d in /var/lib/turn /var/log /var/tmp; do mount -t tmpfs none "$d" || exit 1; done; exec "$@"' sh "${words[@]}"
wait_until 20 _lab_listening udp "$LAB_SRV" 3478 || fail "README's turnserver does not listen on $LAB_SRV:3478"

tund_node a
tund_node b
invite=$(ctl a network create friends --broker "mqtt://$LAB_SRV:1883" \
	--turn "turn://tund:$SECRET@$LAB_SRV:3478?transport=udp" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
KB=$(pubkey b)
wait_until 60 pings a "$B" || fail "no ping through README's servers"
lab_exec b ping -c 5 -i 0.2 -W 2 "$A" | grep -q ' 5 received' || fail "pings lost b -> a"
path_is a "$KB" relay || fail "path is $(peer_field a "$KB" path), want relay (symmetric NATs)"
t_log "relay through README's coturn: $(peer_field a "$KB" candidates), broker: README's mosquitto"
echo "PASS readme_selfhost"
