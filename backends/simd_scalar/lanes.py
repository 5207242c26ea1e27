"""Lanes of a legalised v128: taking one out (`lane`), building a v128 from lane values
(`join`), and the lane-moving opcodes: splat, extract/replace lane, shuffle, swizzle, the
widening of half a vector (extend, the 64-bit extending loads)."""

from __future__ import annotations

from typing import Iterable

from engine.ir.ir import F32, F64, I32, I64, IntCC, Opcode, Type

from . import swar
from .emitter import Emitter, Pair, lane_mask, rep

O = Opcode


def lane(em: Emitter, v: Pair, bits: int, i: int, signed: bool = False,
         clean: bool = True) -> int:
    """Lane i (of `bits` bits) as an i64: zero- or sign-extended; with `clean` False the bits
    above the lane may be anything (for users that ignore them)."""
    word = v.half(i * bits // 64)
    s = (i * bits) % 64
    if signed:
        return em.ksshr(em.kshl(word, 64 - s - bits), 64 - bits)
    x = em.kushr(word, s)
    if not clean or s + bits == 64:
        return x
    return em.kand(x, lane_mask(bits))


def join(em: Emitter, values: Iterable[int], bits: int, clean: bool = False) -> Pair:
    """A v128 from 128 // bits lane values (i64, lane 0 first); `clean`: the values are zero
    above their lane already. A generator's values are computed and placed one at a time (few
    values live at once: less register pressure in lane loops)."""
    per = 64 // bits
    acc = [-1, -1]
    for n, x in enumerate(values):
        h, k = divmod(n, per)
        if not clean and bits < 64 and k + 1 < per:
            x = em.kand(x, lane_mask(bits))
        x = em.kshl(x, k * bits)
        acc[h] = x if acc[h] < 0 else em.or_(acc[h], x)
    return Pair(*acc)


def broadcast(em: Emitter, x: int, bits: int) -> int:
    """The 64-bit word with clean lane value x (i64) in every lane."""
    while bits < 64:
        x = em.or_(x, em.kshl(x, bits))
        bits *= 2
    return x


def scalar_bits(em: Emitter, x: int, ty: Type) -> int:
    """A scalar operand's bits as an i64 (i32 and f32 zero-extended)."""
    if ty is I64:
        return x
    if ty is I32:
        return em.from_i32(x)
    return em.from_float(x, ty)


def splat(em: Emitter, x: int, ty: Type, bits: int) -> Pair:
    v = scalar_bits(em, x, ty)
    if bits < 32:
        v = em.kand(v, lane_mask(bits))
    w = broadcast(em, v, bits)
    return Pair(w, w)


def extract(em: Emitter, v: Pair, bits: int, i: int, ty: Type, signed: bool = False) -> int:
    """Lane i as a scalar of type ty."""
    if ty is I64:
        return v.half(i)
    if ty is F64:
        return em.to_f64(v.half(i))
    x = lane(em, v, bits, i, signed, clean=bits < 32)
    return em.to_f32(x) if ty is F32 else em.to_i32(x)


def replace(em: Emitter, v: Pair, x: int, ty: Type, bits: int, i: int) -> Pair:
    """v with lane i set to scalar x's low `bits` bits."""
    k = i * bits // 64
    xv = scalar_bits(em, x, ty)
    if bits == 64:
        word = xv
    else:
        s = (i * bits) % 64
        if bits < 32:
            xv = em.kand(xv, lane_mask(bits))
        word = em.or_(em.kand(v.half(k), ~(lane_mask(bits) << s)), em.kshl(xv, s))
    return Pair(word, v.hi) if k == 0 else Pair(v.lo, word)


def shuffle(em: Emitter, a: Pair, b: Pair, mask: tuple[int, ...]) -> Pair:
    """i8x16.shuffle: runs of consecutive source bytes move with one shift and mask."""
    words = (a.lo, a.hi, b.lo, b.hi)
    halves = []
    for h in range(2):
        acc = -1
        i = 0
        while i < 8:
            m = mask[8 * h + i]
            n = 1
            while i + n < 8 and mask[8 * h + i + n] == m + n and (m + n) // 8 == m // 8:
                n += 1
            word, sb = words[m // 8], m % 8
            if n == 8:
                piece = word
            else:
                shift = 8 * (i - sb)
                moved = em.kshl(word, shift) if shift >= 0 else em.kushr(word, -shift)
                piece = em.kand(moved, ((1 << (8 * n)) - 1) << (8 * i))
            acc = piece if acc < 0 else em.or_(acc, piece)
            i += n
        halves.append(acc)
    return Pair(*halves)


def swizzle(em: Emitter, a: Pair, s: Pair) -> Pair:
    """i8x16.swizzle: each result byte picks a byte of `a` by a run-time index; indices of 16
    and above give 0 (a SWAR mask of the index bytes whose top four bits are clear)."""
    def pick(i: int) -> int:
        idx = lane(em, s, 8, i)
        hi = em.icmp(IntCC.NE, em.kand(idx, 8), em.const(0))
        return em.ushr(em.select(hi, a.hi, a.lo), em.kshl(idx, 3))  # shifts are mod 64
    picked = join(em, (pick(i) for i in range(16)), 8)
    keep = [em.not_(swar.expand(em, swar.nonzero_top(em, em.kand(w, rep(8, 0xF0)), 8), 8))
            for w in (s.lo, s.hi)]
    return Pair(em.and_(picked.lo, keep[0]), em.and_(picked.hi, keep[1]))


def widen_word(em: Emitter, word: int, bits: int, signed: bool) -> Pair:
    """The 64 // bits lanes of one 64-bit word, each widened to 2 * bits: the low four bytes'
    lanes become the low half, the high four bytes' the high half."""
    if bits == 32:
        if signed:
            return Pair(em.op(O.SEXTEND, I64, em.to_i32(word)), em.ksshr(word, 32))
        return Pair(em.kand(word, 0xFFFF_FFFF), em.kushr(word, 32))
    out = []
    for y in (em.kand(word, 0xFFFF_FFFF), em.kushr(word, 32)):
        y = em.kand(em.or_(y, em.kshl(y, 16)), 0x0000_FFFF_0000_FFFF)
        if bits == 8:
            y = em.kand(em.or_(y, em.kshl(y, 8)), 0x00FF_00FF_00FF_00FF)
        if signed:
            y = swar.sign_extend(em, y, bits, 2 * bits)
        out.append(y)
    return Pair(*out)


def widen(em: Emitter, v: Pair, bits: int, high: bool, signed: bool) -> Pair:
    """extend_low/high: lanes of the low or high half of v, widened."""
    return widen_word(em, v.half(1 if high else 0), bits, signed)
