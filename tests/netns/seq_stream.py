#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A paced stream of numbered UDP datagrams, and a receiver that says what
the path did to it.

  seq_stream.py send ADDR PORT COUNT RATE [SIZE]
      COUNT datagrams of SIZE bytes (200), RATE a second
  seq_stream.py recv PORT COUNT SECONDS [SIZE]  waits up to SECONDS (until 5 s
      after the last datagram once any came) and prints
      "received N lost L reordered R duplicated D", where a datagram is
      reordered when one with a higher number came before it."""
import socket
import sys
import time

SIZE = 200


def send(addr, port, count, rate, size=SIZE):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    for seq in range(count):
        # Paced against the clock, so a late wake-up does not slow the stream.
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s.sendto(seq.to_bytes(4, "big") + bytes(size - 4), (addr, port))


def recv(port, count, seconds, size=SIZE):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    seen = set()
    highest = -1
    reordered = duplicated = 0
    hard = time.monotonic() + seconds
    deadline = hard
    while len(seen) < count:
        now = time.monotonic()
        if now >= deadline:
            break
        s.settimeout(deadline - now)
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        if len(data) != size:
            continue
        deadline = min(hard, time.monotonic() + 5.0)
        seq = int.from_bytes(data[:4], "big")
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < highest:
            reordered += 1
        highest = max(highest, seq)
    print(f"received {len(seen)} lost {count - len(seen)} reordered {reordered} "
          f"duplicated {duplicated}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
             *(int(a) for a in sys.argv[6:7]))
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
             *(int(a) for a in sys.argv[5:6]))
