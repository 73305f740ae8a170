#!/usr/bin/env python3
"""The LAN server browse of two real games, sent the way their clients send it.

lanbrowse.py teeworlds [ADDR] [SECONDS]   Teeworlds 0.7 LAN refresh: to ADDR
    (default 255.255.255.255) on ports 8303-8310, first a token request
    (control packet, token "none", padded to 512 bytes), then, to the same
    broadcast address, the "gie3" info request with the token each server
    returned; prints "server IP:PORT NAME" for every "inf3" reply.
lanbrowse.py cube2 [ADDR] [SECONDS]       Sauerbraten LAN search: one
    cube2-encoded int (the client's clock) to ADDR:28784; prints
    "server IP:PORT DESCRIPTION" for every server info reply.

The wire formats follow the games' own protocol descriptions (Teeworlds
0.7.5 network.cpp/network_token.cpp/serverbrowser.cpp, Sauerbraten
serverbrowser.cpp/server.cpp); the code here is written for these tests.
"""
import os
import socket
import sys
import time

TW_PORTS = range(8303, 8311)
TW_CTRL_TOKEN = 5
TW_GETINFO = b"\xff\xff\xff\xffgie3"
TW_INFO = b"\xff\xff\xff\xffinf3"
CUBE2_LANINFO_PORT = 28784


def tw_varint(i):
    """Teeworlds' CVariableInt: sign bit 0x40 and 6 bits, then 7-bit groups."""
    out = bytearray()
    b = 0x40 if i < 0 else 0
    if i < 0:
        i = ~i
    b |= i & 0x3F
    i >>= 6
    while True:
        if i:
            b |= 0x80
        out.append(b)
        if not i:
            return bytes(out)
        b = i & 0x7F
        i >>= 7


def tw_unvarint(buf, pos):
    b = buf[pos]
    sign = (b >> 6) & 1
    val = b & 0x3F
    shift = 6
    pos += 1
    while b & 0x80:
        b = buf[pos]
        val |= (b & 0x7F) << shift
        shift += 7
        pos += 1
    return (~val if sign else val), pos


def tw_string(buf, pos):
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("utf-8", "replace"), end + 1


def teeworlds(addr, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("0.0.0.0", 0))
    s.settimeout(0.2)
    my_token = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    lan_token = int.from_bytes(os.urandom(2), "big")
    # Control packet: flags CONTROL (1) << 2, ack 0, 0 chunks, token NONE,
    # then NET_CTRLMSG_TOKEN, our token, padding to 512 extra bytes.
    req = bytes([1 << 2, 0, 0]) + b"\xff" * 4 + bytes([TW_CTRL_TOKEN]) \
        + my_token.to_bytes(4, "big") + bytes(508)
    for port in TW_PORTS:
        s.sendto(req, (addr, port))
    asked = set()
    found = set()
    end = time.time() + seconds
    while time.time() < end:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) >= 12 and data[0] >> 2 == 1 and data[7] == TW_CTRL_TOKEN:
            # A server's token for us; the client then sends its info request
            # to the same broadcast address with that token.
            if int.from_bytes(data[3:7], "big") != my_token or src in asked:
                continue
            asked.add(src)
            srv_token = data[8:12]
            pkt = bytes([(8 << 2) | 1]) + srv_token + my_token.to_bytes(4, "big") \
                + TW_GETINFO + tw_varint(lan_token)
            s.sendto(pkt, (addr, src[1]))
        elif len(data) > 9 + len(TW_INFO) and data[0] >> 2 == 8 \
                and data[9:9 + len(TW_INFO)] == TW_INFO:
            pos = 9 + len(TW_INFO)
            tok, pos = tw_unvarint(data, pos)
            if tok != lan_token or src in found:
                continue
            _version, pos = tw_string(data, pos)
            name, pos = tw_string(data, pos)
            found.add(src)
            print("server %s:%d %s" % (src[0], src[1], name), flush=True)


def cube2_putint(n):
    if -127 < n < 128:
        return bytes([n & 0xFF])
    if -0x8000 <= n < 0x8000:
        return bytes([0x80, n & 0xFF, (n >> 8) & 0xFF])
    return bytes([0x81]) + (n & 0xFFFFFFFF).to_bytes(4, "little")


def cube2_getint(buf, pos):
    c = buf[pos] - 256 if buf[pos] > 127 else buf[pos]
    if c == -128:
        return int.from_bytes(buf[pos + 1:pos + 3], "little", signed=True), pos + 3
    if c == -127:
        return int.from_bytes(buf[pos + 1:pos + 5], "little", signed=True), pos + 5
    return c, pos + 1


def cube2_getstring(buf, pos):
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def cube2(addr, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("0.0.0.0", 0))
    s.settimeout(0.2)
    millis = int(time.monotonic() * 1000) & 0x3FFFFFFF or 1
    ping = cube2_putint(millis)
    s.sendto(ping, (addr, CUBE2_LANINFO_PORT))
    found = set()
    end = time.time() + seconds
    while time.time() < end:
        try:
            data, src = s.recvfrom(4096)
        except socket.timeout:
            continue
        # The reply echoes our ping, then: clients, number of attributes,
        # the attributes (protocol, mode, time left, max clients, master
        # mode, ...), the map name and the server description.
        if not data.startswith(ping) or src in found:
            continue
        try:
            pos = len(ping)
            _clients, pos = cube2_getint(data, pos)
            nattr, pos = cube2_getint(data, pos)
            for _ in range(nattr):
                _attr, pos = cube2_getint(data, pos)
            _map, pos = cube2_getstring(data, pos)
            desc, pos = cube2_getstring(data, pos)
        except (IndexError, ValueError):
            print("garbled reply from %s:%d: %s" % (src[0], src[1], data.hex()), flush=True)
            continue
        found.add(src)
        print("server %s:%d %s" % (src[0], src[1], desc), flush=True)


if __name__ == "__main__":
    game = sys.argv[1]
    target = sys.argv[2] if len(sys.argv) > 2 else "255.255.255.255"
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    {"teeworlds": teeworlds, "cube2": cube2}[game](target, secs)
