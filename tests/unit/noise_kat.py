#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent reference for the WireGuard handshake (whitepaper section 5.4),
written from the paper with hashlib, hmac and the `cryptography` package, to
produce the known answers in test_noise.c. Fixed keys stand in for the random
ephemerals. Run: python3 tests/unit/noise_kat.py"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def HASH(b):
    return hashlib.blake2s(b).digest()


def MAC(key, b):
    return hashlib.blake2s(b, digest_size=16, key=key).digest()


def HMAC(key, b):
    return hmac.new(key, b, hashlib.blake2s).digest()


def KDF(n, key, inp):
    t0 = HMAC(key, inp)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(*RAW)


def DH(priv, pubk):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pubk))


def AEAD(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def seq(start, n=32):
    return bytes((start + i) & 0xFF for i in range(n))


s_i, s_r = seq(0x10), seq(0x40)
e_i, e_r = seq(0x70), seq(0xA0)
psk = seq(0xD0)
S_i, S_r = pub(s_i), pub(s_r)
sender_i, sender_r = 0x11223344, 0xA1B2C3D4
# 2026-01-02T03:04:05.123456789Z as wall time
secs, nsec = 1767323045, 123456789
tai = struct.pack(">QI", 0x400000000000000A + secs, nsec & ~((1 << 24) - 1))

C = HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H = HASH(C + b"WireGuard v1 zx2c4 Jason@zx2c4.com")
H = HASH(H + S_r)
E_i = pub(e_i)
C = KDF(1, C, E_i)[0]
msg = struct.pack("<II", 1, sender_i) + E_i
H = HASH(H + E_i)
C, k = KDF(2, C, DH(e_i, S_r))
enc_static = AEAD(k, 0, S_i, H)
msg += enc_static
H = HASH(H + enc_static)
C, k = KDF(2, C, DH(s_i, S_r))
enc_ts = AEAD(k, 0, tai, H)
msg += enc_ts
H = HASH(H + enc_ts)
mac1_key_r = HASH(b"mac1----" + S_r)
msg += MAC(mac1_key_r, msg)
cookie = seq(0x33, 16)
init_with_mac2 = msg + MAC(cookie, msg)
msg += b"\0" * 16
initiation = msg


def response(psk):
    C2, H2 = C, H
    E_r = pub(e_r)
    C2 = KDF(1, C2, E_r)[0]
    m = struct.pack("<III", 2, sender_r, sender_i) + E_r
    H2 = HASH(H2 + E_r)
    C2 = KDF(1, C2, DH(e_r, E_i))[0]
    C2 = KDF(1, C2, DH(e_r, S_i))[0]
    C2, tau, k2 = KDF(3, C2, psk)
    H2 = HASH(H2 + tau)
    empty = AEAD(k2, 0, b"", H2)
    m += empty
    m += MAC(HASH(b"mac1----" + S_i), m)
    m += b"\0" * 16
    t_send_i, t_recv_i = KDF(2, C2, b"")
    return m, t_send_i, t_recv_i


def show(name, b):
    print(f'static const char {name}[] = "{b.hex()}";')


show("kat_initiation", initiation)
show("kat_initiation_mac2", init_with_mac2)
for label, p in (("psk", psk), ("nopsk", b"\0" * 32)):
    m, ts, tr = response(p)
    show(f"kat_response_{label}", m)
    show(f"kat_i_send_{label}", ts)
    show(f"kat_i_recv_{label}", tr)
    # first transport packet initiator -> responder, counter 0, 20-byte payload padded to 32
    payload = b"hello through tund!!"
    padded = payload + b"\0" * (-len(payload) % 16)
    data = struct.pack("<IIQ", 4, sender_r, 0) + AEAD(ts, 0, padded, b"")
    show(f"kat_data_{label}", data)
