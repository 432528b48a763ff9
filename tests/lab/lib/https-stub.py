#!/usr/bin/python3
"""A minimal HTTPS listener on port 443 of a control host.

It answers every request with a small page, so that a probe of "other
traffic" (not SMTP) to a control host finds something that works.
Usage: https-stub.py CERT KEY ADDR [ADDR...]
"""
import socket
import ssl
import sys
import threading

MAX_REQUEST = 8192          # bytes of a request we read before answering
IO_TIMEOUT = 5.0            # seconds a client may take


def serve(conn, ctx):
    conn.settimeout(IO_TIMEOUT)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        tls.recv(MAX_REQUEST)
        body = b"lab control host\n"
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        tls.close()
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def listen(addr, ctx):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, 443))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, ctx), daemon=True).start()


def main():
    cert, key, addrs = sys.argv[1], sys.argv[2], sys.argv[3:]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    threads = [threading.Thread(target=listen, args=(a, ctx), daemon=True) for a in addrs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
