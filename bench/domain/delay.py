#!/usr/bin/python3
"""A UDP DNS proxy that adds latency: each datagram is held DELAY_MS, then
forwarded to the upstream server, and the answer relayed back.

  delay.py LISTEN_ADDR LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT DELAY_MS

For the domain benchmark (tc netem does not exist on these machines).
"""
import socket
import sys
import threading
import time

UPSTREAM_TIMEOUT = 3.0   # seconds one query may wait for the upstream
MAX_DATAGRAM = 65535


def relay(srv, data, client, upstream, delay):
    time.sleep(delay)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(UPSTREAM_TIMEOUT)
    try:
        s.sendto(data, upstream)
        answer = s.recv(MAX_DATAGRAM)
        srv.sendto(answer, client)
    except OSError:
        pass
    finally:
        s.close()


def main():
    addr, port, up_addr, up_port, delay_ms = sys.argv[1:6]
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind((addr, int(port)))
    upstream = (up_addr, int(up_port))
    delay = int(delay_ms) / 1000.0
    while True:
        data, client = srv.recvfrom(MAX_DATAGRAM)
        threading.Thread(target=relay, args=(srv, data, client, upstream,
                                             delay), daemon=True).start()


if __name__ == "__main__":
    main()
