#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""UDP datagrams that prove their own integrity, for the offload test.

  udp_check.py send ADDR PORT SIZE COUNT [GSO]   sends COUNT datagrams of SIZE bytes;
      with GSO, GSO datagrams at a time in one send (UDP_SEGMENT), so the
      kernel hands them to the TUN as one super packet where it can
  udp_check.py recv ADDR PORT SIZE SECONDS [COUNT]   counts datagrams of SIZE
      bytes whose contents match their sequence number until COUNT are in,
      SECONDS are over, or nothing came for 5 s after the first; prints
      "intact N bad M missing K" and, if any, the first missing numbers

Each datagram is its 4-byte sequence number then bytes derived from it."""
import hashlib
import socket
import sys
import time

UDP_SEGMENT = 103


def payload(seq, size):
    head = seq.to_bytes(4, "big")
    body = hashlib.sha256(head).digest() * (size // 32 + 1)
    return head + body[: size - 4]


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(addr, port, size, count, gso):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    seq = 0
    while seq < count:
        n = min(gso, count - seq) if gso else 1
        data = b"".join(payload(seq + i, size) for i in range(n))
        if gso and n > 1:
            s.sendmsg([data], [(socket.SOL_UDP, UDP_SEGMENT, size.to_bytes(2, sys.byteorder))],
                       0, (addr, port))
        else:
            s.sendto(data, (addr, port))
        seq += n
        time.sleep(0.004)  # paced: this checks integrity, not capacity


def recv(addr, port, size, seconds, count=0):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    print("ready", flush=True)
    intact = bad = 0
    seen = set()
    end = time.monotonic() + seconds
    last = None
    s.settimeout(0.5)
    while time.monotonic() < end and not (count and intact >= count):
        try:
            data = s.recv(65536)
        except socket.timeout:
            # the sender is done (a loaded machine may pause it for a while)
            if last is not None and time.monotonic() - last > 5:
                break
            continue
        last = time.monotonic()
        seq = int.from_bytes(data[:4], "big")
        if len(data) == size and data == payload(seq, size) and seq not in seen:
            seen.add(seq)
            intact += 1
        else:
            bad += 1
    missing = [i for i in range(count) if i not in seen]
    print(f"intact {intact} bad {bad} missing {len(missing)}", flush=True)
    if missing:
        print("first missing:", " ".join(map(str, missing[:20])), flush=True)


def main():
    cmd, addr, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if cmd == "send":
        send(addr, port, size, int(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else 0)
    else:
        recv(addr, port, size, float(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else 0)


main()
