/* Where the password comes from: a file, the environment, a command, or a
 * TTY prompt.  Never argv. */
#ifndef SD_SECRET_H
#define SD_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* Longest secret accepted (an OAuth token can be a few KiB). */
#define SD_SECRET_MAX 8192
/* How long --password-cmd may take to print its line (a keyring may ask
 * the user to unlock it). */
#define SD_SECRET_CMD_MS 30000

typedef enum sd_secret_rc {
	SD_SECRET_OK,        /* *out holds the secret */
	SD_SECRET_NONE,      /* no source and no TTY: AUTH is not tried */
	SD_SECRET_ERROR,     /* usage error; *err says why */
} sd_secret_rc;

/*
 * Reads the secret from the first source given.  *out is malloc'd; wipe it
 * with sd_secret_free().  `err` receives a message on SD_SECRET_ERROR.
 */
sd_secret_rc sd_secret_read(const char *file, const char *env, const char *cmd,
    const char *user, char **out, char *err, size_t errlen);

void sd_secret_free(char *s);

/*
 * The first line `cmd` (run by /bin/sh) prints within limit_ms, malloc'd,
 * or NULL with a message naming `what` in err.  The command's whole
 * process group is ended when it lingers or the limit passes.
 */
char *sd_secret_from_command(const char *cmd, int64_t limit_ms,
    const char *what, char *err, size_t errlen);

#endif
