// SPDX-License-Identifier: MIT
#include "netlink/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* A dump answer can come in skbs of up to 32 KiB; a smaller read truncates. */
#define REPLY_SIZE 32768

static uint32_t seq_counter;

struct talk {
	tund_nl_cb cb;
	void *data;
	int intr;
};

static uint32_t next_seq(void)
{
	return (uint32_t)time(NULL) +
	       __atomic_fetch_add(&seq_counter, 1, __ATOMIC_RELAXED);
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		t->intr = 1;
	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static int on_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	(void)data;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

/* libmnl ignores the error code a failed dump leaves in NLMSG_DONE. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	int err;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err)) {
		err = *(const int *)mnl_nlmsg_get_payload(nlh);
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int on_overrun(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	errno = ENOBUFS;
	return MNL_CB_ERROR;
}

/* Not const: mnl_cb_run2 takes a plain pointer. */
static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = on_noop,
	[NLMSG_ERROR] = on_error,
	[NLMSG_DONE] = on_done,
	[NLMSG_OVERRUN] = on_overrun,
};

int tund_nl_talk(struct nlmsghdr *nlh, tund_nl_cb cb, void *data)
{
	struct talk t = { .cb = cb, .data = data };
	struct mnl_socket *nl;
	unsigned int portid;
	uint32_t seq;
	ssize_t n;
	char *buf;
	int ret;

	buf = malloc(REPLY_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl) {
		ret = -errno;
		goto out;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = next_seq();
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, REPLY_SIZE);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)n, seq, portid, on_data, &t,
				  ctl_cbs, MNL_ARRAY_SIZE(ctl_cbs));
		if (ret == MNL_CB_ERROR) {
			ret = errno ? -errno : -EIO;
			goto out;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
	ret = t.intr ? -EAGAIN : 0;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}
