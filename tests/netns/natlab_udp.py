#!/usr/bin/env python3
"""Small probes for the NAT lab (tests/netns/natlab.sh). Standard library only.

  natlab_udp.py stun [--tcp] [--port LPORT] [--timeout S] HOST:PORT...
      One socket (UDP, or one TCP connection per server, all from LPORT when
      given) sends a STUN Binding request to each server in turn and prints
      "HOST:PORT MAPPED_IP:MAPPED_PORT" per server: the source address the
      server saw, i.e. the NAT mapping. A server that does not answer within
      the timeout prints "HOST:PORT timeout"; the exit status is then 1.

  natlab_udp.py punch [--port LPORT] [--timeout S] PEER_IP:PEER_PORT
      Sends a datagram to the peer every 0.1 s from LPORT. Exits 0 once a
      datagram from the peer arrived (after 0.3 s more of sending, so the peer
      hears us too), 1 on timeout. Run it on both sides at once to punch.
"""
import argparse
import os
import select
import socket
import struct
import sys
import time

MAGIC = 0x2112A442


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def binding_request():
    txid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, MAGIC) + txid, txid


def parse_response(data, txid):
    """Returns (ip, port) from a Binding success response, or None."""
    if len(data) < 20:
        return None
    mtype, mlen, magic = struct.unpack("!HHI", data[:8])
    if mtype != 0x0101 or magic != MAGIC or data[8:20] != txid:
        return None
    pos, end = 20, min(len(data), 20 + mlen)
    plain = None
    while pos + 4 <= end:
        atype, alen = struct.unpack("!HH", data[pos:pos + 4])
        val = data[pos + 4:pos + 4 + alen]
        if atype in (0x0020, 0x0001) and alen >= 8 and val[1] == 1:
            port, = struct.unpack("!H", val[2:4])
            addr, = struct.unpack("!I", val[4:8])
            if atype == 0x0020:
                return socket.inet_ntoa(struct.pack("!I", addr ^ MAGIC)), port ^ (MAGIC >> 16)
            plain = (socket.inet_ntoa(struct.pack("!I", addr)), port)
        pos += 4 + ((alen + 3) & ~3)
    return plain


def stun_udp(sock, server, timeout):
    req, txid = binding_request()
    deadline = time.monotonic() + timeout
    next_send = 0.0
    while True:
        now = time.monotonic()
        if now >= deadline:
            return None
        if now >= next_send:
            sock.sendto(req, server)
            next_send = now + 0.2
        r, _, _ = select.select([sock], [], [], min(next_send, deadline) - now)
        if r:
            data, src = sock.recvfrom(2048)
            got = parse_response(data, txid)
            if got:
                return got


def stun_tcp(lport, server, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    try:
        if lport:
            s.bind(("0.0.0.0", lport))
        s.connect(server)
        req, txid = binding_request()
        s.sendall(req)
        data = b""
        while len(data) < 20 or len(data) < 20 + struct.unpack("!H", data[2:4])[0]:
            chunk = s.recv(2048)
            if not chunk:
                return None
            data += chunk
        return parse_response(data, txid)
    except OSError:
        return None
    finally:
        s.close()


def cmd_stun(a):
    servers = [hostport(x) for x in a.server]
    ok = True
    sock = None
    if not a.tcp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", a.port))
    for srv in servers:
        got = stun_tcp(a.port, srv, a.timeout) if a.tcp else stun_udp(sock, srv, a.timeout)
        if got:
            print("%s:%d %s:%d" % (srv[0], srv[1], got[0], got[1]), flush=True)
        else:
            print("%s:%d timeout" % srv, flush=True)
            ok = False
    return 0 if ok else 1


def cmd_punch(a):
    peer = hostport(a.peer)
    if peer[0].startswith("["):  # [IPv6]:PORT
        peer = (peer[0][1:-1], peer[1])
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.bind(("::", a.port))
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", a.port))
    deadline = time.monotonic() + a.timeout
    heard = None
    next_send = 0.0
    while True:
        now = time.monotonic()
        if heard is not None and now >= heard + 0.3:
            print("heard %s:%d" % peer, flush=True)
            return 0
        if now >= deadline:
            print("timeout", flush=True)
            return 1
        if now >= next_send:
            try:
                sock.sendto(b"natlab-punch", peer)
            except OSError:
                pass  # e.g. ICMP unreachable reported on a previous send
            next_send = now + 0.1
        r, _, _ = select.select([sock], [], [], max(0.0, min(next_send, deadline) - now))
        if r:
            try:
                _, src = sock.recvfrom(2048)
            except OSError:
                continue
            if src[:2] == peer and heard is None:
                heard = time.monotonic()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stun")
    s.add_argument("--tcp", action="store_true")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--timeout", type=float, default=2.0)
    s.add_argument("server", nargs="+")
    u = sub.add_parser("punch")
    u.add_argument("--port", type=int, default=0)
    u.add_argument("--timeout", type=float, default=5.0)
    u.add_argument("peer")
    a = p.parse_args()
    return cmd_stun(a) if a.cmd == "stun" else cmd_punch(a)


if __name__ == "__main__":
    sys.exit(main())
