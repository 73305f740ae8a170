// SPDX-License-Identifier: MIT
#include "tund/daemon/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tund_statefile_prepare_dir(const char *dir)
{
	struct stat st;

	if (g_mkdir_with_parents(dir, 0700) != 0)
		return -errno;
	if (stat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0)
		return -errno;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tund_statefile_write(const char *path, const void *data, size_t len)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	g_autofree char *dir = g_path_get_dirname(path);
	int fd, ret, dfd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, data, len);
	if (!ret && fsync(fd) != 0)
		ret = -errno;
	if (close(fd) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) != 0)
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int tund_statefile_write_json(const char *path, JsonNode *root)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	char *text;
	gsize len;
	int ret;

	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, &len);
	ret = tund_statefile_write(path, text, len);
	sodium_memzero(text, len);
	g_free(text);
	return ret;
}
