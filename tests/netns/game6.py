#!/usr/bin/env python3
"""IPv6 LAN discovery, as browsers that use multicast instead of broadcast.

game6.py server PORT [GROUP]   answer every datagram with "pong" (unicast to
                               its source); with GROUP, join it on interface 0
                               (the kernel picks it by the route for the group)
game6.py query GROUP PORT [SECONDS]
    send "ping" to GROUP:PORT; a link-local group (ff02::/16) is sent once per
    interface, with that interface's scope, as such browsers do; print
    "reply IP" for every answer
"""
import socket
import struct
import sys

from game import print_replies  # tests/netns/game.py, beside this script


def server(port, group=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    if group:
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", 0)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    print("ready", flush=True)
    while True:
        data, src = s.recvfrom(2048)
        print("query", src[0].split("%")[0], flush=True)
        s.sendto(b"pong", src)


def query(group, port, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    if group.lower().startswith("ff02:"):
        for idx, name in socket.if_nameindex():
            try:
                s.sendto(b"ping", (group, port, 0, idx))
                print("send", name, flush=True)
            except OSError as e:
                print("nosend", name, e.strerror, flush=True)
    else:
        s.sendto(b"ping", (group, port))
    print_replies(s, seconds)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        query(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 3.0)
