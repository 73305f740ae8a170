#!/usr/bin/env python3
"""Resends a captured LAN beacon.

usage: beacon_replay.py PCAP DST_IP DST_PORT [TRUNCATE]
Reads a classic pcap (Ethernet or Linux cooked, IPv4, UDP), takes the first
UDP payload that looks like a tund beacon ("TB", version 2, 181 bytes) and sends
it once to DST_IP:DST_PORT from an ephemeral port, cut to TRUNCATE bytes if
given. Prints the number of bytes sent (0 if no beacon was found).
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
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cut = int(sys.argv[4]) if len(sys.argv) > 4 else None
    for p in payloads(path):
        if len(p) == 181 and p[:3] == b"TB\x02":
            if cut is not None:
                p = p[:cut]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            print(s.sendto(p, (host, port)))
            return
    print(0)


if __name__ == "__main__":
    main()
