/* libresolv (the C library's DNS message reader), opened on first use:
 * lazy.h says why.  Its name functions live in libc itself. */
#include <arpa/nameser.h>

#include "lazy/lazy.h"

static sd_lazy_lib lib_resolv = { "libresolv.so.2", NULL };

SD_LAZY_FN(lib_resolv, int, ns_initparse, (const unsigned char *msg, int msglen, ns_msg *handle), (msg, msglen, handle))
SD_LAZY_FN(lib_resolv, int, ns_parserr, (ns_msg *handle, ns_sect section, int rrnum, ns_rr *rr), (handle, section, rrnum, rr))
SD_LAZY_FN(lib_resolv, int, ns_msg_getflag, (ns_msg handle, int flag), (handle, flag))
