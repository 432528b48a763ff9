/*
 * libmicrohttpd, opened when the exporter starts (src/lazy/lazy.h says
 * how): only `smtpdoctor exporter` serves HTTP, and no other command may
 * pay for loading an HTTP server.  When the library is missing, the
 * exporter says which and exits 3, as the loader would have.
 */
#include <stdarg.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "lazy/lazy.h"

/* the ABI the headers describe (Debian's libmicrohttpd12) */
static sd_lazy_lib lib_mhd = { "libmicrohttpd.so.12", NULL };

/* variadic: forwarded to the va_list form */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
    MHD_AcceptPolicyCallback apc, void *apc_cls,
    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	SD_LAZY_PTR(lib_mhd, MHD_start_daemon_va, fp);
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d = fp(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

SD_LAZY_VOID(lib_mhd, MHD_stop_daemon, (struct MHD_Daemon *d), (d))
SD_LAZY_FN(lib_mhd, const char *, MHD_lookup_connection_value, (struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key), (c, kind, key))
SD_LAZY_FN(lib_mhd, struct MHD_Response *, MHD_create_response_from_buffer, (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))
SD_LAZY_FN(lib_mhd, enum MHD_Result, MHD_add_response_header, (struct MHD_Response *r, const char *header, const char *content), (r, header, content))
SD_LAZY_FN(lib_mhd, enum MHD_Result, MHD_queue_response, (struct MHD_Connection *c, unsigned int status, struct MHD_Response *r), (c, status, r))
SD_LAZY_VOID(lib_mhd, MHD_destroy_response, (struct MHD_Response *r), (r))
SD_LAZY_FN(lib_mhd, struct MHD_Response *, MHD_create_response_from_callback, (uint64_t size, size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls, MHD_ContentReaderFreeCallback crfc), (size, block_size, crc, crc_cls, crfc))
