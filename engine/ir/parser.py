"""The IR's text form, parsing side. Grammar (one item per line; `;` starts a comment):

    function [INDEX] "NAME"(TYPE, ...) -> (TYPE, ...) [catches] {
    blockN[(vK:TYPE, ...)]:
        [vR:TYPE, ... =] OPCODE [IMMEDIATE-TOKENS] [vA, vB, ...]
        jump blockN[(args)]
        brif vC, blockN[(args)], blockM[(args)]
        br_table vI, [blockN[(args)], ...], blockD[(args)]
        return [vA, ...]
        trap TRAPCODE
    }

Immediate tokens per ImmKind (see printer.format_imm): iconst 42 / -1 / 0xff, fconst 0x3f800000,
icmp slt, fcmp uno, trapz integer_overflow, heap_check mem0 offset=16 size=4, load mem0 offset=16,
memory_size mem0, global_get g3, table_get table0, call fn5, call_indirect type2 table0,
data_drop data1, elem_drop elem1, memory_init data1 mem0, table_init elem1 table0,
memory_copy mem0 mem0, table_copy table0 table1; SIMD: v128.const 0x<32 hex digits>,
i8x16.extract_lane_s lane=3, i8x16.shuffle 0.16.1.17.2.18.3.19.4.20.5.21.6.22.7.23,
v128.load8_lane mem0 offset=16 lane=3.
Block ids must be dense and in order (block0, block1, ...), as Function requires.
"""

from __future__ import annotations

import json
import re

from ..errors import TrapCode
from .errors import IRParseError
from .ir import (BITS, Block, BlockCall, CallIndirectImm, CopyImm, FieldImm, FloatCC, Function,
                 HeapImm, I32, ImmKind, Inst, IntCC, MemImm, MemLaneImm, OPCODE_BY_NAME, Opcode,
                 SegmentImm, TYPE_BY_NAME, ValType)

_FUNC_RE = re.compile(r'^function\s+(?:(\d+)\s+)?("(?:[^"\\]|\\.)*")\s*\((.*?)\)\s*->\s*\((.*?)\)\s*(catches\s*)?\{$')
_BLOCK_RE = re.compile(r"^block(\d+)\s*(?:\((.*)\))?\s*:$")
_TYPED_RE = re.compile(r"^v(\d+)\s*:\s*([a-z0-9]+)$")
_VALUE_RE = re.compile(r"^v(\d+)$")
_VALUE_LIST_RE = re.compile(r"^\s*v\d+\s*:\s*\w+\s*(,\s*v\d+\s*:\s*\w+\s*)*$")
_BLOCKCALL_RE = re.compile(r"block(\d+)(?:\(([^()]*)\))?")
_TRAPS = {c.name.lower(): c for c in TrapCode}
_INTCC = {c.value: c for c in IntCC}
_FLOATCC = {c.value: c for c in FloatCC}

#: how many whitespace-separated immediate tokens each kind takes
_IMM_TOKENS = {
    ImmKind.NONE: 0, ImmKind.INT: 1, ImmKind.BITS: 1, ImmKind.INTCC: 1, ImmKind.FLOATCC: 1,
    ImmKind.TRAP: 1, ImmKind.HEAP: 3, ImmKind.MEM: 2, ImmKind.MEMORY: 1, ImmKind.GLOBAL: 1,
    ImmKind.TABLE: 1, ImmKind.FUNC: 1, ImmKind.DATA: 1, ImmKind.ELEM: 1, ImmKind.TYPE: 1,
    ImmKind.CALL_INDIRECT: 2, ImmKind.MEMORY_INIT: 2, ImmKind.TABLE_INIT: 2,
    ImmKind.MEMORY_COPY: 2, ImmKind.TABLE_COPY: 2, ImmKind.LANE: 1, ImmKind.SHUFFLE: 1,
    ImmKind.MEM_LANE: 3, ImmKind.TAG: 1, ImmKind.FIELD: 2,
}


def _strip_comment(line: str) -> str:
    """The line without its `;` comment (a `;` inside a quoted function name is kept)."""
    if ";" not in line:
        return line
    quoted = escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return line[:i]
    return line


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.lineno = 0

    def error(self, message: str) -> IRParseError:
        return IRParseError(message, self.lineno)

    # -- small pieces ---------------------------------------------------------------------------

    def type_(self, text: str) -> ValType:
        t = TYPE_BY_NAME.get(text.strip())
        if t is None:
            raise self.error(f"unknown type {text.strip()!r}")
        return t

    def value(self, text: str) -> int:
        m = _VALUE_RE.match(text.strip())
        if not m:
            raise self.error(f"expected a value like v3, got {text.strip()!r}")
        return int(m.group(1))

    def values(self, text: str) -> list[int]:
        text = text.strip()
        if not text:
            return []
        return [self.value(t) for t in text.split(",")]

    def define(self, func: Function, defined: set[int], text: str) -> int:
        m = _TYPED_RE.match(text.strip())
        if not m:
            raise self.error(f"expected a typed value like v3:i32, got {text.strip()!r}")
        v = int(m.group(1))
        if v in defined:
            raise self.error(f"value v{v} is defined twice")
        defined.add(v)
        vt = func.value_types
        if v >= len(vt):
            vt.extend([I32] * (v + 1 - len(vt)))
        vt[v] = self.type_(m.group(2))
        return v

    def number(self, text: str, what: str) -> int:
        try:
            return int(text, 0)
        except ValueError:
            raise self.error(f"expected {what}, got {text!r}") from None

    def prefixed(self, token: str, prefix: str) -> int:
        if not token.startswith(prefix) or not token[len(prefix):].isdigit():
            raise self.error(f"expected {prefix}N, got {token!r}")
        return int(token[len(prefix):])

    def keyed(self, token: str, key: str) -> int:
        if not token.startswith(key + "="):
            raise self.error(f"expected {key}=N, got {token!r}")
        return self.number(token[len(key) + 1:], key)

    def imm(self, kind: ImmKind, toks: list[str], bits: int) -> object:
        k = kind
        if k is ImmKind.INT:
            v = self.number(toks[0], "an integer")
            if not -(1 << (bits - 1)) <= v < (1 << bits):
                raise self.error(f"integer {toks[0]} does not fit {bits} bits")
            return v & ((1 << bits) - 1)
        if k is ImmKind.BITS:
            v = self.number(toks[0], "raw float bits")
            if not 0 <= v < (1 << bits):
                raise self.error(f"float bits {toks[0]} do not fit {bits} bits")
            return v
        if k is ImmKind.INTCC or k is ImmKind.FLOATCC:
            table = _INTCC if k is ImmKind.INTCC else _FLOATCC
            if toks[0] not in table:
                raise self.error(f"unknown condition {toks[0]!r}")
            return table[toks[0]]
        if k is ImmKind.TRAP:
            if toks[0] not in _TRAPS:
                raise self.error(f"unknown trap code {toks[0]!r}")
            return _TRAPS[toks[0]]
        if k is ImmKind.HEAP:
            return HeapImm(self.prefixed(toks[0], "mem"), self.keyed(toks[1], "offset"),
                           self.keyed(toks[2], "size"))
        if k is ImmKind.MEM:
            return MemImm(self.prefixed(toks[0], "mem"), self.keyed(toks[1], "offset"))
        single = {ImmKind.MEMORY: "mem", ImmKind.GLOBAL: "g", ImmKind.TABLE: "table",
                  ImmKind.FUNC: "fn", ImmKind.DATA: "data", ImmKind.ELEM: "elem",
                  ImmKind.TYPE: "type", ImmKind.TAG: "tag"}
        if k in single:
            return self.prefixed(toks[0], single[k])
        if k is ImmKind.CALL_INDIRECT:
            return CallIndirectImm(self.prefixed(toks[0], "type"), self.prefixed(toks[1], "table"))
        if k is ImmKind.MEMORY_INIT:
            return SegmentImm(self.prefixed(toks[0], "data"), self.prefixed(toks[1], "mem"))
        if k is ImmKind.TABLE_INIT:
            return SegmentImm(self.prefixed(toks[0], "elem"), self.prefixed(toks[1], "table"))
        if k is ImmKind.MEMORY_COPY:
            return CopyImm(self.prefixed(toks[0], "mem"), self.prefixed(toks[1], "mem"))
        if k is ImmKind.TABLE_COPY:
            return CopyImm(self.prefixed(toks[0], "table"), self.prefixed(toks[1], "table"))
        if k is ImmKind.LANE:
            return self.keyed(toks[0], "lane")
        if k is ImmKind.SHUFFLE:
            parts = toks[0].split(".")
            if len(parts) != 16 or not all(p.isdigit() for p in parts):
                raise self.error(f"expected 16 dot-separated lane indices, got {toks[0]!r}")
            return tuple(int(p) for p in parts)
        if k is ImmKind.MEM_LANE:
            return MemLaneImm(self.prefixed(toks[0], "mem"), self.keyed(toks[1], "offset"),
                              self.keyed(toks[2], "lane"))
        if k is ImmKind.FIELD:
            return FieldImm(self.keyed(toks[0], "field"), self.keyed(toks[1], "offset"))
        raise AssertionError(k)

    def blockcalls(self, text: str) -> list[BlockCall]:
        """Parse a comma-separated list of block calls (the whole text must be consumed)."""
        out = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _BLOCKCALL_RE.match(text, pos)
            if not m:
                raise self.error(f"expected a block call like block2(v1), got {text[pos:]!r}")
            out.append(BlockCall(int(m.group(1)), self.values(m.group(2) or "")))
            pos = m.end()
            rest = text[pos:].lstrip()
            if rest.startswith(","):
                rest = rest[1:].lstrip()
                if not rest:
                    raise self.error("trailing comma")
            elif rest:
                raise self.error(f"unexpected text {rest!r} after a block call")
            pos = len(text) - len(rest)
        return out

    # -- instructions ---------------------------------------------------------------------------

    def inst(self, func: Function, defined: set[int], line: str) -> Inst:
        results: list[int] = []
        lhs, eq, rhs = line.partition("=")
        if eq and _VALUE_LIST_RE.match(lhs):
            results = [self.define(func, defined, r) for r in lhs.split(",")]
            line = rhs.strip()
        name, _, rest = line.partition(" ")
        op = OPCODE_BY_NAME.get(name)
        if op is None:
            raise self.error(f"unknown opcode {name!r}")
        rest = rest.strip()
        if op is Opcode.JUMP:
            targets = self.blockcalls(rest)
            if len(targets) != 1:
                raise self.error("jump takes one block call")
            return Inst(op, [], results, None, targets)
        if op is Opcode.BRIF:
            cond, comma, tail = rest.partition(",")
            if not comma:
                raise self.error("brif takes a condition and two block calls")
            targets = self.blockcalls(tail)
            if len(targets) != 2:
                raise self.error("brif takes two block calls")
            return Inst(op, [self.value(cond)], results, None, targets)
        if op is Opcode.BR_TABLE:
            m = re.match(r"^(v\d+)\s*,\s*\[(.*)\]\s*,\s*(.*)$", rest)
            if not m:
                raise self.error("br_table takes vI, [block calls], default block call")
            cases = self.blockcalls(m.group(2))
            default = self.blockcalls(m.group(3))
            if len(default) != 1:
                raise self.error("br_table takes one default block call")
            return Inst(op, [self.value(m.group(1))], results, None, cases + default)
        kind = op.info.imm
        toks = rest.replace(",", " ").split()
        n = _IMM_TOKENS[kind]
        if len(toks) < n:
            raise self.error(f"{name} needs {n} immediate token(s)")
        imm = None
        if n:
            bits = BITS.get(func.value_types[results[0]], 64) if results else 64
            imm = self.imm(kind, toks[:n], bits)
        args = [self.value(t) for t in toks[n:]]
        return Inst(op, args, results, imm, None)

    # -- functions ------------------------------------------------------------------------------

    def next_line(self) -> str | None:
        while self.lineno < len(self.lines):
            line = self.lines[self.lineno]
            self.lineno += 1
            line = _strip_comment(line).strip()
            if line:
                return line
        return None

    def function(self, head: str) -> Function:
        m = _FUNC_RE.match(head)
        if not m:
            raise self.error('expected `function [INDEX] "NAME"(TYPES) -> (TYPES) {`')
        try:
            name = json.loads(m.group(2))
        except ValueError:
            raise self.error("bad function name string") from None
        params = [self.type_(t) for t in m.group(3).split(",")] if m.group(3).strip() else []
        results = [self.type_(t) for t in m.group(4).split(",")] if m.group(4).strip() else []
        func = Function(name, params, results, index=int(m.group(1)) if m.group(1) else -1,
                        catches=bool(m.group(5)))
        defined: set[int] = set()
        block: Block | None = None
        while True:
            line = self.next_line()
            if line is None:
                raise self.error("missing `}` at the end of the function")
            if line == "}":
                break
            bm = _BLOCK_RE.match(line)
            if bm:
                bid = int(bm.group(1))
                if bid != len(func.blocks):
                    raise self.error(f"block{bid} out of order: expected block{len(func.blocks)}")
                block = Block(bid)
                if bm.group(2) and bm.group(2).strip():
                    block.params = [self.define(func, defined, p) for p in bm.group(2).split(",")]
                func.blocks.append(block)
                continue
            if block is None:
                raise self.error("instruction outside of a block")
            block.insts.append(self.inst(func, defined, line))
        if not func.blocks:
            raise self.error(f"function {name!r} has no blocks")
        return func


def parse_functions(text: str) -> list[Function]:
    """Every function in `text`."""
    p = _Parser(text)
    funcs = []
    while True:
        line = p.next_line()
        if line is None:
            return funcs
        funcs.append(p.function(line))


def parse_function(text: str) -> Function:
    """The one function in `text`."""
    funcs = parse_functions(text)
    if len(funcs) != 1:
        raise IRParseError(f"expected exactly one function, found {len(funcs)}")
    return funcs[0]
