"""The IR's text form, printing side (see parser.py for the grammar; the two round-trip)."""

from __future__ import annotations

import json

from .ir import (BITS, Block, BlockCall, Function, ImmKind, Inst, Opcode, TYPE_NAMES)


def format_imm(kind: ImmKind, imm: object, bits: int = 64) -> str:
    """The text of an immediate (empty for ImmKind.NONE). `bits` is iconst's result width."""
    k = kind
    if k is ImmKind.NONE:
        return ""
    if k is ImmKind.INT:
        v = int(imm)  # type: ignore[arg-type]
        if v >= 1 << (bits - 1):
            v -= 1 << bits
        return str(v)
    if k is ImmKind.BITS:
        return f"0x{int(imm):0{bits // 4}x}"  # type: ignore[arg-type]
    if k is ImmKind.INTCC or k is ImmKind.FLOATCC:
        return imm.value  # type: ignore[union-attr]
    if k is ImmKind.TRAP:
        return imm.name.lower()  # type: ignore[union-attr]
    if k is ImmKind.HEAP:
        return f"mem{imm.memory} offset={imm.offset} size={imm.size}"  # type: ignore[union-attr]
    if k is ImmKind.MEM:
        return f"mem{imm.memory} offset={imm.offset}"  # type: ignore[union-attr]
    if k is ImmKind.MEMORY:
        return f"mem{imm}"
    if k is ImmKind.GLOBAL:
        return f"g{imm}"
    if k is ImmKind.TABLE:
        return f"table{imm}"
    if k is ImmKind.FUNC:
        return f"fn{imm}"
    if k is ImmKind.DATA:
        return f"data{imm}"
    if k is ImmKind.TYPE:
        return f"type{imm}"
    if k is ImmKind.ELEM:
        return f"elem{imm}"
    if k is ImmKind.CALL_INDIRECT:
        return f"type{imm.type_index} table{imm.table}"  # type: ignore[union-attr]
    if k is ImmKind.MEMORY_INIT:
        return f"data{imm.segment} mem{imm.target}"  # type: ignore[union-attr]
    if k is ImmKind.TABLE_INIT:
        return f"elem{imm.segment} table{imm.target}"  # type: ignore[union-attr]
    if k is ImmKind.MEMORY_COPY:
        return f"mem{imm.dst} mem{imm.src}"  # type: ignore[union-attr]
    if k is ImmKind.TABLE_COPY:
        return f"table{imm.dst} table{imm.src}"  # type: ignore[union-attr]
    if k is ImmKind.LANE:
        return f"lane={imm}"
    if k is ImmKind.SHUFFLE:
        return ".".join(map(str, imm))  # type: ignore[call-overload]
    if k is ImmKind.MEM_LANE:
        return f"mem{imm.memory} offset={imm.offset} lane={imm.lane}"  # type: ignore[union-attr]
    if k is ImmKind.TAG:
        return f"tag{imm}"
    if k is ImmKind.FIELD:
        return f"field={imm.index} offset={imm.offset}"  # type: ignore[union-attr]
    raise AssertionError(k)


def _vals(vs: list[int]) -> str:
    return ", ".join(f"v{v}" for v in vs)


def format_blockcall(bc: BlockCall) -> str:
    return f"block{bc.block}({_vals(bc.args)})" if bc.args else f"block{bc.block}"


def format_inst(func: Function, inst: Inst) -> str:
    """One instruction, without indentation."""
    op = inst.opcode
    vt = func.value_types
    parts = []
    if inst.results:
        parts.append(", ".join(f"v{r}:{TYPE_NAMES[vt[r]]}" for r in inst.results) + " =")
    parts.append(op.value)
    if op is Opcode.JUMP:
        parts.append(format_blockcall(inst.targets[0]))  # type: ignore[index]
        return " ".join(parts)
    if op is Opcode.BRIF:
        t = inst.targets
        parts.append(f"v{inst.args[0]}, {format_blockcall(t[0])}, "  # type: ignore[index]
                     f"{format_blockcall(t[1])}")  # type: ignore[index]
        return " ".join(parts)
    if op is Opcode.BR_TABLE:
        t = inst.targets
        cases = ", ".join(format_blockcall(bc) for bc in t[:-1])  # type: ignore[index]
        parts.append(f"v{inst.args[0]}, [{cases}], {format_blockcall(t[-1])}")  # type: ignore[index]
        return " ".join(parts)
    kind = op.info.imm
    if kind is not ImmKind.NONE:
        bits = BITS.get(vt[inst.results[0]], 64) if inst.results else 64
        parts.append(format_imm(kind, inst.imm, bits))
    if inst.args:
        parts.append(_vals(inst.args))
    return " ".join(parts)


def format_block_header(func: Function, block: Block) -> str:
    if not block.params:
        return f"block{block.id}:"
    vt = func.value_types
    params = ", ".join(f"v{p}:{TYPE_NAMES[vt[p]]}" for p in block.params)
    return f"block{block.id}({params}):"


def format_signature(func: Function) -> str:
    params = ", ".join(TYPE_NAMES[t] for t in func.params)
    results = ", ".join(TYPE_NAMES[t] for t in func.results)
    return f"({params}) -> ({results})"


def print_function(func: Function) -> str:
    """The whole function as text, ending with a newline."""
    head = "function "
    if func.index >= 0:
        head += f"{func.index} "
    catches = " catches" if func.catches else ""
    lines = [f"{head}{json.dumps(func.name)}{format_signature(func)}{catches} {{"]
    for block in func.blocks:
        lines.append(format_block_header(func, block))
        for inst in block.insts:
            lines.append("    " + format_inst(func, inst))
    lines.append("}")
    return "\n".join(lines) + "\n"


def print_functions(funcs: list[Function]) -> str:
    return "\n".join(print_function(f) for f in funcs)
