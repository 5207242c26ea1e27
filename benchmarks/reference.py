"""Pure-Python reference implementations of the kernels in kernels/*.wat.

Each function mirrors its kernel's algorithm and the order of its floating-point operations, so
it yields the same checksum bit for bit. They are written from each kernel's description, not
generated from the WAT, and serve as an independent check in --short mode and in the tests
(they are slow: use small n)."""

from __future__ import annotations

import math
import struct
from typing import Callable

M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF


def _f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a & M32


def xorshift(n: int) -> int:
    x = 0x9E3779B97F4A7C15
    acc = 1
    for i in range(n):
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        acc = (acc * 6364136223846793005 + x) & M64
        acc = ((acc << 5) | (acc >> 59)) & M64
        acc ^= i
    return acc


def sieve(n: int) -> int:
    if n <= 2:
        return 0
    composite = bytearray(n)
    i = 2
    while i * i < n:
        if not composite[i]:
            composite[i * i::i] = b"\x01" * len(range(i * i, n, i))
        i += 1
    return sum(k for k in range(2, n) if not composite[k]) & M64


def matmul(n: int) -> int:
    if n == 0:
        return 0
    a = [[((31 * i + 17 * j) % 101) / 8.0 for j in range(n)] for i in range(n)]
    b = [[((13 * i + 11 * j + 5) % 89) * 0.125 - 5.0 for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        row = a[i]
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc = acc + row[k] * b[k][j]
            total = total + acc
    return _f64_bits(total)


_SOLAR_MASS = 4 * math.pi * math.pi
_DAYS_PER_YEAR = 365.24
_BODIES = (  # x, y, z, vx, vy, vz (AU/day), mass (solar masses): Sun, Jupiter, Saturn, Uranus, Neptune
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    (4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
     9.54791938424326609e-04),
    (8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
     2.85885980666130812e-04),
    (1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
     4.36624404335156298e-05),
    (1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
     5.15138902046611451e-05),
)


def nbody(n: int) -> int:
    bodies = [[x, y, z, vx * _DAYS_PER_YEAR, vy * _DAYS_PER_YEAR, vz * _DAYS_PER_YEAR,
               m * _SOLAR_MASS] for x, y, z, vx, vy, vz, m in _BODIES]
    px = py = pz = 0.0
    for b in bodies:
        px = px + b[3] * b[6]
        py = py + b[4] * b[6]
        pz = pz + b[5] * b[6]
    bodies[0][3] = -px / _SOLAR_MASS
    bodies[0][4] = -py / _SOLAR_MASS
    bodies[0][5] = -pz / _SOLAR_MASS
    dt = 0.01
    count = len(bodies)
    for _ in range(n):
        for i in range(count):
            bi = bodies[i]
            for j in range(i + 1, count):
                bj = bodies[j]
                dx = bi[0] - bj[0]
                dy = bi[1] - bj[1]
                dz = bi[2] - bj[2]
                d2 = dx * dx + dy * dy + dz * dz
                mag = dt / (d2 * math.sqrt(d2))
                mi_mag = bi[6] * mag
                mj_mag = bj[6] * mag
                bi[3] = bi[3] - dx * mj_mag
                bi[4] = bi[4] - dy * mj_mag
                bi[5] = bi[5] - dz * mj_mag
                bj[3] = bj[3] + dx * mi_mag
                bj[4] = bj[4] + dy * mi_mag
                bj[5] = bj[5] + dz * mi_mag
        for b in bodies:
            b[0] = b[0] + dt * b[3]
            b[1] = b[1] + dt * b[4]
            b[2] = b[2] + dt * b[5]
    e = 0.0
    for i in range(count):
        bi = bodies[i]
        e = e + 0.5 * bi[6] * (bi[3] * bi[3] + bi[4] * bi[4] + bi[5] * bi[5])
        for j in range(i + 1, count):
            bj = bodies[j]
            dx = bi[0] - bj[0]
            dy = bi[1] - bj[1]
            dz = bi[2] - bj[2]
            e = e - bi[6] * bj[6] / math.sqrt(dx * dx + dy * dy + dz * dz)
    return _f64_bits(e)


def bytecopy(n: int) -> int:
    size = 4096
    buf = [bytearray(size), bytearray(size)]
    seed = 1
    for i in range(size):
        seed = (seed * 1103515245 + 12345) & M32
        buf[0][i] = (seed >> 16) & 0xFF
    src, dst = 0, 1
    total = 0
    for p in range(n):
        shift = 13 * p
        s, d = buf[src], buf[dst]
        for i in range(size):
            byte = s[(i + shift) & (size - 1)]
            d[i] = byte
            total += byte
        src, dst = dst, src
    h = 0x811C9DC5
    for byte in buf[src]:
        h = ((h ^ byte) * 0x01000193) & M32
    return (((total << 32) & M64) ^ h)


def bulkmem(n: int) -> int:
    mem = bytearray(8256 + 64)
    seed = 1
    for i in range(8192):
        seed = (seed * 1103515245 + 12345) & M32
        mem[i] = (seed >> 16) & 0xFF
    h = 0
    for _ in range(n):
        a = seed = (seed * 1103515245 + 12345) & M32
        dst, src, length = (a >> 12) & 4095, (a >> 4) & 4095, ((a >> 24) & 63) + 1
        mem[dst:dst + length] = mem[src:src + length]     # a slice copy: memmove
        b = seed = (seed * 1103515245 + 12345) & M32
        fdst, length = 4096 + ((b >> 8) & 4095), b >> 26
        mem[fdst:fdst + length] = bytes([(b >> 16) & 0xFF]) * length
        h = (h * 31 + mem[dst] + mem[fdst]) & M32
    fnv = 0x811C9DC5
    for byte in mem[:8256]:
        fnv = ((fnv ^ byte) * 0x01000193) & M32
    return ((h << 32) & M64) ^ fnv


def _rotl64(x: int, k: int) -> int:
    k &= 63
    return ((x << k) | (x >> (64 - k))) & M64 if k else x


def _sext32(i: int) -> int:
    return i - (1 << 32) if i & 0x8000_0000 else i


_OPS: tuple[Callable[[int, int], int], ...] = (
    lambda a, i: (a + i + 0x12345) & M64,
    lambda a, i: (a * 0x5851F42D4C957F2D + 1) & M64,
    lambda a, i: a ^ (a >> 29),
    lambda a, i: _rotl64(a, i),
    lambda a, i: (a - 0x0F0F0F0F0F0F0F0F) & M64,
    lambda a, i: (a + ((a - (1 << 64) if a >> 63 else a) >> 3)) & M64,
    lambda a, i: (-a + _sext32(i)) & M64,
    lambda a, i: ((a | ((a << 31) & M64)) ^ ((i << 32) & M64)),
)


def callind(n: int) -> int:
    acc = 0x243F6A8885A308D3
    for i in range(n):
        acc = _OPS[(i + (i >> 3)) & 7](acc, i)
    return acc


REFERENCES: dict[str, Callable[[int], int]] = {
    "fib": fib, "xorshift": xorshift, "sieve": sieve, "matmul": matmul, "nbody": nbody,
    "bytecopy": bytecopy, "callind": callind, "bulkmem": bulkmem,
}
