"""The IR interpreter's translation of the SIMD opcodes: each becomes a call of its function in
engine.ir.simd_numerics (memory forms read or write the bytes around it)."""

from __future__ import annotations

from typing import Any, Callable

from ..ir.ir import ImmKind, Inst, Opcode
from ..ir.simd import ACCESS_SIZE, SIMD_LOADS
from ..ir.simd_numerics import LOAD_FUNCS, SIMD_FUNCS

O = Opcode


def _name(op: Opcode) -> str:
    return "_s_" + op.value.replace(".", "_")


def _load_bytes(buf: Any, addr: int, size: int) -> int:
    return int.from_bytes(buf[addr:addr + size], "little")


def _store_bytes(buf: Any, addr: int, value: int, size: int) -> None:
    buf[addr:addr + size] = value.to_bytes(size, "little")


def namespace() -> dict[str, Any]:
    """What the generated code of SIMD instructions calls, by name."""
    ns: dict[str, Any] = {_name(op): fn for op, fn in SIMD_FUNCS.items()}
    ns.update({_name(op): fn for op, fn in LOAD_FUNCS.items()})
    ns.update(_ldv=_load_bytes, _stv=_store_bytes)
    return ns


def translate(inst: Inst, a: list[str], r: str | None, use_memory: Callable[[int], None],
              emit: Callable[[str], None]) -> None:
    """The Python statement of one SIMD instruction (operand expressions `a`, result name
    `r`); `use_memory(index)` makes memory `index` available as ``mem<index>``."""
    op = inst.opcode
    imm = inst.imm
    kind = op.info.imm
    if op is O.V128_CONST:
        emit(f"{r} = {imm:#x}")
        return
    if op in ACCESS_SIZE:
        use_memory(imm.memory)  # type: ignore[union-attr]
        size = ACCESS_SIZE[op]
        buf = f"mem{imm.memory}.buf"  # type: ignore[union-attr]
        addr = f"{a[0]} + {imm.offset}" if imm.offset else a[0]  # type: ignore[union-attr]
        if op in SIMD_LOADS:
            raw = f"_ldv({buf}, {addr}, {size})"
            if kind is ImmKind.MEM_LANE:
                emit(f"{r} = {_name(op)}({raw}, {a[1]}, {imm.lane})")  # type: ignore[union-attr]
            else:
                emit(f"{r} = {_name(op)}({raw})")
        elif op is O.V128_STORE:
            emit(f"_stv({buf}, {addr}, {a[1]}, 16)")
        else:
            bits = size * 8
            lane = f"({a[1]} >> {imm.lane * bits}) & {(1 << bits) - 1:#x}"  # type: ignore
            emit(f"_stv({buf}, {addr}, {lane}, {size})")
        return
    args = list(a)
    if kind is ImmKind.LANE or kind is ImmKind.SHUFFLE:
        args.append(repr(imm))
    emit(f"{r} = {_name(op)}({', '.join(args)})")
