/* The loader behind the forwarding definitions of lazy_*.c (see lazy.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "lazy/lazy.h"

static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static void broken(const char *what, const char *why)
{
	fprintf(stderr, "smtpdoctor: cannot load %s (%s): the installation "
	    "is incomplete\n", what, why ? why : "not found");
	fflush(stdout);
	_exit(3);
}

void *sd_lazy_sym(sd_lazy_lib *lib, const char *name)
{
	pthread_mutex_lock(&lazy_lock);
	if (!lib->handle) {
		/* RTLD_LOCAL: the program's own definitions of the same names
		 * stay the ones its code calls; RTLD_NOW: a partial library
		 * fails here, not in the middle of a probe */
		lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!lib->handle)
			broken(lib->soname, dlerror());
	}
	void *f = dlsym(lib->handle, name);
	pthread_mutex_unlock(&lazy_lock);
	if (!f)
		broken(name, lib->soname);
	return f;
}
