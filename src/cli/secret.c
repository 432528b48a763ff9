/* Password sources.  The secret is wiped after use and never printed. */
#include "cli/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

void sd_secret_free(char *s)
{
	if (s) {
		sd_wipe(s, strlen(s));
		free(s);
	}
}

/* Reads at most SD_SECRET_MAX bytes from fd; keeps the first line.  With
 * deadline_ms > 0, gives up then (*timed_out = 1). */
static char *read_line_fd_until(int fd, int *too_long, int64_t deadline_ms,
    int *timed_out)
{
	char *buf = malloc(SD_SECRET_MAX + 2);
	size_t n = 0;
	if (!buf)
		return NULL;
	*too_long = 0;
	if (timed_out)
		*timed_out = 0;
	for (;;) {
		if (deadline_ms > 0) {
			int64_t left = sd_remaining_ms(deadline_ms);
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (left == 0 || poll(&p, 1, (int)left) == 0) {
				*timed_out = 1;
				break;
			}
		}
		ssize_t r = read(fd, buf + n, SD_SECRET_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n) || n > SD_SECRET_MAX)
			break;
	}
	buf[n] = '\0';
	char *nl = strpbrk(buf, "\r\n");
	if (nl)
		*nl = '\0';
	else if (n > SD_SECRET_MAX)
		*too_long = 1;
	/* later lines of a file are not the secret, but wipe them too */
	size_t keep = strlen(buf);
	sd_wipe(buf + keep, n - keep);
	return buf;
}

static char *read_line_fd(int fd, int *too_long)
{
	return read_line_fd_until(fd, too_long, 0, NULL);
}

/*
 * The first line a command prints, within limit_ms.  The command runs in
 * a process group of its own, and the whole group is ended when it
 * lingers or the limit passes: a helper it started (a keyring agent's
 * pinentry, a `sleep`) does not outlive the run.  `what` names the source
 * in messages ("--password-cmd", "passwordeval in FILE line N").
 */
static char *from_cmd(const char *cmd, int64_t limit_ms, const char *what,
    char *err, size_t errlen)
{
	int pfd[2];
	if (pipe(pfd) != 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
		return NULL;
	}
	/* posix_spawn, not fork: a fork of the exporter (many threads) copies
	 * its page tables holding every allocator lock and the address
	 * space's, so a probe thread (nice 10) short of CPU while forking
	 * stalled every thread of the process, the answers' too */
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char sh[] = "sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, (char *)cmd, NULL };
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0) {
		posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
		posix_spawn_file_actions_addclose(&fa, pfd[0]);
		posix_spawn_file_actions_addclose(&fa, pfd[1]);
		rc = posix_spawnattr_init(&at);
		if (rc == 0) {
			/* a process group of its own before it runs: no race
			 * with the kill below */
			posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
			posix_spawnattr_setpgroup(&at, 0);
			rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
			posix_spawnattr_destroy(&at);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	close(pfd[1]);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(rc));
		close(pfd[0]);
		return NULL;
	}
	int too_long, timed_out;
	char *s = read_line_fd_until(pfd[0], &too_long, sd_now_ms() + limit_ms,
	    &timed_out);
	close(pfd[0]);
	int status = 0;
	/* the first line is all we want: a command that lingers is ended */
	if (waitpid(pid, &status, WNOHANG) == 0) {
		int64_t until = sd_now_ms() + (timed_out ? 0 : 1000);
		while (waitpid(pid, &status, WNOHANG) == 0 && sd_now_ms() < until) {
			struct timespec ts = { 0, 20 * 1000000 };
			nanosleep(&ts, NULL);
		}
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (!timed_out && s && *s)
				status = 0;  /* it printed the line, then lingered */
		}
	}
	kill(-pid, SIGKILL);   /* whatever it left behind in its group */
	if (timed_out) {
		snprintf(err, errlen, "%s: no line within %.1f s", what,
		    (double)limit_ms / 1000);
		sd_secret_free(s);
		return NULL;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s: the command failed (exit status %d)",
		    what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		sd_secret_free(s);
		return NULL;
	}
	if (too_long) {
		snprintf(err, errlen, "%s: the secret is longer than %d bytes",
		    what, SD_SECRET_MAX);
		sd_secret_free(s);
		return NULL;
	}
	return s;
}

char *sd_secret_from_command(const char *cmd, int64_t limit_ms,
    const char *what, char *err, size_t errlen)
{
	return from_cmd(cmd, limit_ms, what, err, errlen);
}

static char *from_tty(const char *user)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return NULL;
	struct termios old, quiet;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	char prompt[300];
	int pl = snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	if (write(fd, prompt, (size_t)pl) < 0) {
		close(fd);
		return NULL;
	}
	tcsetattr(fd, TCSAFLUSH, &quiet);
	int too_long;
	char *s = read_line_fd(fd, &too_long);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do: the prompt is cosmetic */
	}
	close(fd);
	return s;
}

sd_secret_rc sd_secret_read(const char *file, const char *env, const char *cmd,
    const char *user, char **out, char *err, size_t errlen)
{
	int sources = !!file + !!env + !!cmd;
	*out = NULL;
	if (sources > 1) {
		snprintf(err, errlen, "give only one of --password-file, "
		    "--password-env and --password-cmd");
		return SD_SECRET_ERROR;
	}
	if (file) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "--password-file %s: %s", file,
			    strerror(errno));
			return SD_SECRET_ERROR;
		}
		int too_long;
		*out = read_line_fd(fd, &too_long);
		close(fd);
		if (too_long) {
			sd_secret_free(*out);
			*out = NULL;
			snprintf(err, errlen, "--password-file %s: the secret "
			    "is longer than %d bytes", file, SD_SECRET_MAX);
			return SD_SECRET_ERROR;
		}
	} else if (env) {
		const char *v = getenv(env);
		if (!v) {
			snprintf(err, errlen, "--password-env: the variable %s "
			    "is not set", env);
			return SD_SECRET_ERROR;
		}
		*out = strdup(v);
	} else if (cmd) {
		*out = from_cmd(cmd, SD_SECRET_CMD_MS, "--password-cmd", err, errlen);
		if (!*out)
			return SD_SECRET_ERROR;
	} else {
		if (!user || !isatty(STDIN_FILENO))
			return SD_SECRET_NONE;
		*out = from_tty(user);
		if (!*out)
			return SD_SECRET_NONE;
	}
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return SD_SECRET_ERROR;
	}
	if (!**out) {
		/* the one login of a run must not be spent on nothing */
		sd_secret_free(*out);
		*out = NULL;
		snprintf(err, errlen, "the password is empty");
		return SD_SECRET_ERROR;
	}
	return SD_SECRET_OK;
}
