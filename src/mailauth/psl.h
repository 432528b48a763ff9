/*
 * The Public Suffix List, for DMARC's organizational domain (RFC 7489
 * §3.2), through libpsl.
 *
 * Where the list comes from, first found wins:
 *   1. $SMTPDOCTOR_PSL, when set and not empty
 *   2. SD_SRCDATADIR/public_suffix_list.dat (the source tree's data/)
 *   3. SD_DATADIR/public_suffix_list.dat (the installed copy)
 *   4. libpsl's built-in list, only when none of the files exists; the
 *      handle's note says so, since that list may be older.
 * A file that exists but is not a Public Suffix List is an error, never a
 * silent fallback.  tools/refresh-psl downloads a current list.  The rules
 * of a list FILE.dat come from its compiled form FILE.dafsa (the build's
 * own for the source tree's list) when that is not older than the list:
 * the same rules in a fortieth of the memory.
 *
 * Ownership: sd_psl_load() hands the caller a handle to free with
 * sd_psl_free(); sd_psl_default() returns a process-wide handle that must
 * not be freed.  A loaded handle is read-only: lookups are thread-safe.
 */
#ifndef SD_MAILAUTH_PSL_H
#define SD_MAILAUTH_PSL_H

#include <stddef.h>

typedef struct sd_psl sd_psl;

typedef enum sd_psl_origin {
	SD_PSL_FROM_FILE = 0,   /* the path given to sd_psl_load() */
	SD_PSL_FROM_ENV,        /* $SMTPDOCTOR_PSL */
	SD_PSL_FROM_SRCDIR,     /* SD_SRCDATADIR */
	SD_PSL_FROM_DATADIR,    /* SD_DATADIR */
	SD_PSL_FROM_BUILTIN,    /* libpsl's own list */
} sd_psl_origin;

/*
 * Loads `path`, or searches the places above when `path` is NULL.
 * Returns NULL with `why` set (a sentence) when the chosen file cannot be
 * read or is not a Public Suffix List, or nothing at all is available.
 */
sd_psl *sd_psl_load(const char *path, char *why, size_t why_size);

/*
 * sd_psl_load(NULL) with other directories in place of SD_SRCDATADIR and
 * SD_DATADIR ($SMTPDOCTOR_PSL still comes first); for tests.
 */
sd_psl *sd_psl_load_dirs(const char *srcdir, const char *datadir, char *why,
    size_t why_size);

/* The handle everybody shares, loaded on first use (thread-safe); NULL
 * when sd_psl_load(NULL) failed.  Never free it. */
const sd_psl *sd_psl_default(void);

void sd_psl_free(sd_psl *psl);

sd_psl_origin sd_psl_get_origin(const sd_psl *psl);
/* The file read, or "libpsl built-in list"; owned by the handle. */
const char *sd_psl_source(const sd_psl *psl);
/* "" or a sentence for the user (the built-in fallback, an $SMTPDOCTOR_PSL
 * that did not exist); owned by the handle. */
const char *sd_psl_note(const sd_psl *psl);
/* Number of rules loaded. */
size_t sd_psl_rule_count(const sd_psl *psl);

/*
 * The organizational (registrable) domain of `domain`, lowercased, in a
 * malloc'd string the caller frees; NULL when `domain` is itself a public
 * suffix ("com", "co.uk"), not a domain name (leading dot, empty label,
 * invalid UTF-8), or on ENOMEM.  One trailing dot is ignored.  UTF-8
 * labels and their punycode forms both work.
 */
char *sd_psl_org_domain(const sd_psl *psl, const char *domain);

/* Non-zero when `domain` is a public suffix (the default "*" rule counts:
 * an unlisted TLD is one). */
int sd_psl_is_public_suffix(const sd_psl *psl, const char *domain);

#endif
