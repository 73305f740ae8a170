#!/usr/bin/env python3
"""Replays captured WireGuard transport datagrams.

usage: udp_replay.py [--tamper] PCAP DST_IP DST_PORT
Reads a classic pcap (Ethernet, IPv4, UDP), takes every UDP payload that is a
WireGuard transport message (type 4) and sends each one again to DST_IP:DST_PORT
from an ephemeral port. Prints how many it sent.
--tamper: moves each counter 2^20 ahead first, so the replay window lets the
datagram through and its authentication (the counter is the nonce) fails.
"""
import socket
import struct
import sys


def payloads(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        l2 = 14 if link == 1 else 16 if link == 113 else 0
        ip = frame[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        yield ip[ihl + 8:]


def main():
    args = sys.argv[1:]
    tamper = args[:1] == ["--tamper"]
    if tamper:
        args = args[1:]
    path, host, port = args[0], args[1], int(args[2])
    sent = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for p in payloads(path):
        if len(p) >= 32 and p[0] == 4 and p[1:4] == b"\0\0\0":
            if tamper:
                counter = struct.unpack("<Q", p[8:16])[0] + (1 << 20)
                p = p[:8] + struct.pack("<Q", counter) + p[16:]
            s.sendto(p, (host, port))
            sent += 1
    print(sent)


if __name__ == "__main__":
    main()
