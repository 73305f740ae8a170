#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sends COUNT malformed requests to a tund control socket and checks that
each one gets an error reply (or, for an oversized line, an error and a
close). Prints "sent N errors N closed N". Exit 1 if any request was
accepted or a connection broke without an answer.
Usage: ctl_garbage.py SOCKET COUNT"""
import json
import os
import random
import socket
import sys

PER_CONN = 10  # requests pipelined on one connection


def malformed(rng):
    """One request line (without the newline) that must be refused."""
    kind = rng.randrange(18)
    if kind == 0:
        line = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b" ")
        # A lone CR is an empty line (CRLF), which tund skips without a
        # reply, as it should: one run in about a hundred drew it and waited
        # for a reply that never came.
        return b"\r\r" if line == b"\r" else line
    if kind == 1:
        return b'{"cmd":'
    if kind == 2:
        return rng.choice([b"[]", b"42", b'"status"', b"null", b"true", b"{}"])
    if kind == 3:
        return b'{"cmd": 7}'
    if kind == 4:
        return b'{"cmd": "no.such.command"}'
    if kind == 5:
        return b'{"cmd": "peer.add", "public_key": 123}'
    if kind == 6:
        return b'{"cmd": "peer.add", "public_key": "not a key"}'
    if kind == 7:
        return b'{"cmd": "peer.remove", "peer": []}'
    if kind == 8:
        return b'{"cmd": "network.join", "invite": "tund1:AAAA"}'
    if kind == 9:
        return b'{"cmd": "ping", "peer": "nobody", "count": -5}'
    if kind == 10:
        return b'{"cmd": "network.create", "name": "x", "prefix": "999.1.1.1/99"}'
    if kind == 11:
        return b"[" * 5000 + b"]" * 5000  # deep nesting
    if kind == 12:
        return b'{"cmd": "status\x00evil"}'
    if kind == 13:
        return b'{"cmd": "\xff\xfe\xfd"}'  # not UTF-8
    if kind == 14:
        return b'{"cmd": "peer.block", "peer": "' + b"A" * 3000 + b'"}'
    if kind == 16:  # a well-formed peer.add naming what only admission may set
        return (b'{"cmd": "peer.add", "public_key": "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", '
                + rng.choice([b'"state": "member", "network": "friends"}', b'"network": "friends"}',
                              b'"state": "static"}']))
    if kind == 17:  # deep nesting of objects inside a valid command
        return b'{"cmd": "status", "x": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}"
    return b'{"cmd": "peer.offer", "peer": {"nested": {"x": 1}}}'


def read_lines(sock, n):
    buf = b""
    lines = []
    while len(lines) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf and len(lines) < n:
            line, buf = buf.split(b"\n", 1)
            lines.append(line)
    return lines


def check_errors(lines, sent, what):
    for line in lines:
        try:
            rep = json.loads(line)
        except ValueError:
            sys.exit(f"reply is not JSON ({what}): {line[:80]!r}")
        if rep.get("ok") is not False:
            sys.exit(f"malformed request accepted ({what}): {line[:120]!r}")
    if len(lines) != sent:
        sys.exit(f"{sent} requests, {len(lines)} replies ({what})")


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(os.getpid())
    sent = errors = closed = conns = 0
    while sent < count:
        conns += 1
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(path)
        if conns % 100 == 0:
            # An oversized line: one error, then the daemon closes.
            sock.sendall(b"x" * (70 * 1024))
            check_errors(read_lines(sock, 1), 1, "oversized")
            try:
                rest = sock.recv(1)
            except ConnectionResetError:
                rest = b""  # closed with part of the line unread: a reset
            if rest != b"":
                sys.exit("connection still open after an oversized request")
            sent += 1
            errors += 1
            closed += 1
            sock.close()
            continue
        n = min(PER_CONN, count - sent)
        reqs = [malformed(rng) for _ in range(n)]
        sock.sendall(b"".join(r + b"\n" for r in reqs))
        check_errors(read_lines(sock, n), n, "batch")
        sent += n
        errors += n
        sock.close()
    print(f"sent {sent} errors {errors} closed {closed}")


main()
