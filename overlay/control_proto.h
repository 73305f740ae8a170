/* SPDX-License-Identifier: MIT */
/* The control protocol (doc/control-protocol.md): the command names and the
 * keys of requests and replies, one JSON object a line. Shared by the daemon
 * (tund/control/) and tundctl (ctl/), so that both spell them alike;
 * tests/unit/test_control_proto.c checks the document against this list. */
#ifndef TUND_CONTROL_PROTO_H
#define TUND_CONTROL_PROTO_H

/* Commands ("cmd"). */
#define TUND_CMD_STATUS "status"
#define TUND_CMD_PEERS "peers"
#define TUND_CMD_PEER_ADD "peer.add"
#define TUND_CMD_PEER_REMOVE "peer.remove"
#define TUND_CMD_PEER_APPROVE "peer.approve"
#define TUND_CMD_PEER_BLOCK "peer.block"
#define TUND_CMD_PEER_UNBLOCK "peer.unblock"
#define TUND_CMD_PEER_OFFER "peer.offer"
#define TUND_CMD_PEER_ANSWER "peer.answer"
#define TUND_CMD_PEER_ACCEPT "peer.accept"
#define TUND_CMD_NETWORK_CREATE "network.create"
#define TUND_CMD_NETWORK_JOIN "network.join"
#define TUND_CMD_NETWORK_LEAVE "network.leave"
#define TUND_CMD_NETWORK_INVITE "network.invite"
#define TUND_CMD_NETWORK_INVITES "network.invites"
#define TUND_CMD_NETWORK_INVITE_REVOKE "network.invite_revoke"
#define TUND_CMD_NETWORK_REKEY "network.rekey"
#define TUND_CMD_NETWORK_RELAY "network.relay"
#define TUND_CMD_NETWORKS "networks"
#define TUND_CMD_PING "ping"
#define TUND_CMD_NETCHECK "netcheck"
#define TUND_CMD_RELOAD "reload"

/* Keys of requests and replies. */
#define TUND_KEY_ACCEPTED "accepted"
#define TUND_KEY_ACTIVE "active"
#define TUND_KEY_ADDRESS "address"
#define TUND_KEY_ADDRESS6 "address6"
#define TUND_KEY_ADDRESSES "addresses"
#define TUND_KEY_ADMIN "admin"
#define TUND_KEY_ADMISSION "admission"
#define TUND_KEY_AEAD "aead"
#define TUND_KEY_ALLOCATIONS "allocations"
#define TUND_KEY_ALLOWED_IPS "allowed_ips"
#define TUND_KEY_APPLIED "applied"
#define TUND_KEY_BEACONS "beacons"
#define TUND_KEY_BLOB "blob"
#define TUND_KEY_BROADCAST "broadcast"
#define TUND_KEY_BROADCASTS "broadcasts"
#define TUND_KEY_BROADCASTS_RECEIVED "broadcasts_received"
#define TUND_KEY_BROADCASTS_SENT "broadcasts_sent"
#define TUND_KEY_BROKER "broker"
#define TUND_KEY_BROKER_CONNECTED "broker_connected"
#define TUND_KEY_CANDIDATES "candidates"
#define TUND_KEY_CMD "cmd"
#define TUND_KEY_CONFIG "config"
#define TUND_KEY_COUNT "count"
#define TUND_KEY_CRYPTO_WORKERS "crypto_workers"
#define TUND_KEY_DISCOVERING "discovering"
#define TUND_KEY_DROPPED "dropped"
#define TUND_KEY_DROPS "drops"
#define TUND_KEY_ENABLED "enabled"
#define TUND_KEY_ENDPOINT "endpoint"
#define TUND_KEY_ERROR "error"
#define TUND_KEY_EXPIRED "expired"
#define TUND_KEY_EXPIRES "expires"
#define TUND_KEY_EXPIRES_AT "expires_at"
#define TUND_KEY_EXPIRES_S "expires_s"
#define TUND_KEY_EXTERNAL "external"
#define TUND_KEY_FAST_PATH "fast_path"
#define TUND_KEY_FAST_PATHS "fast_paths"
#define TUND_KEY_FILTERING "filtering"
#define TUND_KEY_FOREIGN "foreign"
#define TUND_KEY_FORGED "forged"
#define TUND_KEY_GATEWAY "gateway"
#define TUND_KEY_HANDOFFS "handoffs"
#define TUND_KEY_ICE_STATE "ice_state"
#define TUND_KEY_ID "id"
#define TUND_KEY_INTERFACE "interface"
#define TUND_KEY_INTERNAL "internal"
#define TUND_KEY_INVITE "invite"
#define TUND_KEY_INVITES "invites"
#define TUND_KEY_IPV6 "ipv6"
#define TUND_KEY_JOIN_REFUSED "join_refused"
#define TUND_KEY_EPOCH "epoch"
#define TUND_KEY_LAST_ERROR "last_error"
#define TUND_KEY_LATEST_HANDSHAKE "latest_handshake"
#define TUND_KEY_LEFT "left"
#define TUND_KEY_LIFETIME "lifetime"
#define TUND_KEY_LISTEN_PORT "listen_port"
#define TUND_KEY_LOCAL_ADDR "local_addr"
#define TUND_KEY_LOWERED_BACKLOG "lowered_backlog"
#define TUND_KEY_LOWERED_IDLE "lowered_idle"
#define TUND_KEY_MALFORMED "malformed"
#define TUND_KEY_MAPPING "mapping"
#define TUND_KEY_MAPPINGS "mappings"
#define TUND_KEY_MEMBERS "members"
#define TUND_KEY_MODE "mode"
#define TUND_KEY_MTU "mtu"
#define TUND_KEY_NAME "name"
#define TUND_KEY_NAT "nat"
#define TUND_KEY_NEEDS_RESTART "needs_restart"
#define TUND_KEY_NETWORK "network"
#define TUND_KEY_NETWORKS "networks"
#define TUND_KEY_OFFLOAD "offload"
#define TUND_KEY_OK "ok"
#define TUND_KEY_ONE_THREAD "one_thread"
#define TUND_KEY_ONE_THREAD_NOW "one_thread_now"
#define TUND_KEY_OLD_EPOCH_ANSWERS "old_epoch_answers"
#define TUND_KEY_OLD_EPOCH "old_epoch"
#define TUND_KEY_OLD_VERSION "old_version"
#define TUND_KEY_OPENSSL_FROM "openssl_from"
#define TUND_KEY_OTHER_NETWORK "other_network"
#define TUND_KEY_PACING "pacing"
#define TUND_KEY_PATH "path"
#define TUND_KEY_PEER_MAPPING "peer_mapping"
#define TUND_KEY_PATHS "paths"
#define TUND_KEY_PAUSES "pauses"
#define TUND_KEY_PEER "peer"
#define TUND_KEY_PEERS "peers"
#define TUND_KEY_PENDING "pending"
#define TUND_KEY_PORTMAP "portmap"
#define TUND_KEY_PREFIX "prefix"
#define TUND_KEY_PREFIX6 "prefix6"
#define TUND_KEY_PROTOCOL "protocol"
#define TUND_KEY_PSK "psk"
#define TUND_KEY_PUBLIC "public"
#define TUND_KEY_PUBLIC_KEY "public_key"
#define TUND_KEY_RAISED "raised"
#define TUND_KEY_RATE "rate"
#define TUND_KEY_RATE_LIMITED "rate_limited"
#define TUND_KEY_REACHABLE "reachable"
#define TUND_KEY_READER "reader"
#define TUND_KEY_REALTIME "realtime"
#define TUND_KEY_RECEIVED "received"
#define TUND_KEY_RELAY "relay"
#define TUND_KEY_RELAY_TRANSPORT "relay_transport"
#define TUND_KEY_RELAY_VIA "relay_via"
#define TUND_KEY_RELAYED "relayed"
#define TUND_KEY_FORWARDED "forwarded"
#define TUND_KEY_NO_PATH "no_path"
#define TUND_KEY_REMOTE_ADDR "remote_addr"
#define TUND_KEY_REMOVED "removed"
#define TUND_KEY_REPLAYED "replayed"
#define TUND_KEY_RESULT "result"
#define TUND_KEY_REVOKED "revoked"
#define TUND_KEY_RTT_MS "rtt_ms"
#define TUND_KEY_ROLE "role"
#define TUND_KEY_RX_BYTES "rx_bytes"
#define TUND_KEY_SENT "sent"
#define TUND_KEY_SENT_BYTES "sent_bytes"
#define TUND_KEY_SENT_BY_TYPE "sent_by_type"
#define TUND_KEY_SERVER "server"
#define TUND_KEY_SETTING "setting"
#define TUND_KEY_SIGNALING "signaling"
#define TUND_KEY_SLICES "slices"
#define TUND_KEY_STALE "stale"
#define TUND_KEY_STATE "state"
#define TUND_KEY_STUN "stun"
#define TUND_KEY_TUN_IO "tun_io"
#define TUND_KEY_TURN "turn"
#define TUND_KEY_TURN_START "turn_start"
#define TUND_KEY_TX_BYTES "tx_bytes"
#define TUND_KEY_UPTIME "uptime"
#define TUND_KEY_URL "url"
#define TUND_KEY_USES "uses"
#define TUND_KEY_USES_LEFT "uses_left"
#define TUND_KEY_USO "uso"
#define TUND_KEY_WORKERS "workers"

/* Every name above, for the document check. */
#define TUND_CONTROL_COMMANDS \
	TUND_CMD_STATUS, \
	TUND_CMD_PEERS, \
	TUND_CMD_PEER_ADD, \
	TUND_CMD_PEER_REMOVE, \
	TUND_CMD_PEER_APPROVE, \
	TUND_CMD_PEER_BLOCK, \
	TUND_CMD_PEER_UNBLOCK, \
	TUND_CMD_PEER_OFFER, \
	TUND_CMD_PEER_ANSWER, \
	TUND_CMD_PEER_ACCEPT, \
	TUND_CMD_NETWORK_CREATE, \
	TUND_CMD_NETWORK_JOIN, \
	TUND_CMD_NETWORK_LEAVE, \
	TUND_CMD_NETWORK_INVITE, \
	TUND_CMD_NETWORK_INVITES, \
	TUND_CMD_NETWORK_INVITE_REVOKE, \
	TUND_CMD_NETWORK_REKEY, \
	TUND_CMD_NETWORK_RELAY, \
	TUND_CMD_NETWORKS, \
	TUND_CMD_PING, \
	TUND_CMD_NETCHECK, \
	TUND_CMD_RELOAD
#define TUND_CONTROL_KEYS \
	TUND_KEY_ACCEPTED, \
	TUND_KEY_ACTIVE, \
	TUND_KEY_ADDRESS, \
	TUND_KEY_ADDRESS6, \
	TUND_KEY_ADDRESSES, \
	TUND_KEY_ADMIN, \
	TUND_KEY_ADMISSION, \
	TUND_KEY_AEAD, \
	TUND_KEY_ALLOCATIONS, \
	TUND_KEY_ALLOWED_IPS, \
	TUND_KEY_APPLIED, \
	TUND_KEY_BEACONS, \
	TUND_KEY_BLOB, \
	TUND_KEY_BROADCAST, \
	TUND_KEY_BROADCASTS, \
	TUND_KEY_BROADCASTS_RECEIVED, \
	TUND_KEY_BROADCASTS_SENT, \
	TUND_KEY_BROKER, \
	TUND_KEY_BROKER_CONNECTED, \
	TUND_KEY_CANDIDATES, \
	TUND_KEY_CMD, \
	TUND_KEY_CONFIG, \
	TUND_KEY_COUNT, \
	TUND_KEY_CRYPTO_WORKERS, \
	TUND_KEY_DISCOVERING, \
	TUND_KEY_DROPPED, \
	TUND_KEY_DROPS, \
	TUND_KEY_ENABLED, \
	TUND_KEY_ENDPOINT, \
	TUND_KEY_EPOCH, \
	TUND_KEY_ERROR, \
	TUND_KEY_EXPIRED, \
	TUND_KEY_EXPIRES, \
	TUND_KEY_EXPIRES_AT, \
	TUND_KEY_EXPIRES_S, \
	TUND_KEY_EXTERNAL, \
	TUND_KEY_FAST_PATH, \
	TUND_KEY_FAST_PATHS, \
	TUND_KEY_FILTERING, \
	TUND_KEY_FOREIGN, \
	TUND_KEY_FORGED, \
	TUND_KEY_GATEWAY, \
	TUND_KEY_HANDOFFS, \
	TUND_KEY_ICE_STATE, \
	TUND_KEY_ID, \
	TUND_KEY_INTERFACE, \
	TUND_KEY_INTERNAL, \
	TUND_KEY_INVITE, \
	TUND_KEY_INVITES, \
	TUND_KEY_IPV6, \
	TUND_KEY_JOIN_REFUSED, \
	TUND_KEY_LAST_ERROR, \
	TUND_KEY_LATEST_HANDSHAKE, \
	TUND_KEY_LEFT, \
	TUND_KEY_LIFETIME, \
	TUND_KEY_LISTEN_PORT, \
	TUND_KEY_LOCAL_ADDR, \
	TUND_KEY_LOWERED_BACKLOG, \
	TUND_KEY_LOWERED_IDLE, \
	TUND_KEY_MALFORMED, \
	TUND_KEY_MAPPING, \
	TUND_KEY_MAPPINGS, \
	TUND_KEY_MEMBERS, \
	TUND_KEY_MODE, \
	TUND_KEY_MTU, \
	TUND_KEY_NAME, \
	TUND_KEY_NAT, \
	TUND_KEY_NEEDS_RESTART, \
	TUND_KEY_NETWORK, \
	TUND_KEY_NETWORKS, \
	TUND_KEY_OFFLOAD, \
	TUND_KEY_OK, \
	TUND_KEY_ONE_THREAD, \
	TUND_KEY_ONE_THREAD_NOW, \
	TUND_KEY_OLD_EPOCH, \
	TUND_KEY_OLD_EPOCH_ANSWERS, \
	TUND_KEY_OLD_VERSION, \
	TUND_KEY_OPENSSL_FROM, \
	TUND_KEY_OTHER_NETWORK, \
	TUND_KEY_PACING, \
	TUND_KEY_PATH, \
	TUND_KEY_PEER_MAPPING, \
	TUND_KEY_PATHS, \
	TUND_KEY_PAUSES, \
	TUND_KEY_PEER, \
	TUND_KEY_PEERS, \
	TUND_KEY_PENDING, \
	TUND_KEY_PORTMAP, \
	TUND_KEY_PREFIX, \
	TUND_KEY_PREFIX6, \
	TUND_KEY_PROTOCOL, \
	TUND_KEY_PSK, \
	TUND_KEY_PUBLIC, \
	TUND_KEY_PUBLIC_KEY, \
	TUND_KEY_RAISED, \
	TUND_KEY_RATE, \
	TUND_KEY_RATE_LIMITED, \
	TUND_KEY_REACHABLE, \
	TUND_KEY_READER, \
	TUND_KEY_REALTIME, \
	TUND_KEY_RECEIVED, \
	TUND_KEY_RELAY, \
	TUND_KEY_RELAY_TRANSPORT, \
	TUND_KEY_RELAY_VIA, \
	TUND_KEY_RELAYED, \
	TUND_KEY_FORWARDED, \
	TUND_KEY_NO_PATH, \
	TUND_KEY_REMOTE_ADDR, \
	TUND_KEY_REMOVED, \
	TUND_KEY_REPLAYED, \
	TUND_KEY_RESULT, \
	TUND_KEY_REVOKED, \
	TUND_KEY_RTT_MS, \
	TUND_KEY_ROLE, \
	TUND_KEY_RX_BYTES, \
	TUND_KEY_SENT, \
	TUND_KEY_SENT_BYTES, \
	TUND_KEY_SENT_BY_TYPE, \
	TUND_KEY_SERVER, \
	TUND_KEY_SETTING, \
	TUND_KEY_SIGNALING, \
	TUND_KEY_SLICES, \
	TUND_KEY_STALE, \
	TUND_KEY_STATE, \
	TUND_KEY_STUN, \
	TUND_KEY_TUN_IO, \
	TUND_KEY_TURN, \
	TUND_KEY_TURN_START, \
	TUND_KEY_TX_BYTES, \
	TUND_KEY_UPTIME, \
	TUND_KEY_URL, \
	TUND_KEY_USES, \
	TUND_KEY_USES_LEFT, \
	TUND_KEY_USO, \
	TUND_KEY_WORKERS

#endif
