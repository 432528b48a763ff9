/* libpsl, opened on first use: lazy.h says why. */
#include <libpsl.h>

#include "lazy/lazy.h"

static sd_lazy_lib lib_psl = { "libpsl.so.5", NULL };

SD_LAZY_FN(lib_psl, const psl_ctx_t *, psl_builtin, (void), ())
SD_LAZY_VOID(lib_psl, psl_free, (psl_ctx_t *psl), (psl))
SD_LAZY_VOID(lib_psl, psl_free_string, (char *str), (str))
SD_LAZY_FN(lib_psl, int, psl_is_public_suffix, (const psl_ctx_t *psl, const char *domain), (psl, domain))
SD_LAZY_FN(lib_psl, psl_ctx_t *, psl_load_file, (const char *fname), (fname))
SD_LAZY_FN(lib_psl, const char *, psl_registrable_domain, (const psl_ctx_t *psl, const char *domain), (psl, domain))
SD_LAZY_FN(lib_psl, psl_error_t, psl_str_to_utf8lower, (const char *str, const char *encoding, const char *locale, char **lower), (str, encoding, locale, lower))
SD_LAZY_FN(lib_psl, int, psl_suffix_count, (const psl_ctx_t *psl), (psl))
