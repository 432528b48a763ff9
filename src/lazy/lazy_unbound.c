/* libunbound, opened on first use: lazy.h says why. */
#include <unbound.h>

#include "lazy/lazy.h"

static sd_lazy_lib lib_unbound = { "libunbound.so.8", NULL };

SD_LAZY_FN(lib_unbound, int, ub_cancel, (struct ub_ctx* ctx, int async_id), (ctx, async_id))
SD_LAZY_FN(lib_unbound, int, ub_ctx_add_ta_file, (struct ub_ctx* ctx, const char* fname), (ctx, fname))
SD_LAZY_FN(lib_unbound, int, ub_ctx_async, (struct ub_ctx* ctx, int dothread), (ctx, dothread))
SD_LAZY_FN(lib_unbound, struct ub_ctx*, ub_ctx_create, (void), ())
SD_LAZY_VOID(lib_unbound, ub_ctx_delete, (struct ub_ctx* ctx), (ctx))
SD_LAZY_FN(lib_unbound, int, ub_ctx_hosts, (struct ub_ctx* ctx, const char* fname), (ctx, fname))
SD_LAZY_FN(lib_unbound, int, ub_ctx_resolvconf, (struct ub_ctx* ctx, const char* fname), (ctx, fname))
SD_LAZY_FN(lib_unbound, int, ub_ctx_set_fwd, (struct ub_ctx* ctx, const char* addr), (ctx, addr))
SD_LAZY_FN(lib_unbound, int, ub_ctx_set_option, (struct ub_ctx* ctx, const char* opt, const char* val), (ctx, opt, val))
SD_LAZY_FN(lib_unbound, int, ub_fd, (struct ub_ctx* ctx), (ctx))
SD_LAZY_FN(lib_unbound, int, ub_process, (struct ub_ctx* ctx), (ctx))
SD_LAZY_FN(lib_unbound, int, ub_resolve_async, (struct ub_ctx* ctx, const char* name, int rrtype, int rrclass, void* mydata, ub_callback_type callback, int* async_id), (ctx, name, rrtype, rrclass, mydata, callback, async_id))
SD_LAZY_VOID(lib_unbound, ub_resolve_free, (struct ub_result* result), (result))
