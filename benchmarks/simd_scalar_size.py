"""Code size of the scalar SIMD legalisation (backends/simd_scalar) on riscv64: each SIMD opcode
alone in a function, legalised and compiled; its size is the function's bytes minus those of a
function of the same signature that only returns zeros (prologue, parameter and result moves),
and the count of scalar IR instructions it became. `python -m benchmarks.simd_scalar_size`
prints one line per opcode group (min / median / max bytes and the largest opcode), `--all`
every opcode."""

from __future__ import annotations

import argparse
import statistics

from backends.riscv64 import RiscV64Backend
from backends.simd_scalar import legalise_function
from engine.environ.module_info import ModuleInfo
from engine.environ.vmctx import VMOffsets
from engine.ir.ir import F32, F64, I32, I64, SIMD_OPS, V128, Function, HeapImm, ImmKind, Inst, \
    MemImm, MemLaneImm, Opcode
from engine.ir.simd import ACCESS_SIZE, SIGNATURES, SIMD_MEMORY

O = Opcode

#: (group, test on the mnemonic), first match wins
GROUPS = [
    ("memory", lambda n: n.startswith(("v128.load", "v128.store"))),
    ("bitwise", lambda n: n.startswith("v128.")),
    ("lanes", lambda n: any(k in n for k in ("splat", "extract_lane", "replace_lane",
                                               "shuffle", "swizzle"))),
    ("conversions", lambda n: any(k in n for k in ("trunc_sat", "convert", "demote",
                                                     "promote"))),
    ("float arith", lambda n: n[0] == "f" and n.split(".")[1] in (
        "add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc", "nearest")),
    ("float compare", lambda n: n[0] == "f" and n.split(".")[1] in (
        "eq", "ne", "lt", "gt", "le", "ge")),
    ("float bits", lambda n: n[0] == "f"),
    ("int compare", lambda n: n.split(".")[1].split("_")[0] in (
        "eq", "ne", "lt", "gt", "le", "ge")),
    ("int add/sub/neg/mul", lambda n: n.split(".")[1] in ("add", "sub", "neg", "mul")),
    ("int min/max/abs/avgr/sat", lambda n: n.split(".")[1].split("_")[0] in (
        "min", "max", "abs", "avgr", "add", "sub")),
    ("shifts", lambda n: n.split(".")[1] in ("shl", "shr_s", "shr_u")),
    ("lane tests, popcnt", lambda n: n.split(".")[1] in ("all_true", "bitmask", "popcnt")),
    ("widen/narrow/dot/q15", lambda n: True),
]


def group_of(op: Opcode) -> str:
    return next(g for g, test in GROUPS if test(op.value))


def sample_imm(op: Opcode) -> object:
    """A representative immediate (lane 1, a mixing shuffle, offset 16)."""
    kind = op.info.imm
    if kind is ImmKind.LANE:
        return 1
    if kind is ImmKind.SHUFFLE:
        return (0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31)
    if kind is ImmKind.MEM:
        return MemImm(0, 16)
    if kind is ImmKind.MEM_LANE:
        return MemLaneImm(0, 16, 1)
    if kind is ImmKind.BITS:
        return 0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210
    return None


def single_instruction(op: Opcode, imm: object, body: bool = True) -> Function:
    """A function of one `op` instruction: its operands are the parameters, its result the
    result (memory forms: operand 0 is the address, behind their heap_check). Without `body`,
    the function of the same signature that returns zeros."""
    params, results = SIGNATURES[op]
    f = Function("t", list(params), list(results), index=0)
    b = f.new_block()
    b.params = [f.new_value(t) for t in params]
    rs = [f.new_value(t) for t in results]
    if not body:
        for r, t in zip(rs, results):
            zero = {V128: (O.V128_CONST, 0), I32: (O.ICONST, 0), I64: (O.ICONST, 0),
                    F32: (O.FCONST, 0), F64: (O.FCONST, 0)}[t]
            b.insts.append(Inst(zero[0], [], [r], zero[1]))
    else:
        if op in SIMD_MEMORY:
            b.insts.append(Inst(O.HEAP_CHECK, [b.params[0]], [],
                                HeapImm(imm.memory, imm.offset, ACCESS_SIZE[op])))  # type: ignore
        b.insts.append(Inst(op, list(b.params), rs, imm))
    b.insts.append(Inst(O.RETURN, rs))
    return f


def _bytes(f: Function) -> int:
    info = ModuleInfo(VMOffsets(num_memories=1, num_globals=0, num_tables=0,
                                num_imported_funcs=0, num_types=1),
                      [(tuple(f.params), tuple(f.results))], 0)
    code = RiscV64Backend().compile_module([f], info)
    return code.symbols["__trap"] - code.symbols["func0"]


def measure(op: Opcode) -> tuple[int, int]:
    """(machine code bytes, scalar IR instructions) of one `op`."""
    imm = sample_imm(op)
    legal = legalise_function(single_instruction(op, imm))
    base = _bytes(single_instruction(op, imm, body=False))
    insts = sum(len(b.insts) for b in legal.blocks) - 1
    return _bytes(single_instruction(op, imm)) - base, insts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--all", action="store_true", help="one line per opcode")
    args = ap.parse_args(argv)
    rows = {op: measure(op) for op in sorted(SIMD_OPS, key=lambda o: o.value)}
    if args.all:
        for op, (nbytes, insts) in rows.items():
            print(f"{op.value:34} {nbytes:6} bytes {insts:5} IR insts")
        return
    print(f"{'group':26} {'ops':>4} {'min':>6} {'median':>7} {'max':>6}  largest")
    for g, _ in GROUPS:
        ops = [op for op in rows if group_of(op) == g]
        sizes = [rows[op][0] for op in ops]
        big = max(ops, key=lambda op: rows[op][0])
        print(f"{g:26} {len(ops):4} {min(sizes):6} {statistics.median(sizes):7.0f} "
              f"{max(sizes):6}  {big.value} ({rows[big][1]} IR insts)")
    total = sum(r[0] for r in rows.values())
    print(f"{'all':26} {len(rows):4} total {total} bytes, mean {total / len(rows):.0f}")


if __name__ == "__main__":
    main()
