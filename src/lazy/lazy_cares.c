/* c-ares, opened on first use: lazy.h says why. */
#include <ares.h>

#include "lazy/lazy.h"

static sd_lazy_lib lib_cares = { "libcares.so.2", NULL };

SD_LAZY_FN(lib_cares, int, ares_library_init, (int flags), (flags))
SD_LAZY_FN(lib_cares, int, ares_init, (ares_channel *channelptr), (channelptr))
SD_LAZY_FN(lib_cares, int, ares_init_options, (ares_channel *channelptr, struct ares_options *options, int optmask), (channelptr, options, optmask))
SD_LAZY_FN(lib_cares, int, ares_set_servers_ports, (ares_channel channel, struct ares_addr_port_node *servers), (channel, servers))
SD_LAZY_FN(lib_cares, int, ares_get_servers_ports, (ares_channel channel, struct ares_addr_port_node **servers), (channel, servers))
SD_LAZY_VOID(lib_cares, ares_free_data, (void *dataptr), (dataptr))
SD_LAZY_VOID(lib_cares, ares_destroy, (ares_channel channel), (channel))
SD_LAZY_VOID(lib_cares, ares_query, (ares_channel channel, const char *name, int dnsclass, int type, ares_callback callback, void *arg), (channel, name, dnsclass, type, callback, arg))
SD_LAZY_VOID(lib_cares, ares_cancel, (ares_channel channel), (channel))
SD_LAZY_FN(lib_cares, int, ares_getsock, (ares_channel channel, ares_socket_t *socks, int numsocks), (channel, socks, numsocks))
SD_LAZY_FN(lib_cares, struct timeval *, ares_timeout, (ares_channel channel, struct timeval *maxtv, struct timeval *tv), (channel, maxtv, tv))
SD_LAZY_VOID(lib_cares, ares_process_fd, (ares_channel channel, ares_socket_t read_fd, ares_socket_t write_fd), (channel, read_fd, write_fd))
