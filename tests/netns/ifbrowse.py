#!/usr/bin/env python3
"""A LAN browse that, like OpenTTD and other games, walks getifaddrs() and
sends only on interfaces flagged IFF_BROADCAST, to each one's broadcast
address (a TUN is point-to-point, so never to the overlay directly).

ifbrowse.py PORT [SECONDS]   prints "send IFNAME BCAST" for each send, then
                             "reply IP" for every "pong" (tests/netns/game.py)
"""
import ctypes
import ctypes.util
import socket
import sys

from game import print_replies  # tests/netns/game.py, beside this script

IFF_BROADCAST = 0x2
IFF_UP = 0x1


class Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 14)]


class Ifaddrs(ctypes.Structure):
    pass


Ifaddrs._fields_ = [
    ("next", ctypes.POINTER(Ifaddrs)),
    ("name", ctypes.c_char_p),
    ("flags", ctypes.c_uint),
    ("addr", ctypes.POINTER(Sockaddr)),
    ("netmask", ctypes.POINTER(Sockaddr)),
    ("broadaddr", ctypes.POINTER(Sockaddr)),
    ("data", ctypes.c_void_p),
]


def broadcast_addresses():
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    head = ctypes.POINTER(Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        raise OSError(ctypes.get_errno(), "getifaddrs")
    out = []
    try:
        p = head
        while p:
            ifa = p.contents
            if (ifa.flags & IFF_BROADCAST) and (ifa.flags & IFF_UP) and ifa.addr \
                    and ifa.addr.contents.family == socket.AF_INET and ifa.broadaddr:
                sin = bytes(ifa.broadaddr.contents.data)  # port(2) then address
                out.append((ifa.name.decode(), socket.inet_ntoa(sin[2:6])))
            p = ifa.next
    finally:
        libc.freeifaddrs(head)
    return out


def main(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    for name, bcast in broadcast_addresses():
        print("send", name, bcast, flush=True)
        s.sendto(b"ping", (bcast, port))
    print_replies(s, seconds)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 3.0)
