#!/usr/bin/env python3
"""Multicast both ways, as some games browse: the request goes to GROUP on
port REQ, the answer to the same GROUP on port ANS (never unicast).

mcast.py server GROUP REQ ANS JOIN NAME   join GROUP, answer "here NAME"
mcast.py query GROUP REQ ANS JOIN [SECONDS]  send "who", print "answer SRC NAME"

JOIN names the interface for IP_ADD_MEMBERSHIP the way programs do:
"any" (0.0.0.0: the kernel picks it by the route for the group), an address
(the overlay address, or the default interface's LAN address). An IPv6 GROUP
joins on interface index 0 ("any") or the interface named by JOIN.
"""
import socket
import struct
import sys
import time


def v6(group):
    return ":" in group


def open_sock(group, port, join):
    fam = socket.AF_INET6 if v6(group) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if v6(group) else "0.0.0.0", port))
    if v6(group):
        idx = 0 if join == "any" else socket.if_nametoindex(join)
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    else:
        ifaddr = "0.0.0.0" if join == "any" else join
        mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(0.2)
    return s


def send_sock(group):
    fam = socket.AF_INET6 if v6(group) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    return s


def server(group, req, ans, join, name):
    rx = open_sock(group, req, join)
    tx = send_sock(group)
    print("ready", flush=True)
    while True:
        try:
            data, src = rx.recvfrom(2048)
        except socket.timeout:
            continue
        if data == b"who":
            print("request", src[0], flush=True)
            tx.sendto(b"here " + name.encode(), (group, ans))


def query(group, req, ans, join, seconds):
    rx = open_sock(group, ans, join)
    tx = send_sock(group)
    tx.sendto(b"who", (group, req))
    end = time.time() + seconds
    while time.time() < end:
        try:
            data, src = rx.recvfrom(2048)
        except socket.timeout:
            continue
        if data.startswith(b"here "):
            print("answer", src[0], data[5:].decode(), flush=True)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "server":
        server(a[2], int(a[3]), int(a[4]), a[5], a[6])
    else:
        query(a[2], int(a[3]), int(a[4]), a[5], float(a[6]) if len(a) > 6 else 3.0)
