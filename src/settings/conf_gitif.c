/*
 * git's conditional includes ([includeIf "CONDITION"], git-config(1)), as
 * far as the file --config names can decide them.
 *
 * "gitdir:PATTERN" (and "gitdir/i:", without case) holds when the
 * repository's git directory matches PATTERN.  smtpdoctor knows that
 * directory only when --config names a repository's own config file,
 * REPO/.git/config: git send-email run in that repository reads it, and
 * the git directory is REPO/.git.  A global file (~/.gitconfig,
 * $XDG_CONFIG_HOME/git/config) serves every repository, so which one
 * git send-email will run in is not known: not followed, and noted.
 * "onbranch:" (the branch checked out when git runs) and "hasconfig:"
 * are not followed either, and noted.
 *
 * The pattern as git prepares it: "~/" is $HOME; "./" is the directory of
 * the file holding the condition (matched literally); any other relative
 * pattern gets "**" "/" in front; one ending in '/' gets "**" after it.
 * Then a glob with git's path rules: '*' and '?' stop at '/', "**" "/"
 * matches any number of whole directories, a trailing "**" everything,
 * "[...]" a class, '\' quotes.  A hostile pattern cannot hang it: the
 * match gives up (no match, noted) after a fixed number of steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_gitif.h"
#include "util/util.h"

/* Steps a match may take: every real pattern needs a few hundred. */
#define GLOB_STEPS 200000

static int fold(int ch, int icase)
{
	return icase && ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* "[...]" at p against ch: 1 or 0, *end past the ']'; -1 when the class
 * has no ']' (then '[' is an ordinary character, as git reads it). */
static int class_match(const char *p, int ch, int icase, const char **end)
{
	const char *q = p + 1;
	int neg = *q == '!' || *q == '^', hit = 0;
	if (neg)
		q++;
	for (int first = 1; *q && (first || *q != ']'); first = 0) {
		int lo = (unsigned char)*q, hi;
		if (*q == '\\' && q[1])
			lo = (unsigned char)*++q;
		q++;
		hi = lo;
		if (*q == '-' && q[1] && q[1] != ']') {
			hi = (unsigned char)q[1];
			q += 2;
		}
		hit |= fold(ch, icase) >= fold(lo, icase) &&
		    fold(ch, icase) <= fold(hi, icase);
	}
	if (!*q)
		return -1;
	*end = q + 1;
	return ch != '/' && hit != neg;
}

/* 1 when t matches all of p (which starts a segment of the pattern when
 * p == seg); 0 when not or the steps ran out (*steps negative then). */
static int glob(const char *p, const char *seg, const char *t, int icase,
    long *steps)
{
	for (;; p++, t++) {
		if (--*steps < 0)
			return 0;
		if (p[0] == '*' && p[1] == '*' && (p == seg || p[-1] == '/') &&
		    (p[2] == '/' || !p[2])) {
			if (!p[2])
				return 1;     /* a trailing "**": everything */
			/* "**" "/": no directory, or any whole directories */
			for (const char *s = t;; s++) {
				if ((s == t || s[-1] == '/') &&
				    glob(p + 3, p + 3, s, icase, steps))
					return 1;
				if (!*s || *steps < 0)
					return 0;
			}
		}
		if (*p == '*') {
			while (*p == '*')
				p++;
			for (const char *s = t;; s++) {
				if (glob(p, NULL, s, icase, steps))
					return 1;
				if (!*s || *s == '/' || *steps < 0)
					return 0;
			}
		}
		if (!*p)
			return !*t;
		if (!*t)
			return 0;
		const char *end;
		int m;
		if (*p == '?') {
			m = *t != '/';
		} else if (*p == '[' && (m = class_match(p, (unsigned char)*t,
		    icase, &end)) >= 0) {
			p = end - 1;
		} else {
			if (*p == '\\' && p[1])
				p++;
			m = fold((unsigned char)*p, icase) ==
			    fold((unsigned char)*t, icase);
		}
		if (!m)
			return 0;
	}
}

/* The git directory of the file named on the command line: its directory
 * when it is REPO/.git/config; else 0. */
static int git_dir(const char *top, char *out, size_t outlen)
{
	size_t n = top ? strlen(top) : 0;
	if (n < 12 || strcmp(top + n - 12, "/.git/config") != 0 ||
	    n - 7 >= outlen)
		return 0;
	memcpy(out, top, n - 7);
	out[n - 7] = '\0';
	return 1;
}

/* The pattern as git prepares it (see the top); 0 when too long. */
static int prepare(const char *pat, const char *file, char *out,
    size_t outlen, size_t *literal)
{
	const char *home = getenv("HOME"), *slash = strrchr(file, '/');
	int w;
	*literal = 0;
	if (pat[0] == '~' && pat[1] == '/')
		w = snprintf(out, outlen, "%s%s", home ? home : "", pat + 1);
	else if (pat[0] == '.' && pat[1] == '/' && slash) {
		w = snprintf(out, outlen, "%.*s%s", (int)(slash - file), file,
		    pat + 1);
		*literal = (size_t)(slash - file) + 1;
	} else if (pat[0] != '/')
		w = snprintf(out, outlen, "**/%s", pat);
	else
		w = snprintf(out, outlen, "%s", pat);
	if (w < 0 || (size_t)w + 3 >= outlen)
		return 0;
	if (w > 0 && out[w - 1] == '/')
		memcpy(out + w, "**", 3);
	return 1;
}

sd_gitif sd_gitif_eval(const char *cond, const char *top, const char *file,
    char *why, size_t whylen)
{
	int icase = strncmp(cond, "gitdir/i:", 9) == 0;
	if (strncmp(cond, "gitdir:", 7) != 0 && !icase) {
		snprintf(why, whylen, "a conditional include (%.60s) is not "
		    "followed: only gitdir: conditions are", cond);
		return SD_GITIF_UNDECIDED;
	}
	char dir[4096], pat[4096 + 64];
	size_t literal;
	if (!git_dir(top, dir, sizeof dir)) {
		snprintf(why, whylen, "a conditional include (%.60s) is not "
		    "followed: it depends on the repository git runs in, and "
		    "this is no repository's own .git/config", cond);
		return SD_GITIF_UNDECIDED;
	}
	const char *p = cond + (icase ? 9 : 7);
	if (!prepare(p, file ? file : top, pat, sizeof pat, &literal)) {
		snprintf(why, whylen, "a conditional include's pattern is too "
		    "long: not followed");
		return SD_GITIF_UNDECIDED;
	}
	long steps = GLOB_STEPS;
	int hit = strlen(dir) >= literal &&
	    (icase ? sd_strncaseeq(pat, dir, literal) :
	    strncmp(pat, dir, literal) == 0) &&
	    glob(pat + literal, pat + literal, dir + literal, icase, &steps);
	if (steps < 0) {
		snprintf(why, whylen, "a conditional include's pattern (%.60s) "
		    "is too costly to match: not followed", p);
		return SD_GITIF_UNDECIDED;
	}
	snprintf(why, whylen, "%.60s %s for %.200s: %s", cond, hit ? "holds" :
	    "does not hold", dir, hit ? "followed" : "not followed");
	return hit ? SD_GITIF_HOLDS : SD_GITIF_FAILS;
}
