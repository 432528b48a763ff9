#!/usr/bin/python3
"""Small servers for the domain tests (run inside the test's own network
namespace; they listen on 127.0.0.x only).

  lab_servers.py smtp ADDR CERT KEY     SMTP on ADDR:25 offering STARTTLS
  lab_servers.py https ADDR CERT KEY FILE
                                        HTTPS on ADDR:443 serving FILE as
                                        /.well-known/mta-sts.txt (a FILE
                                        "#REDIRECT URL" answers 301 to URL)
  lab_servers.py blackhole ADDR PORT    a DNS server that never answers
                                        (UDP and TCP)
"""
import socket
import ssl
import sys
import threading

IO_TIMEOUT = 10.0        # seconds one client may take
MAX_LINE = 4096          # bytes of one SMTP command line we read
MAX_REQUEST = 16384      # bytes of an HTTP request we read


def listener(addr, port, kind=socket.SOCK_STREAM):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def readline(f):
    line = f.readline(MAX_LINE)
    return line.decode("latin-1").strip() if line else None


def smtp_session(conn, ctx, name):
    conn.settimeout(IO_TIMEOUT)
    try:
        f = conn.makefile("rwb", buffering=0)
        f.write(b"220 %s ESMTP lab\r\n" % name)
        tls = None
        while True:
            line = readline(f)
            if line is None:
                return
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                if tls is None:
                    f.write(b"250-%s\r\n250-PIPELINING\r\n250 STARTTLS\r\n" % name)
                else:
                    f.write(b"250-%s\r\n250 PIPELINING\r\n" % name)
            elif verb == "STARTTLS" and tls is None:
                f.write(b"220 2.0.0 ready to start TLS\r\n")
                tls = ctx.wrap_socket(conn, server_side=True)
                f = tls.makefile("rwb", buffering=0)
            elif verb == "QUIT":
                f.write(b"221 2.0.0 bye\r\n")
                return
            else:
                f.write(b"502 5.5.1 not here\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def https_session(conn, ctx, body):
    conn.settimeout(IO_TIMEOUT)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        req = b""
        while b"\r\n\r\n" not in req and len(req) < MAX_REQUEST:
            chunk = tls.recv(4096)
            if not chunk:
                break
            req += chunk
        path = req.split(b" ")[1] if req.count(b" ") >= 2 else b"/"
        if path == b"/.well-known/mta-sts.txt" and body.startswith(b"#REDIRECT "):
            head = (b"HTTP/1.1 301 Moved Permanently\r\nLocation: %s\r\n"
                    % body.split(b" ", 1)[1].strip())
            data = b"moved\n"
        elif path == b"/.well-known/mta-sts.txt":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            data = body
        else:
            head = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            data = b"not found\n"
        tls.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                    % len(data) + data)
        tls.close()
    except (OSError, ssl.SSLError, IndexError):
        pass
    finally:
        conn.close()


def serve(srv, fn, *args):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=fn, args=(conn,) + args, daemon=True).start()


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def blackhole(addr, port):
    udp = listener(addr, port, socket.SOCK_DGRAM)
    tcp = listener(addr, port)
    held = []

    def hold():
        while True:
            conn, _ = tcp.accept()
            held.append(conn)          # accepted, never answered

    threading.Thread(target=hold, daemon=True).start()
    while True:
        udp.recvfrom(4096)             # read, never answered


def main():
    cmd = sys.argv[1]
    if cmd == "smtp":
        addr, cert, key, name = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
        serve(listener(addr, 25), smtp_session, context(cert, key), name.encode())
    elif cmd == "https":
        addr, cert, key, path = sys.argv[2:6]
        with open(path, "rb") as fp:
            body = fp.read()
        serve(listener(addr, 443), https_session, context(cert, key), body)
    elif cmd == "blackhole":
        blackhole(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
