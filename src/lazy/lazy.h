/*
 * Libraries opened on first use.
 *
 * A process pays at start for every shared library it is linked with: the
 * loader maps it and resolves its symbols before main() runs.  OpenSSL,
 * libunbound (with libevent, nettle, hogweed, gmp), libpsl (with libidn2,
 * libunistring) and expat cost `smtpdoctor --version` some 8 ms of CPU, and
 * `spf` needs none of them.  So the smtpdoctor program is not linked with
 * them: each function the code calls is defined here under its own name
 * and forwards to the real one, found with dlopen()/dlsym() the first time
 * any function of that library is called.  The code keeps calling the
 * ordinary API; the installed libsmtpdoctor and the unit tests link the
 * libraries as usual and do not use these files.
 *
 * A function the code starts calling and the list lacks is an undefined
 * reference when the program is linked: add one line to the library's
 * lazy_*.c, its prototype as the library's header declares it (the
 * compiler checks the two against each other).
 *
 * The libraries are hard dependencies of the package: when one cannot be
 * opened the installation is broken, as it would be for the loader at
 * start, and the process says which library and exits with status 3.
 */
#ifndef SD_LAZY_H
#define SD_LAZY_H

#include <string.h>

typedef struct sd_lazy_lib {
	const char *soname;   /* the ABI the headers describe */
	void *handle;         /* under the loader's lock */
} sd_lazy_lib;

/* The address of `name` in lib, opening lib the first time; never NULL
 * (a library or symbol that cannot be found ends the process). */
void *sd_lazy_sym(sd_lazy_lib *lib, const char *name);

/* The function pointer, looked up once per process; the relaxed atomics
 * make the racing first calls of two threads harmless (same value). */
#define SD_LAZY_PTR(lib, name, fp) \
	static void *lazy_p; \
	void *lazy_f = __atomic_load_n(&lazy_p, __ATOMIC_RELAXED); \
	if (!lazy_f) { \
		lazy_f = sd_lazy_sym(&(lib), #name); \
		__atomic_store_n(&lazy_p, lazy_f, __ATOMIC_RELAXED); \
	} \
	__typeof__(&name) fp; \
	memcpy(&fp, &lazy_f, sizeof fp)

/* One forwarding definition: return type, name, (parameters), (arguments). */
#define SD_LAZY_FN(lib, ret, name, params, args) \
	ret name params \
	{ \
		SD_LAZY_PTR(lib, name, fp); \
		return fp args; \
	}

#define SD_LAZY_VOID(lib, name, params, args) \
	void name params \
	{ \
		SD_LAZY_PTR(lib, name, fp); \
		fp args; \
	}

#endif
