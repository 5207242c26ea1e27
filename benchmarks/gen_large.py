"""Generator of the large benchmark program: a deterministic WAT module with a few hundred varied
functions (integer arithmetic, loops, memory, floats, branches, calls) plus hand-written CRC-32,
Adler-32 and FNV-1a routines. It measures compile throughput on something the size of a real
program; its ``run(n)`` returns a checksum so every runtime's execution can be compared too.

Run ``python -m benchmarks.gen_large [-o FILE] [--functions N] [--seed S]`` to write it out."""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass

#: Bytes of scratch memory the generated functions read and write (offsets 0 .. SCRATCH-1).
SCRATCH = 4096
#: Where the CRC-32 lookup table lives (256 x i32).
CRC_TABLE = SCRATCH
#: Functions called per driver function.
DRIVER_CHUNK = 40

_I64_BINOPS = ("i64.add", "i64.sub", "i64.mul", "i64.xor", "i64.or", "i64.and",
               "i64.shl", "i64.shr_u", "i64.shr_s", "i64.rotl", "i64.rotr")
_I32_UNOPS = ("i32.clz", "i32.ctz", "i32.popcnt")
_I32_BINOPS = ("i32.add", "i32.sub", "i32.mul", "i32.xor", "i32.rotl", "i32.rotr", "i32.shl")
_LOADS = (("i64.load8_u", 1), ("i64.load16_s", 2), ("i64.load32_u", 4), ("i64.load", 8))


@dataclass(slots=True, frozen=True)
class LargeSpec:
    """What to generate: the number of generated functions, call levels and the random seed."""

    functions: int = 320
    levels: int = 4
    seed: int = 0x5EED_2026


class _Gen:
    """Emits the module text one function at a time (flat instruction syntax)."""

    def __init__(self, spec: LargeSpec) -> None:
        if spec.functions < spec.levels or spec.levels < 1:
            raise ValueError("need at least one function per call level")
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.out: list[str] = []

    # -- helpers --------------------------------------------------------------------------

    def emit(self, *lines: str) -> None:
        for line in lines:
            self.out.extend("    " + part for part in line.split("\n"))

    def const64(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"i64.const {rng.randrange(1, 64)}"
        return f"i64.const {rng.randrange(-(1 << 63), 1 << 63)}"

    def level_of(self, k: int) -> int:
        return k * self.spec.levels // self.spec.functions

    def level_range(self, level: int) -> range:
        ks = [k for k in range(self.spec.functions) if self.level_of(k) == level]
        return range(ks[0], ks[-1] + 1)

    def expr64(self, depth: int, leaves: tuple[str, ...]) -> None:
        """Emit an i64 expression over the given leaf instructions."""
        rng = self.rng
        if depth <= 0 or rng.random() < 0.2:
            leaf = rng.choice(leaves + ("const",))
            self.emit(self.const64() if leaf == "const" else leaf)
            return
        self.expr64(depth - 1, leaves)
        self.expr64(depth - 1, leaves)
        r = rng.random()
        if r < 0.08:
            # division by an odd constant cannot trap
            self.emit(f"i64.const {rng.randrange(3, 1 << 20) | 1}", rng.choice(("i64.div_u", "i64.rem_u")),
                      "i64.add")
        else:
            self.emit(rng.choice(_I64_BINOPS))

    # -- function bodies ------------------------------------------------------------------

    def body_arith(self) -> None:
        leaves = ("local.get $x", "local.get $y\ni64.extend_i32_u")
        self.expr64(4, leaves)
        self.emit("local.set $t")
        self.expr64(4, leaves + ("local.get $t",))
        self.emit("local.get $t", "i64.xor")

    def body_loop(self) -> None:
        leaves = ("local.get $x", "local.get $t", "local.get $i\ni64.extend_i32_u")
        self.emit("local.get $y", "i32.const 15", "i32.and", "i32.const 1", "i32.add", "local.set $i",
                  "local.get $x", "local.set $t", "loop $again")
        self.expr64(3, leaves)
        self.emit("local.set $t")
        self.expr64(2, leaves)
        self.emit("local.set $x",
                  "local.get $i", "i32.const 1", "i32.sub", "local.tee $i", "br_if $again", "end",
                  "local.get $t", "local.get $x", "i64.add")

    def body_memory(self) -> None:
        rng = self.rng
        leaves = ("local.get $x", "local.get $t")
        # address = (y * 8 + c) & (SCRATCH - 8): an aligned slot inside the scratch area
        self.emit("local.get $y", "i32.const 3", "i32.shl", f"i32.const {rng.randrange(SCRATCH)}",
                  "i32.add", f"i32.const {SCRATCH - 8}", "i32.and", "local.set $i",
                  "local.get $x", f"i64.const {rng.randrange(1, 1 << 32)}", "i64.mul", "local.set $t",
                  "local.get $i")
        self.expr64(3, leaves)
        self.emit("i64.store")
        for _ in range(rng.randrange(2, 5)):
            load, width = rng.choice(_LOADS)
            offset = rng.randrange(0, 8 - width + 1)
            self.emit("local.get $t", "local.get $i", f"{load} offset={offset}", rng.choice(_I64_BINOPS),
                      "local.set $t")
        self.emit("local.get $i", "local.get $t", f"i64.store16 offset={rng.randrange(0, 7)}",
                  "local.get $t")

    def body_float(self) -> None:
        rng = self.rng
        self.emit("local.get $x", "i64.const 0xFFFFFFFFFFF", "i64.and", "f64.convert_i64_s",
                  f"f64.const {rng.uniform(0.5, 4.0)!r}", "f64.mul",
                  "local.get $y", "f64.convert_i32_u", "f64.add", "local.set $f")
        for _ in range(rng.randrange(2, 6)):
            choice = rng.randrange(5)
            if choice == 0:
                self.emit("local.get $f", "f64.abs", "f64.sqrt", f"f64.const {rng.uniform(1, 100)!r}",
                          "f64.add", "local.set $f")
            elif choice == 1:
                self.emit("local.get $f", f"f64.const {rng.uniform(-50, 50)!r}",
                          rng.choice(("f64.min", "f64.max", "f64.sub", "f64.add")), "local.set $f")
            elif choice == 2:
                self.emit("local.get $f", rng.choice(("f64.floor", "f64.ceil", "f64.nearest", "f64.trunc")),
                          "local.set $f")
            elif choice == 3:
                self.emit("local.get $f", f"f64.const {rng.uniform(1.5, 3.0)!r}", "f64.div", "local.set $f")
            else:
                self.emit("local.get $f", "f32.demote_f64", f"f32.const {rng.uniform(0.5, 2.0)!r}",
                          "f32.mul", "f64.promote_f32", "local.set $f")
        self.emit("local.get $f", "i64.trunc_sat_f64_s", "local.get $x", "i64.xor")

    def body_branch(self) -> None:
        rng = self.rng
        leaves = ("local.get $x", "local.get $y\ni64.extend_i32_s")
        self.emit("local.get $x", f"i64.const {1 << rng.randrange(64)}", "i64.and", "i64.eqz",
                  "if (result i64)")
        self.expr64(3, leaves)
        self.emit("else")
        self.expr64(3, leaves)
        self.emit("end", "local.set $t",
                  "block $d", "block $c", "block $b", "block $a",
                  "local.get $y", "i32.const 3", "i32.and", "br_table $a $b $c $d", "end")
        # cases 0, 1 and 2 each change t differently and leave through $d; case 3 leaves t alone
        for last in (False, False, True):
            self.emit("local.get $t", self.const64(), rng.choice(_I64_BINOPS), "local.set $t")
            self.emit("end" if last else "br $d\nend")
        self.emit("local.get $t")

    def body_i32(self) -> None:
        rng = self.rng
        self.emit("local.get $x", "i32.wrap_i64", "local.set $i")
        for _ in range(rng.randrange(3, 8)):
            if rng.random() < 0.3:
                self.emit("local.get $i", rng.choice(_I32_UNOPS), "local.get $i", "i32.add", "local.set $i")
            else:
                self.emit("local.get $i", "local.get $y" if rng.random() < 0.5 else
                          f"i32.const {rng.randrange(-(1 << 31), 1 << 31)}",
                          rng.choice(_I32_BINOPS), "local.set $i")
        self.emit("local.get $i", "i64.extend_i32_s", "local.get $x", "i64.const 32", "i64.rotl", "i64.xor")

    def body_calls(self, k: int) -> None:
        rng = self.rng
        callees = self.level_range(self.level_of(k) - 1)
        self.emit("local.get $x", self.const64(), rng.choice(_I64_BINOPS),
                  "local.get $y", f"i32.const {rng.randrange(1, 1000)}", "i32.add",
                  f"call $f{rng.choice(callees)}", "local.set $t")
        if rng.random() < 0.6:
            self.emit("local.get $t", "local.get $y", f"i32.const {rng.randrange(1, 1 << 16)}", "i32.xor",
                      f"call $f{rng.choice(callees)}", "local.get $t", rng.choice(_I64_BINOPS),
                      "local.set $t")
        self.emit("local.get $t", "local.get $x", "i64.add")

    def function(self, k: int) -> None:
        kinds = ["arith", "loop", "memory", "float", "branch", "i32"]
        if self.level_of(k) > 0:
            kinds += ["calls", "calls", "calls"]
        kind = self.rng.choice(kinds)
        self.out.append(f"  (func $f{k} (type $fn) (param $x i64) (param $y i32) (result i64)")
        self.out.append("    (local $t i64) (local $i i32) (local $f f64)")
        if kind == "calls":
            self.body_calls(k)
        else:
            getattr(self, "body_" + kind)()
        self.out[-1] += ")"
        self.out.append("")

    # -- fixed parts ----------------------------------------------------------------------

    def drivers(self) -> int:
        """Driver functions: each calls a chunk of the generated functions in turn."""
        count = 0
        for start in range(0, self.spec.functions, DRIVER_CHUNK):
            self.out.append(f"  (func $drive{count} (param $acc i64) (param $r i32) (result i64)")
            for k in range(start, min(start + DRIVER_CHUNK, self.spec.functions)):
                self.emit("local.get $acc", "local.get $r", f"i32.const {k}", "i32.add",
                          f"call $f{k}", "local.set $acc")
            self.emit("local.get $acc)")
            self.out.append("")
            count += 1
        return count

    def module(self) -> str:
        n = self.spec.functions
        head = [
            ";; Generated by benchmarks/gen_large.py "
            f"(functions={n}, levels={self.spec.levels}, seed={self.spec.seed:#x}); do not edit.",
            "(module",
            "  (type $fn (func (param i64 i32) (result i64)))",
            "  (memory 1)",
            f"  (table {n} funcref)",
            "  (elem (i32.const 0) " + " ".join(f"$f{k}" for k in range(n)) + ")",
            "",
        ]
        self.out.extend(head)
        for k in range(n):
            self.function(k)
        drivers = self.drivers()
        self.out.append(_FIXED.format(scratch=SCRATCH, crc_table=CRC_TABLE, last_slot=SCRATCH - 8,
                                      count=n))
        self.out.append("  (func (export \"run\") (param $n i32) (result i64)")
        self.out.append("    (local $acc i64) (local $r i32)")
        self.emit("call $setup", "block $done", "local.get $n", "i32.eqz", "br_if $done", "loop $round")
        for d in range(drivers):
            self.emit("local.get $acc", "local.get $r", f"call $drive{d}", "local.set $acc")
        self.emit("local.get $acc", "local.get $r", "call $indirect", "local.set $acc",
                  "local.get $r", "i32.const 1", "i32.add", "local.tee $r", "local.get $n", "i32.lt_u",
                  "br_if $round", "end", "end",
                  "local.get $acc", "call $checksum", "i64.xor))")
        return "\n".join(self.out) + "\n"


_FIXED = """\
  ;; Fill the scratch area from an LCG and build the CRC-32 table, so every run starts alike.
  (func $setup
    (local $i i32) (local $s i64) (local $c i32) (local $k i32)
    i64.const 0x853C49E6748FEA9B
    local.set $s
    loop $fill
      local.get $s
      i64.const 6364136223846793005
      i64.mul
      i64.const 1442695040888963407
      i64.add
      local.set $s
      local.get $i
      local.get $s
      i64.store
      local.get $i
      i32.const 8
      i32.add
      local.tee $i
      i32.const {scratch}
      i32.lt_u
      br_if $fill
    end
    i32.const 0
    local.set $i
    loop $entry
      local.get $i
      local.set $c
      i32.const 8
      local.set $k
      loop $bit
        local.get $c
        i32.const 1
        i32.shr_u
        i32.const 0xEDB88320
        i32.const 0
        local.get $c
        i32.const 1
        i32.and
        select
        i32.xor
        local.set $c
        local.get $k
        i32.const 1
        i32.sub
        local.tee $k
        br_if $bit
      end
      local.get $i
      i32.const 2
      i32.shl
      local.get $c
      i32.store offset={crc_table}
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 256
      i32.lt_u
      br_if $entry
    end)

  ;; CRC-32 (IEEE, reflected) of len bytes at ptr, table driven.
  (func $crc32 (param $ptr i32) (param $len i32) (result i32)
    (local $c i32) (local $end i32)
    i32.const -1
    local.set $c
    local.get $ptr
    local.get $len
    i32.add
    local.set $end
    block $done
      local.get $len
      i32.eqz
      br_if $done
      loop $byte
        local.get $c
        i32.const 8
        i32.shr_u
        local.get $c
        local.get $ptr
        i32.load8_u
        i32.xor
        i32.const 0xFF
        i32.and
        i32.const 2
        i32.shl
        i32.load offset={crc_table}
        i32.xor
        local.set $c
        local.get $ptr
        i32.const 1
        i32.add
        local.tee $ptr
        local.get $end
        i32.lt_u
        br_if $byte
      end
    end
    local.get $c
    i32.const -1
    i32.xor)

  ;; Adler-32 of len bytes at ptr (modulo reduction every byte: simple, not fast).
  (func $adler32 (param $ptr i32) (param $len i32) (result i32)
    (local $a i32) (local $b i32) (local $end i32)
    i32.const 1
    local.set $a
    local.get $ptr
    local.get $len
    i32.add
    local.set $end
    block $done
      local.get $len
      i32.eqz
      br_if $done
      loop $byte
        local.get $a
        local.get $ptr
        i32.load8_u
        i32.add
        i32.const 65521
        i32.rem_u
        local.tee $a
        local.get $b
        i32.add
        i32.const 65521
        i32.rem_u
        local.set $b
        local.get $ptr
        i32.const 1
        i32.add
        local.tee $ptr
        local.get $end
        i32.lt_u
        br_if $byte
      end
    end
    local.get $b
    i32.const 16
    i32.shl
    local.get $a
    i32.or)

  ;; FNV-1a (64-bit) of len bytes at ptr.
  (func $fnv1a64 (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $end i32)
    i64.const 0xCBF29CE484222325
    local.set $h
    local.get $ptr
    local.get $len
    i32.add
    local.set $end
    block $done
      local.get $len
      i32.eqz
      br_if $done
      loop $byte
        local.get $h
        local.get $ptr
        i64.load8_u
        i64.xor
        i64.const 0x100000001B3
        i64.mul
        local.set $h
        local.get $ptr
        i32.const 1
        i32.add
        local.tee $ptr
        local.get $end
        i32.lt_u
        br_if $byte
      end
    end
    local.get $h)

  ;; Every generated function once more, through the table.
  (func $indirect (param $acc i64) (param $r i32) (result i64)
    (local $k i32)
    loop $each
      local.get $acc
      local.get $r
      local.get $k
      i32.xor
      local.get $k
      call_indirect (type $fn)
      local.set $acc
      local.get $k
      i32.const 1
      i32.add
      local.tee $k
      i32.const {count}
      i32.lt_u
      br_if $each
    end
    local.get $acc)

  ;; The scratch area's CRC-32, Adler-32 and FNV-1a, mixed into one i64.
  (func $checksum (result i64)
    i32.const 0
    i32.const {scratch}
    call $crc32
    i64.extend_i32_u
    i64.const 32
    i64.shl
    i32.const 0
    i32.const {scratch}
    call $adler32
    i64.extend_i32_u
    i64.or
    i32.const 0
    i32.const {scratch}
    call $fnv1a64
    i64.const 17
    i64.rotl
    i64.xor)
"""


def generate(spec: LargeSpec | None = None) -> str:
    """The large program's WAT text for `spec` (the same text every time for the same spec)."""
    return _Gen(spec or LargeSpec()).module()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gen_large", description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", help="write here instead of standard output")
    p.add_argument("--functions", type=int, help="generated functions (default 320)")
    p.add_argument("--seed", type=lambda s: int(s, 0), help="random seed")
    args = p.parse_args(argv)
    spec = LargeSpec() if args.functions is None else LargeSpec(functions=args.functions)
    if args.seed is not None:
        spec = LargeSpec(functions=spec.functions, levels=spec.levels, seed=args.seed)
    text = generate(spec)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
