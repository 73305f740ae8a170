// SPDX-License-Identifier: MIT
#include "overlay/keypair.h"

#include <sodium.h>
#include <string.h>

#include "overlay/aead.h"

_Static_assert(TUND_AEAD_TAG_LEN == TUND_NOISE_AUTHTAG_LEN, "tag");
_Static_assert(TUND_AEAD_KEY_LEN == TUND_NOISE_SYMMETRIC_KEY_LEN, "key");

void tund_keypair_init(struct tund_keypair *kp, const uint8_t send_key[32],
		       const uint8_t recv_key[32], uint32_t local_index, uint32_t remote_index,
		       bool is_initiator, uint64_t now_ns)
{
	memset(kp, 0, sizeof(*kp));
	memcpy(kp->send_key, send_key, sizeof(kp->send_key));
	memcpy(kp->recv_key, recv_key, sizeof(kp->recv_key));
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->created_ns = now_ns;
	kp->is_initiator = is_initiator;
	kp->valid = true;
}

void tund_keypair_destroy(struct tund_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

static bool older_than(uint64_t birth_ns, uint64_t now_ns, uint64_t seconds)
{
	return now_ns < birth_ns || now_ns - birth_ns >= seconds * TUND_NSEC_PER_SEC;
}

bool tund_keypair_expired(const struct tund_keypair *kp, uint64_t now_ns)
{
	return older_than(kp->created_ns, now_ns, TUND_REJECT_AFTER_TIME);
}

bool tund_keypair_should_rekey(const struct tund_keypair *kp, uint64_t now_ns)
{
	return kp->send_counter > TUND_REKEY_AFTER_MESSAGES ||
	       (kp->is_initiator && older_than(kp->created_ns, now_ns, TUND_REKEY_AFTER_TIME));
}

size_t tund_keypair_padded_len(size_t plain_len, size_t mtu)
{
	size_t last = plain_len, padded;

	if (mtu && last > mtu)
		last %= mtu;
	padded = (last + TUND_MESSAGE_PADDING_MULTIPLE - 1) &
		 ~(size_t)(TUND_MESSAGE_PADDING_MULTIPLE - 1);
	/* last <= mtu here, so the cap never cuts into the packet. */
	if (mtu && padded > mtu)
		padded = mtu;
	return plain_len + (padded - last);
}

size_t tund_keypair_message_len(size_t plain_len, size_t mtu)
{
	return TUND_MESSAGE_DATA_HEADER_LEN + tund_keypair_padded_len(plain_len, mtu) +
	       TUND_NOISE_AUTHTAG_LEN;
}

bool tund_keypair_reserve(struct tund_keypair *kp, uint8_t *buf, size_t buf_size,
			  size_t plain_len, size_t mtu, uint64_t now_ns, size_t *msg_len,
			  uint64_t *counter_out)
{
	struct tund_message_data *hdr = (struct tund_message_data *)buf;
	size_t padded, total;
	uint64_t counter;

	if (!kp->valid || tund_keypair_expired(kp, now_ns))
		return false;
	if (plain_len > TUND_MESSAGE_MAX_LEN)
		return false;
	padded = tund_keypair_padded_len(plain_len, mtu);
	total = TUND_MESSAGE_DATA_HEADER_LEN + padded + TUND_NOISE_AUTHTAG_LEN;
	if (total > buf_size || total > TUND_MESSAGE_MAX_LEN)
		return false;
	counter = kp->send_counter;
	if (counter >= TUND_REJECT_AFTER_MESSAGES)
		return false;
	kp->send_counter = counter + 1;

	memset(buf + TUND_MESSAGE_DATA_HEADER_LEN + plain_len, 0, padded - plain_len);
	tund_message_type_put(hdr->type, TUND_MESSAGE_DATA);
	tund_le32_put(hdr->receiver_index, kp->remote_index);
	tund_le64_put(hdr->counter, counter);
	*msg_len = total;
	*counter_out = counter;
	return true;
}

bool tund_keypair_seal(const uint8_t key[TUND_NOISE_SYMMETRIC_KEY_LEN], uint8_t *buf,
		       size_t msg_len, uint64_t counter)
{
	size_t padded = msg_len - TUND_MESSAGE_DATA_HEADER_LEN - TUND_NOISE_AUTHTAG_LEN;
	uint8_t *data = buf + TUND_MESSAGE_DATA_HEADER_LEN;

	return tund_aead_seal(key, counter, data, padded, data + padded);
}

bool tund_keypair_encrypt(struct tund_keypair *kp, uint8_t *buf, size_t buf_size,
			  size_t plain_len, size_t mtu, uint64_t now_ns, size_t *msg_len)
{
	uint64_t counter;
	bool ok;

	if (!tund_keypair_reserve(kp, buf, buf_size, plain_len, mtu, now_ns, msg_len, &counter))
		return false;
	ok = tund_keypair_seal(kp->send_key, buf, *msg_len, counter);
	tund_aead_wipe(); /* a whole packet: no batch keeps the key set up */
	return ok;
}

enum tund_keypair_verdict tund_keypair_open_check(const struct tund_keypair *kp,
						  const uint8_t *buf, size_t len, uint64_t now_ns,
						  uint64_t *counter)
{
	const struct tund_message_data *hdr;
	uint32_t receiver;
	uint64_t ctr;

	if (!tund_message_data_decode(buf, len, &hdr, &receiver, &ctr))
		return TUND_KEYPAIR_INVALID;
	if (!kp->valid || receiver != kp->local_index || tund_keypair_expired(kp, now_ns))
		return TUND_KEYPAIR_INVALID;
	/* Cheap pre-check; the window is only updated after authentication. */
	if (ctr >= TUND_REJECT_AFTER_MESSAGES)
		return TUND_KEYPAIR_INVALID;
	*counter = ctr;
	return TUND_KEYPAIR_OK;
}

bool tund_keypair_open(const uint8_t key[TUND_NOISE_SYMMETRIC_KEY_LEN], uint8_t *buf, size_t len,
		       uint64_t counter)
{
	size_t clen = len - TUND_MESSAGE_DATA_HEADER_LEN - TUND_NOISE_AUTHTAG_LEN;
	uint8_t *data = buf + TUND_MESSAGE_DATA_HEADER_LEN;

	return tund_aead_open(key, counter, data, clen, data + clen);
}

enum tund_keypair_verdict tund_keypair_decrypt(struct tund_keypair *kp, uint8_t *buf,
					       size_t len, uint64_t now_ns, size_t *plain_len,
					       uint64_t *counter)
{
	enum tund_keypair_verdict v;
	bool authentic;
	uint64_t ctr;

	v = tund_keypair_open_check(kp, buf, len, now_ns, &ctr);
	if (v != TUND_KEYPAIR_OK)
		return v;
	authentic = tund_keypair_open(kp->recv_key, buf, len, ctr);
	tund_aead_wipe();
	if (!authentic)
		return TUND_KEYPAIR_AUTH;
	if (!tund_replay_check(&kp->replay, ctr, TUND_REJECT_AFTER_MESSAGES))
		return TUND_KEYPAIR_REPLAY;
	*plain_len = len - TUND_MESSAGE_DATA_HEADER_LEN - TUND_NOISE_AUTHTAG_LEN;
	*counter = ctr;
	return TUND_KEYPAIR_OK;
}
