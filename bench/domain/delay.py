#!/usr/bin/python3
"""A UDP DNS proxy that adds latency: each query is held DELAY_MS, then
forwarded to the upstream server, and the answer relayed back.

  delay.py LISTEN_ADDR LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT DELAY_MS

For the domain benchmarks (tc netem does not exist on these machines).
One event loop and one upstream socket: queries get a fresh 16-bit ID on
their way up (so thousands can be in flight from many clients at once) and
their own ID back on the answer.  A query the upstream never answers is
forgotten after UPSTREAM_TIMEOUT seconds.
"""
import asyncio
import socket
import sys

UPSTREAM_TIMEOUT = 3.0
# Socket buffers: a batch sends hundreds of queries at once, and the answers
# of a burst held DELAY_MS come back together; the default buffer (about
# 200 datagrams) would drop the rest, and the drops, not the delay, would
# set the pace.
SOCKET_BUFFER = 8 << 20


def big_buffers(transport):
    sock = transport.get_extra_info("socket")
    for opt, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, SOCKET_BUFFER)
        except OSError:   # not root: as much as the system allows
            sock.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER)


class Upstream(asyncio.DatagramProtocol):
    def __init__(self, proxy):
        self.proxy = proxy

    def datagram_received(self, data, addr):
        self.proxy.answer(data)


class Proxy(asyncio.DatagramProtocol):
    def __init__(self, upstream, delay):
        self.upstream_addr = upstream
        self.delay = delay
        self.pending = {}      # our id -> (client, their id, time)
        self.next_id = 1
        self.up = None
        self.srv = None

    def connection_made(self, transport):
        self.srv = transport
        big_buffers(transport)

    def datagram_received(self, data, client):
        if len(data) < 12:
            return
        loop = asyncio.get_running_loop()
        for _ in range(65536):
            qid = self.next_id
            self.next_id = (self.next_id % 65535) + 1
            if qid not in self.pending:
                break
        else:
            return   # 65535 in flight: drop, as a loaded path would
        self.pending[qid] = (client, data[:2], loop.time())
        out = qid.to_bytes(2, "big") + data[2:]
        loop.call_later(self.delay, self.send_up, out)

    def send_up(self, out):
        self.up.sendto(out, self.upstream_addr)

    def answer(self, data):
        if len(data) < 12:
            return
        p = self.pending.pop(int.from_bytes(data[:2], "big"), None)
        if p:
            self.srv.sendto(p[1] + data[2:], p[0])

    def expire(self):
        now = asyncio.get_running_loop().time()
        for k in [k for k, v in self.pending.items()
                  if now - v[2] > UPSTREAM_TIMEOUT]:
            del self.pending[k]


async def main():
    laddr, lport, uaddr, uport, delay_ms = sys.argv[1:6]
    loop = asyncio.get_running_loop()
    proxy = Proxy((uaddr, int(uport)), int(delay_ms) / 1000.0)
    await loop.create_datagram_endpoint(lambda: proxy,
                                        local_addr=(laddr, int(lport)))
    up, _ = await loop.create_datagram_endpoint(lambda: Upstream(proxy),
                                                family=2)
    big_buffers(up)
    proxy.up = up
    while True:
        await asyncio.sleep(1)
        proxy.expire()


if __name__ == "__main__":
    asyncio.run(main())
