#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A delay line for reordering: reads every frame that arrives on IFNAME
(the far end of a veth that an nftables `fwd to` rule diverts a random few
packets into), holds each for a random MIN_MS..MAX_MS and sends it back out
of IFNAME addressed to DST_MAC (the near end, where the router takes it up
again). Packets that were not diverted overtake the held ones. On SIGTERM it
prints "held N dropped D": D frames the kernel could not queue to it (its
receive buffer full: the machine too slow for it), which a test must not
take for loss on the link. Needed where the kernel has no sch_netem.
Usage: delayline.py IFNAME DST_MAC MIN_MS MAX_MS"""
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
# Room for every frame a burst diverts while this process waits for a CPU.
RCVBUF = 64 << 20


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def with_checksum(frame):
    """Frames from a veth may carry a TCP/UDP checksum the kernel has not
    filled in yet (offload); sent back as they are, conntrack would call them
    invalid. Computes it for IPv4 TCP and UDP."""
    if frame[12:14] != b"\x08\x00" or len(frame) < 34:
        return frame
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = int.from_bytes(ip[2:4], "big")
    proto = ip[9]
    if proto not in (6, 17) or int.from_bytes(ip[6:8], "big") & 0x3FFF or total > len(ip):
        return frame
    seg = bytearray(ip[ihl:total])
    off = 16 if proto == 6 else 6
    if len(seg) < off + 2:
        return frame
    seg[off:off + 2] = b"\0\0"
    c = csum(ip[12:20] + bytes([0, proto]) + len(seg).to_bytes(2, "big") + bytes(seg))
    if proto == 17 and c == 0:
        c = 0xFFFF
    seg[off:off + 2] = c.to_bytes(2, "big")
    return frame[:14] + ip[:ihl] + bytes(seg) + ip[total:]


def main():
    ifname, dst = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
    lo, hi = float(sys.argv[3]) / 1000, float(sys.argv[4]) / 1000
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # As root the buffer may exceed net.core.rmem_max.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    sock.bind((ifname, 0))
    src = sock.getsockname()[4]
    held = []
    count = 0
    seq = 0

    def stop(*_):
        _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        print(f"held {count} dropped {drops}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        if select.select([sock], [], [], timeout)[0]:
            while True:  # everything queued, before the next wait
                try:
                    frame, addr = sock.recvfrom(65535, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING and len(frame) > 14:
                    seq += 1
                    count += 1
                    heapq.heappush(held, (time.monotonic() + random.uniform(lo, hi), seq,
                                          dst + src + with_checksum(frame)[12:]))
        now = time.monotonic()
        while held and held[0][0] <= now:
            try:
                sock.send(heapq.heappop(held)[2])
            except OSError as e:  # e.g. larger than the link: lost, as on a real one
                print(f"send failed: {e}", flush=True)


main()
