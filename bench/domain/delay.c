/*
 * A UDP DNS proxy that adds latency: each query is held DELAY_MS, then
 * forwarded to the upstream server, and the answer relayed back.
 *
 *   delay LISTEN_ADDR LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT DELAY_MS
 *
 * For the domain benchmarks (tc netem does not exist on these machines).
 * In C because the proxy of a batch benchmark carries thousands of
 * queries a second: the Python one it replaces used more CPU than the
 * tool under test.  One socket each side; queries get a fresh 16-bit ID on
 * their way up (so thousands can be in flight from many clients at once)
 * and their own ID back on the answer.  The delay is the same for every
 * query, so the held queries form a FIFO.  IPv4 only (the bench's lab).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DNS 4096
#define QUERY_MAX 1024        /* a longer query is dropped */
#define HELD_MAX 65536        /* queries held at once (a ring) */
#define SOCKET_BUFFER (8 << 20)
/* A query the upstream never answered frees its id after this long. */
#define UPSTREAM_TIMEOUT_MS 3000

typedef struct held {
	int64_t due_ms;
	uint16_t id;               /* the upstream id given */
	uint16_t len;
	unsigned char msg[QUERY_MAX];
} held;

typedef struct pending {
	struct sockaddr_in client;
	uint16_t client_id;
	int used;
	int64_t sent_ms;
} pending;

static held ring[HELD_MAX];
static size_t head, count;
static pending table[65536];
static uint16_t next_id = 1;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int udp_socket(const char *addr, int port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int sz = SOCKET_BUFFER;
	/* as root past rmem_max; else what the system allows */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	if (addr) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
			.sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
		    bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
			perror("delay: bind");
			exit(1);
		}
	}
	return s;
}

/* Queries in from clients: held with a fresh id. */
static void take_queries(int srv, int64_t delay)
{
	unsigned char buf[MAX_DNS];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(srv, buf, sizeof buf, 0,
		    (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (n < 12 || n > QUERY_MAX || count == HELD_MAX)
			continue;   /* a full ring drops, as a loaded path would */
		uint16_t id = 0;
		int64_t t = now_ms();
		for (int k = 0; k < 65536; k++) {
			uint16_t c = next_id;
			next_id = (uint16_t)(next_id == 65535 ? 1 : next_id + 1);
			if (!table[c].used ||
			    t - table[c].sent_ms > UPSTREAM_TIMEOUT_MS) {
				id = c;
				break;
			}
		}
		if (!id)
			continue;
		table[id] = (pending){ from, (uint16_t)(buf[0] << 8 | buf[1]),
			1, t + delay };
		held *h = &ring[(head + count++) % HELD_MAX];
		h->due_ms = t + delay;
		h->id = id;
		h->len = (uint16_t)n;
		memcpy(h->msg, buf, (size_t)n);
		h->msg[0] = (unsigned char)(id >> 8);
		h->msg[1] = (unsigned char)id;
	}
}

/* Held queries whose time has come go upstream. */
static void send_due(int up, const struct sockaddr_in *upstream)
{
	int64_t t = now_ms();
	while (count && ring[head].due_ms <= t) {
		held *h = &ring[head];
		sendto(up, h->msg, h->len, 0, (const struct sockaddr *)upstream,
		    sizeof *upstream);
		head = (head + 1) % HELD_MAX;
		count--;
	}
}

/* Answers from upstream: their own id back, to their client. */
static void relay_answers(int up, int srv)
{
	unsigned char buf[MAX_DNS];
	for (;;) {
		ssize_t n = recv(up, buf, sizeof buf, 0);
		if (n < 0)
			return;
		if (n < 12)
			continue;
		pending *p = &table[buf[0] << 8 | buf[1]];
		if (!p->used)
			continue;
		buf[0] = (unsigned char)(p->client_id >> 8);
		buf[1] = (unsigned char)p->client_id;
		sendto(srv, buf, (size_t)n, 0, (struct sockaddr *)&p->client,
		    sizeof p->client);
		p->used = 0;
	}
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: delay LISTEN_ADDR LISTEN_PORT "
		    "UPSTREAM_ADDR UPSTREAM_PORT DELAY_MS\n");
		return 2;
	}
	int srv = udp_socket(argv[1], atoi(argv[2]));
	int up = udp_socket(NULL, 0);
	struct sockaddr_in upstream = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)atoi(argv[4])) };
	inet_pton(AF_INET, argv[3], &upstream.sin_addr);
	int64_t delay = atoi(argv[5]);
	struct pollfd pfd[2] = { { srv, POLLIN, 0 }, { up, POLLIN, 0 } };
	for (;;) {
		int timeout = -1;
		if (count) {
			int64_t left = ring[head].due_ms - now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents)
			take_queries(srv, delay);
		if (pfd[1].revents)
			relay_answers(up, srv);
		send_due(up, &upstream);
	}
}
