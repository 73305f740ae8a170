// SPDX-License-Identifier: MIT
#include "netlink/link.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "netlink/nl.h"

static struct nlmsghdr *put_link(char *buf, uint16_t type, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	return nlh;
}

int tund_link_set_mtu(int ifindex, unsigned int mtu)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || mtu == 0 || mtu > INT32_MAX)
		return -EINVAL;
	nlh = put_link(buf, RTM_NEWLINK, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return tund_nl_talk(nlh, NULL, NULL);
}

int tund_link_set_up(int ifindex)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (ifindex <= 0)
		return -EINVAL;
	nlh = put_link(buf, RTM_NEWLINK, ifindex);
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return tund_nl_talk(nlh, NULL, NULL);
}

int tund_link_delete(int ifindex)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];

	if (ifindex <= 0)
		return -EINVAL;
	return tund_nl_talk(put_link(buf, RTM_DELLINK, ifindex), NULL, NULL);
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return MNL_CB_OK;
	ifm = mnl_nlmsg_get_payload(nlh);
	*(int *)data = ifm->ifi_index;
	return MNL_CB_OK;
}

int tund_link_index(const char *name)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct nlmsghdr *nlh;
	int ifindex = 0, ret;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	nlh = put_link(buf, RTM_GETLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = tund_nl_talk(nlh, on_link, &ifindex);
	if (ret < 0)
		return ret;
	return ifindex > 0 ? ifindex : -ENODEV;
}
