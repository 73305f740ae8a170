#!/usr/bin/env python3
"""A LAN game's discovery, as old games do it, for tests.

game.py server PORT [GROUP IFADDR]   answer every datagram with "pong" (unicast);
                                     with GROUP, also join that multicast group
                                     on the interface that has IFADDR
game.py query ADDR PORT [SECONDS]    send "ping" to ADDR:PORT (broadcast allowed),
                                     print "reply IP" for every answer
game.py count PORT SOURCE QUIET      count the datagrams from SOURCE to PORT, as a
                                     game's socket receives them; print "counted N"
                                     once none came for QUIET seconds after the first
"""
import socket
import struct
import sys
import time


def server(port, group=None, ifaddr=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    if group:
        mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(ifaddr))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    print("ready", flush=True)
    while True:
        data, src = s.recvfrom(2048)
        print("query", src[0], flush=True)
        s.sendto(b"pong", src)


def print_replies(s, seconds):
    """Prints "reply ADDR" for every pong that reaches s within seconds
    (an IPv6 address without its %scope). Shared by the browsers here."""
    s.settimeout(0.2)
    end = time.time() + seconds
    while time.time() < end:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data == b"pong":
            print("reply", src[0].split("%")[0], flush=True)


def count(port, source, quiet):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A storm arrives faster than Python reads: a large buffer, so what is
    # counted is what tund delivered, not what this script kept up with.
    # SO_RCVBUFFORCE (33) passes rmem_max; the tests run as root.
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    n = 0
    while True:  # no timeout until the first datagram from source
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            break
        if src[0] == source:
            n += 1
            s.settimeout(quiet)
    print("counted", n, flush=True)


def query(addr, port, seconds=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(b"ping", (addr, port))
    print_replies(s, seconds)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), *(sys.argv[3:5] if len(sys.argv) > 4 else ()))
    elif sys.argv[1] == "count":
        count(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        query(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 3.0)
