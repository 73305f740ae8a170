// SPDX-License-Identifier: MIT
#include "tund/daemon/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tund/daemon/log.h"

static int read_key(int fd, const char *path, uint8_t priv[TUND_KEY_LEN], char *why,
		    size_t why_len)
{
	char buf[128];
	ssize_t n;
	bool ok;

	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;

		tund_why(why, why_len, "%s: cannot read: %s", path, g_strerror(e));
		return -e;
	}
	buf[n] = '\0';
	/* A full buffer: more follows than a key file holds. */
	ok = (size_t)n < sizeof(buf) - 1 && tund_key_decode(priv, buf);
	sodium_memzero(buf, sizeof(buf));
	if (!ok) {
		sodium_memzero(priv, TUND_KEY_LEN); /* what the decoder got through */
		tund_why(why, why_len, "%s: not a private key (expected 44 base64 characters); "
			 "refusing to start and leaving the file as it is", path);
		return -EINVAL;
	}
	return 0;
}

int tund_keyfile_load_or_create(const char *path, uint8_t priv[TUND_KEY_LEN],
				bool *created, char *why, size_t why_len)
{
	char text[TUND_KEY_B64_LEN + 2];
	struct stat st;
	int fd, ret, e;
	bool ok = false;

	*created = false;
	/* O_NONBLOCK: a FIFO in its place must not hang the start-up. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			tund_why(why, why_len, "%s: not a regular file; refusing to start and "
				 "leaving it as it is", path);
			close(fd);
			return -EINVAL;
		}
		ret = read_key(fd, path, priv, why, why_len);
		/* A key others can read: tighten rather than refuse, it is ours
		 * and only we read it. A file refused is left exactly as it is. */
		if (!ret && (st.st_mode & 077) && fchmod(fd, 0600) != 0) {
			ret = -errno;
			tund_why(why, why_len, "%s: readable by others and chmod failed: %s", path,
				 g_strerror(-ret));
			sodium_memzero(priv, TUND_KEY_LEN);
		}
		close(fd);
		return ret;
	}
	e = errno;
	if (e != ENOENT) {
		tund_why(why, why_len, "%s: cannot open: %s", path, g_strerror(e));
		return -e;
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = errno;
		tund_why(why, why_len, "%s: cannot create: %s", path, g_strerror(e));
		return -e;
	}
	tund_key_generate(priv);
	tund_key_encode(text, priv);
	text[TUND_KEY_B64_LEN] = '\n';
	text[TUND_KEY_B64_LEN + 1] = '\0';
	errno = EIO; /* a short write sets none */
	ok = write(fd, text, TUND_KEY_B64_LEN + 1) == TUND_KEY_B64_LEN + 1 && fsync(fd) == 0;
	e = errno;
	sodium_memzero(text, sizeof(text));
	if (!ok) {
		tund_why(why, why_len, "%s: cannot write: %s", path, g_strerror(e));
		close(fd);
		unlink(path);
		sodium_memzero(priv, TUND_KEY_LEN);
		return -e;
	}
	close(fd);
	*created = true;
	return 0;
}
