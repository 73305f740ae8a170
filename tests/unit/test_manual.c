// SPDX-License-Identifier: MIT
/* tund/control/cmd_manual.c: README's "No broker at all" between two daemons in one
 * process, through their control sockets as tundctl drives them: peer add
 * on both sides, peer offer -> blob, peer answer BLOB -> blob, peer accept
 * BLOB; then packets cross over the ICE path. In a network namespace of the
 * test's own with one veth pair, so ICE gathers there and nowhere
 * else; the data planes' "TUN"s are socketpairs. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string.h>

#include "overlay/keys.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/control/control.h"
#include "tund/connect/ice.h"

struct node {
	struct fx f;
	int tun[2];
	char key[TUND_KEY_B64_LEN + 1];
};

static bool node_start(struct node *n)
{
	fx_init(&n->f);
	tund_key_encode(n->key, n->f.d.public_key);
	return fx_start_dataplane(&n->f, n->tun) &&
	       tund_control_open(n->f.d.cfg.control_socket, tund_commands_handle, &n->f.d,
				 &n->f.d.control) == 0;
}

static void node_stop(struct node *n)
{
	tund_control_close(n->f.d.control);
	n->f.d.control = NULL;
	fx_stop_dataplane(&n->f, n->tun);
	fx_free(&n->f);
}

/* The request's reply as a JSON object (unref it), NULL if none or not ok. */
static JsonObject *request(struct node *n, const char *line, int seconds, char **error)
{
	g_autofree char *reply = fx_socket_request(n->f.d.cfg.control_socket, line, seconds);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	*error = NULL;
	if (!reply || !json_parser_load_from_data(p, reply, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		*error = g_strdup(reply ? reply : "(no reply)");
		return NULL;
	}
	o = json_node_get_object(json_parser_get_root(p));
	if (!json_object_get_boolean_member_with_default(o, "ok", FALSE)) {
		*error = g_strdup(json_object_get_string_member_with_default(o, "error", reply));
		return NULL;
	}
	return json_object_ref(json_object_get_object_member(o, "result"));
}

static char *blob_of(JsonObject *result)
{
	const char *b = result ? json_object_get_string_member_with_default(result, "blob", NULL) :
				 NULL;

	return b ? g_strdup(b) : NULL;
}

UNIT_TEST(manual_offer_answer_accept_carries_packets)
{
	struct node a, b;
	char *err = NULL;
	JsonObject *res;
	int ns = fx_netns_enter();

	CHECK(ns >= 0);
	if (ns < 0)
		return;
	/* One interface for ICE to gather on, in this namespace only. */
	CHECK(system("ip link set lo up && ip link add tt-man0 type veth peer name tt-man1 && "
		     "ip addr add 192.0.2.1/24 dev tt-man0 && ip link set tt-man0 up && ip link set tt-man1 up") == 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK(node_start(&a) && node_start(&b));
	if (!a.f.d.control || !b.f.d.control)
		goto out;

	/* Before peer add, an offer names the missing step. */
	g_autofree char *offer = g_strdup_printf("{\"cmd\":\"peer.offer\",\"peer\":\"%s\"}", b.key);
	CHECK(!request(&a, offer, 5, &err) && err && strstr(err, "add it first"));
	g_free(err);

	g_autofree char *add_b = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"allowed_ips\":[\"10.0.0.2/32\"]}",
		b.key);
	g_autofree char *add_a = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"allowed_ips\":[\"10.0.0.1/32\"]}",
		a.key);
	res = request(&a, add_b, 5, &err);
	CHECK(res && !err);
	if (res)
		json_object_unref(res);
	g_free(err);
	res = request(&b, add_a, 5, &err);
	CHECK(res && !err);
	if (res)
		json_object_unref(res);
	g_free(err);

	/* a offers; the reply comes once gathering is done. */
	res = request(&a, offer, 30, &err);
	g_autofree char *blob1 = blob_of(res);
	CHECK(blob1 && g_str_has_prefix(blob1, "tund-sig2:"));
	if (!blob1)
		fprintf(stderr, "  offer: %s\n", err ? err : "no blob");
	if (res)
		json_object_unref(res);
	g_free(err);
	if (!blob1)
		goto out;

	/* The offer pasted back into its own author is not an answer. */
	g_autofree char *answer_req = g_strdup_printf("{\"cmd\":\"peer.answer\",\"blob\":\"%s\"}",
						      blob1);
	CHECK(!request(&a, answer_req, 5, &err) && err && strstr(err, "blob:"));
	g_free(err);

	res = request(&b, answer_req, 30, &err);
	g_autofree char *blob2 = blob_of(res);
	CHECK(blob2 && g_str_has_prefix(blob2, "tund-sig2:"));
	if (!blob2)
		fprintf(stderr, "  answer: %s\n", err ? err : "no blob");
	if (res)
		json_object_unref(res);
	g_free(err);
	if (!blob2)
		goto out;

	g_autofree char *accept = g_strdup_printf("{\"cmd\":\"peer.accept\",\"blob\":\"%s\"}", blob2);
	res = request(&a, accept, 5, &err);
	CHECK(res && !g_strcmp0(json_object_get_string_member_with_default(res, "peer", ""), b.key));
	if (res)
		json_object_unref(res);
	g_free(err);
	/* Accepting the same answer twice: there is no offer of ours for it now... */
	g_autofree char *accept_b = g_strdup_printf("{\"cmd\":\"peer.accept\",\"blob\":\"%s\"}",
						    blob1);
	CHECK(!request(&b, accept_b, 5, &err) && err && strstr(err, "not an answer"));
	g_free(err);

	/* Packets cross over the ICE path, both ways. */
	CHECK(fx_carried(a.tun[1], b.tun[1], "10.0.0.1", "10.0.0.2", "over ice", 20));
	CHECK(fx_carried(b.tun[1], a.tun[1], "10.0.0.2", "10.0.0.1", "and back", 10));
	g_autofree char *peers = fx_socket_request(a.f.d.cfg.control_socket,
						   "{\"cmd\":\"peers\"}", 5);
	CHECK(peers && strstr(peers, "\"path\":\"direct\"") && strstr(peers, "192.0.2.1:"));
	if (peers && !strstr(peers, "\"path\":\"direct\""))
		fprintf(stderr, "  peers: %s\n", peers);
out:
	node_stop(&a);
	node_stop(&b);
	/* Sessions close from idle callbacks. */
	for (int i = 0; i < 200 && tund_ice_pending_closes() > 0; i++) {
		unit_iterate(false);
		g_usleep(5000);
	}
	fx_netns_leave(ns);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the main context until fd has a whole line, at most `seconds`. */
static char *wait_line(int fd, int seconds)
{
	GString *got = g_string_new(NULL);
	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;

	while (!strchr(got->str, '\n') && g_get_monotonic_time() < end) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			g_string_append_len(got, buf, n);
		else if (n == 0)
			break;
		unit_iterate(false);
		g_usleep(1000);
	}
	return g_string_free(got, FALSE);
}

UNIT_TEST(manual_offer_replaced_or_peer_removed_answers_the_waiting_client)
{
	struct node a;
	uint8_t k[TUND_KEY_LEN];
	char other[TUND_KEY_B64_LEN + 1];
	int ns = fx_netns_enter();

	CHECK(ns >= 0);
	if (ns < 0)
		return;
	CHECK(system("ip link set lo up && ip link add tt-man0 type veth peer name tt-man1 && "
		     "ip addr add 192.0.2.1/24 dev tt-man0 && ip link set tt-man0 up && "
		     "ip link set tt-man1 up") == 0);
	memset(&a, 0, sizeof(a));
	CHECK(node_start(&a));
	if (!a.f.d.control)
		goto out;
	/* A STUN server that never answers (on the veth, nobody behind it):
	 * gathering, and so the blob, stays pending. */
	a.f.d.cfg.ice_stun = g_strdup("192.0.2.99:3478");
	tund_key_generate(k);
	tund_key_encode(other, k);
	g_autofree char *add = g_strdup_printf("{\"cmd\":\"peer.add\",\"public_key\":\"%s\"}", other);
	g_autofree char *added = fx_socket_request(a.f.d.cfg.control_socket, add, 5);
	CHECK(added && strstr(added, "\"ok\":true"));

	g_autofree char *offer = g_strdup_printf("{\"cmd\":\"peer.offer\",\"peer\":\"%s\"}\n", other);
	int c1 = connect_to(a.f.d.cfg.control_socket);
	CHECK(c1 >= 0 && send(c1, offer, strlen(offer), 0) == (ssize_t)strlen(offer));
	for (int i = 0; i < 100; i++) {
		unit_iterate(false);
		g_usleep(1000);
	}
	/* A second offer replaces the first path: the first client is told. */
	int c2 = connect_to(a.f.d.cfg.control_socket);
	CHECK(c2 >= 0 && send(c2, offer, strlen(offer), 0) == (ssize_t)strlen(offer));
	g_autofree char *r1 = wait_line(c1, 5);
	CHECK(strstr(r1, "\"ok\":false") && strstr(r1, "cancelled"));
	/* Removing the peer answers the second. */
	g_autofree char *rm = g_strdup_printf("{\"cmd\":\"peer.remove\",\"peer\":\"%s\"}", other);
	g_autofree char *removed = fx_socket_request(a.f.d.cfg.control_socket, rm, 5);
	CHECK(removed && strstr(removed, "\"ok\":true"));
	g_autofree char *r2 = wait_line(c2, 5);
	CHECK(strstr(r2, "\"ok\":false") && strstr(r2, "cancelled"));
	close(c1);
	close(c2);
out:
	node_stop(&a);
	for (int i = 0; i < 200 && tund_ice_pending_closes() > 0; i++) {
		unit_iterate(false);
		g_usleep(5000);
	}
	fx_netns_leave(ns);
}
