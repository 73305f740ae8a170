// SPDX-License-Identifier: MIT
/* tundctl genkey / pubkey: offline, byte-for-byte like `wg genkey` and
 * `wg pubkey`, so keys move freely between the two tools. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "overlay/keys.h"

static const char genkey_usage[] =
	"Usage: tundctl genkey\n"
	"\n"
	"Prints a new random private key in base64, as 'wg genkey' does. Works\n"
	"without tund. Set 'umask 077' before writing it to a file.\n";

static const char pubkey_usage[] =
	"Usage: tundctl pubkey < PRIVATE_KEY\n"
	"\n"
	"Reads a base64 private key on stdin and prints its public key, as\n"
	"'wg pubkey' does. Works without tund.\n";

static int no_operands(int argc, char **argv, const char *cmd, const char *usage, bool *help)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*help = false;
	optind = 0;
	while ((c = ctl_getopt(argc, argv, cmd, opts)) != -1) {
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(usage, stdout);
		*help = true;
		return CTL_EXIT_OK;
	}
	if (optind < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", cmd, argv[optind]);
	return CTL_EXIT_OK;
}

/* Straight to the fd: a key should not linger in a stdio buffer. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int genkey_main(int argc, char **argv, const char *sock)
{
	uint8_t key[TUND_KEY_LEN];
	char text[TUND_KEY_B64_LEN + 2];
	struct stat st;
	bool help;
	int ret;

	(void)sock;
	ret = no_operands(argc, argv, "genkey", genkey_usage, &help);
	if (ret || help)
		return ret;
	if (sodium_init() < 0)
		return ctl_fail("genkey: cannot initialise libsodium");

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr, "Warning: writing to %s accessible file.\n"
				"Consider setting the umask to 077 and trying again.\n",
			(st.st_mode & S_IRWXO) ? "world" : "group");

	tund_key_generate(key);
	tund_key_encode(text, key);
	text[TUND_KEY_B64_LEN] = '\n';
	ret = write_all(STDOUT_FILENO, text, TUND_KEY_B64_LEN + 1);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	if (ret)
		return ctl_fail("genkey: writing the key: %s", strerror(-ret));
	return CTL_EXIT_OK;
}

int pubkey_main(int argc, char **argv, const char *sock)
{
	uint8_t priv[TUND_KEY_LEN], pub[TUND_KEY_LEN];
	char in[1024], text[TUND_KEY_B64_LEN + 2];
	size_t len = 0, keylen;
	bool help;
	int ret;

	(void)sock;
	ret = no_operands(argc, argv, "pubkey", pubkey_usage, &help);
	if (ret || help)
		return ret;
	if (sodium_init() < 0)
		return ctl_fail("pubkey: cannot initialise libsodium");

	for (;;) {
		ssize_t n = read(STDIN_FILENO, in + len, sizeof(in) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ctl_fail("pubkey: reading stdin: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(in) - 1) {
			ret = ctl_fail("pubkey: invalid private key");
			goto out;
		}
	}
	in[len] = '\0';
	/* Like wg, NUL bytes after the key count as trailing space. */
	keylen = strlen(in);
	for (size_t i = keylen; i < len; i++) {
		if (in[i] != '\0' && !strchr(" \t\n\v\f\r", in[i])) {
			ret = ctl_fail("pubkey: invalid private key");
			goto out;
		}
	}
	if (!tund_key_decode(priv, in) || !tund_key_public(pub, priv)) {
		ret = ctl_fail("pubkey: invalid private key");
		goto out;
	}
	tund_key_encode(text, pub);
	text[TUND_KEY_B64_LEN] = '\n';
	ret = write_all(STDOUT_FILENO, text, TUND_KEY_B64_LEN + 1);
	if (ret)
		ret = ctl_fail("pubkey: writing the key: %s", strerror(-ret));
out:
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(in, sizeof(in));
	return ret;
}
