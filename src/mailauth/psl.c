/*
 * Public Suffix List through libpsl: where the list is loaded from, and the
 * organizational domain lookups DMARC needs.
 */
#include <libpsl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailauth/psl.h"
#include "sd_config.h"

#define SD_PSL_FILE "public_suffix_list.dat"
/* A list line longer than this is no rule (the longest is ~60 bytes). */
#define SD_PSL_LINE_MAX 4096

struct sd_psl {
	psl_ctx_t *ctx;          /* owned, NULL when builtin is used */
	const psl_ctx_t *use;    /* ctx or libpsl's built-in one */
	sd_psl_origin origin;
	size_t rules;            /* counted in the text (a DAFSA has no count) */
	char source[1024];
	char note[1200];
};

static void set_note(sd_psl *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_note(sd_psl *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->note, sizeof p->note, fmt, ap);
	va_end(ap);
}

static void say(char *why, size_t size, const char *fmt, const char *arg)
{
	if (why && size)
		snprintf(why, size, fmt, arg);
}

/* The rules of the list at `path` (lines that are neither empty nor
 * comments), or 0 when it is no Public Suffix List: libpsl loads any text
 * as rules, so a wrong file would otherwise give nonsense answers without
 * complaint. */
static size_t count_rules(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *line = f ? malloc(SD_PSL_LINE_MAX) : NULL;
	size_t rules = 0;
	int icann = 0, whole = 1;
	while (line && fgets(line, SD_PSL_LINE_MAX, f)) {
		int complete = strchr(line, '\n') != NULL || feof(f);
		/* only a line's first piece can be a rule */
		const char *c = line + strspn(line, " \t");
		if (whole && strncmp(c, "//", 2) == 0)
			icann |= strstr(c, "===BEGIN ICANN DOMAINS===") != NULL;
		else if (whole && *c && !strchr("\r\n", *c))
			rules++;
		whole = complete;
	}
	free(line);
	if (f)
		fclose(f);
	return icann ? rules : 0;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Is `twin` there and not older than `text`?  The compiled form of a list
 * made before the list was replaced (tools/refresh-psl) would answer with
 * the old rules. */
static int fresh_twin(const char *twin, const char *text)
{
	struct stat t, l;
	if (stat(twin, &t) != 0 || stat(text, &l) != 0)
		return 0;
	return t.st_mtim.tv_sec > l.st_mtim.tv_sec ||
	    (t.st_mtim.tv_sec == l.st_mtim.tv_sec &&
	    t.st_mtim.tv_nsec >= l.st_mtim.tv_nsec);
}

/*
 * libpsl's rules of the list `path`: from its compiled form (DAFSA, made
 * by psl-make-dafsa) when `twin` names a fresh one, else from the text.
 * The text costs some 2.5 MiB of memory as libpsl holds it (a fixed-size
 * entry of ~150 bytes per rule), the DAFSA about 60 KiB: most of the
 * memory of a check's audit of the sender's domain, or of a batch.
 */
static psl_ctx_t *load_rules(const char *path, const char *twin)
{
	psl_ctx_t *ctx = twin && fresh_twin(twin, path) ?
	    psl_load_file(twin) : NULL;
	return ctx ? ctx : psl_load_file(path);
}

static sd_psl *load_file(const char *path, const char *twin,
    sd_psl_origin origin, char *why, size_t why_size)
{
	size_t rules = count_rules(path);
	if (!rules) {
		say(why, why_size, "%s is not a Public Suffix List (no ICANN "
		    "section): run tools/refresh-psl to fetch one", path);
		return NULL;
	}
	sd_psl *p = calloc(1, sizeof *p);
	if (!p) {
		say(why, why_size, "out of memory loading %s", path);
		return NULL;
	}
	p->ctx = load_rules(path, twin);
	if (!p->ctx) {
		say(why, why_size, "libpsl could not load %s", path);
		free(p);
		return NULL;
	}
	p->use = p->ctx;
	p->origin = origin;
	p->rules = rules;
	snprintf(p->source, sizeof p->source, "%s", path);
	return p;
}

/* The compiled form looked for beside a list: FILE.dat -> FILE.dafsa (as
 * Debian's publicsuffix package and smtpdoctor's installation lay them). */
static const char *twin_beside(const char *path, char *buf, size_t size)
{
	size_t n = strlen(path);
	if (n < 4 || strcmp(path + n - 4, ".dat") != 0 || n + 3 > size)
		return NULL;
	snprintf(buf, size, "%.*s.dafsa", (int)(n - 4), path);
	return buf;
}

sd_psl *sd_psl_load(const char *path, char *why, size_t why_size)
{
	say(why, why_size, "%s", "");
	if (!path)
		return sd_psl_load_dirs(SD_SRCDATADIR, SD_DATADIR, why, why_size);
	if (!exists(path)) {
		say(why, why_size, "cannot read the Public Suffix List %s", path);
		return NULL;
	}
	char twin[1100];
	return load_file(path, twin_beside(path, twin, sizeof twin),
	    SD_PSL_FROM_FILE, why, why_size);
}

sd_psl *sd_psl_load_dirs(const char *srcdir, const char *datadir, char *why,
    size_t why_size)
{
	say(why, why_size, "%s", "");
	char note[1200] = "";
	const char *env = getenv("SMTPDOCTOR_PSL");
	if (env && *env) {
		char twin[1100];
		if (exists(env))
			return load_file(env, twin_beside(env, twin, sizeof twin),
			    SD_PSL_FROM_ENV, why, why_size);
		snprintf(note, sizeof note, "SMTPDOCTOR_PSL names %.1000s, which "
		    "does not exist; ", env);
	}
	struct { const char *dir; sd_psl_origin origin; } dirs[] = {
		{ srcdir, SD_PSL_FROM_SRCDIR },
		{ datadir, SD_PSL_FROM_DATADIR },
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char file[1024];
		if (!dirs[i].dir)
			continue;
		snprintf(file, sizeof file, "%.990s/%s", dirs[i].dir, SD_PSL_FILE);
		if (!exists(file))
			continue;
		char twin[1100];
		const char *tw = twin_beside(file, twin, sizeof twin);
#ifdef SD_PSL_BUILT
		/* the build compiles the source tree's list into its own
		 * directory */
		if (dirs[i].origin == SD_PSL_FROM_SRCDIR &&
		    strcmp(srcdir, SD_SRCDATADIR) == 0)
			tw = SD_PSL_BUILT;
#endif
		sd_psl *p = load_file(file, tw, dirs[i].origin, why, why_size);
		if (p && note[0])
			set_note(p, "%susing %s", note, file);
		return p;
	}
	const psl_ctx_t *b = psl_builtin();
	if (!b || psl_suffix_count(b) <= 0) {
		say(why, why_size, "no Public Suffix List found (%s/"
		    SD_PSL_FILE ", or set SMTPDOCTOR_PSL) and libpsl has no "
		    "built-in list", datadir);
		return NULL;
	}
	sd_psl *p = calloc(1, sizeof *p);
	if (!p) {
		say(why, why_size, "%s", "out of memory");
		return NULL;
	}
	p->use = b;
	p->origin = SD_PSL_FROM_BUILTIN;
	snprintf(p->source, sizeof p->source, "libpsl built-in list");
	set_note(p, "%sno " SD_PSL_FILE " in %.400s or "
	    "%.400s: using libpsl's built-in list, which may be out of date "
	    "(tools/refresh-psl fetches a current one)", note, srcdir, datadir);
	return p;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static sd_psl *default_psl;

static void load_default(void)
{
	default_psl = sd_psl_load(NULL, NULL, 0);
}

const sd_psl *sd_psl_default(void)
{
	pthread_once(&default_once, load_default);
	return default_psl;
}

void sd_psl_free(sd_psl *psl)
{
	if (!psl)
		return;
	psl_free(psl->ctx);
	free(psl);
}

sd_psl_origin sd_psl_get_origin(const sd_psl *psl)
{
	return psl->origin;
}

const char *sd_psl_source(const sd_psl *psl)
{
	return psl->source;
}

const char *sd_psl_note(const sd_psl *psl)
{
	return psl->note;
}

size_t sd_psl_rule_count(const sd_psl *psl)
{
	if (psl->rules)
		return psl->rules;
	int n = psl_suffix_count(psl->use);
	return n > 0 ? (size_t)n : 0;
}

/* Strict UTF-8 with no control bytes or spaces: what a name may hold. */
static int valid_name_bytes(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c <= 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (!len || c > 0xf4 || i + len > n)
			return 0;
		unsigned cp = c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/* Lowercased copy of a domain with one trailing dot dropped; NULL when it
 * is no domain name (empty, leading dot, empty label, bad UTF-8). */
static char *normalise(const char *domain)
{
	if (!domain)
		return NULL;
	size_t len = strlen(domain);
	if (len && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || domain[0] == '.' ||
	    !valid_name_bytes((const unsigned char *)domain, len))
		return NULL;
	char *copy = strndup(domain, len);
	if (!copy)
		return NULL;
	if (strstr(copy, "..") || copy[len - 1] == '.') {
		free(copy);
		return NULL;
	}
	/* ASCII by hand, the rest by libpsl with the language pinned: with
	 * NULL it follows the locale, and tr_TR leaves "I" uppercase. */
	for (char *c = copy; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	char *lower = NULL;
	int rc = psl_str_to_utf8lower(copy, "utf-8", "en", &lower);
	free(copy);
	if (rc != PSL_SUCCESS || !lower)
		return NULL;
	char *out = strdup(lower);
	psl_free_string(lower);
	return out;
}

char *sd_psl_org_domain(const sd_psl *psl, const char *domain)
{
	if (!psl)
		return NULL;
	char *d = normalise(domain);
	if (!d)
		return NULL;
	const char *reg = psl_registrable_domain(psl->use, d);
	char *out = reg ? strdup(reg) : NULL;
	free(d);
	return out;
}

int sd_psl_is_public_suffix(const sd_psl *psl, const char *domain)
{
	if (!psl)
		return 0;
	char *d = normalise(domain);
	if (!d)
		return 0;
	int r = psl_is_public_suffix(psl->use, d);
	free(d);
	return r;
}
