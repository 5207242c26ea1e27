"""The riscv64 assembler: GNU-syntax RV64IMFD + Zicsr (+ fence.i) text -> machine code.

``assemble(text, base)`` returns an ``Assembled``: the code bytes, the labels' offsets, and
relocation records for symbols the text does not define (their fields are left zero, the
addend is in the record); ``Assembled.link(addresses)`` applies them. ``AsmError`` (not a
WasmError: bad assembly is a compiler bug) names the line of anything it cannot encode.

Syntax is GNU as's: one statement per line (or ``;``-separated), ``label:``, numeric local
labels (``1:`` with ``1b``/``1f``), ``#`` comments, GNU expressions, ``%hi %lo %pcrel_hi
%pcrel_lo``. Every RV64IMFD/Zicsr/Zifencei instruction and the standard pseudo-instructions,
expanded as GNU as 2.40 expands them with ``-mno-relax`` (``li`` emits the same sequence;
``lw rd, sym`` / ``fld fd, sym, rt`` / ``sw rs, sym, rt`` load/store via auipc). Directives:
``.align .p2align .balign .byte .half .2byte .short .word .4byte .long .dword .8byte .quad
.zero .space .skip .equ .set`` (plus ``.text .globl .global .local .type .size .option
norvc|norelax|push|pop``, accepted and ignored). Code alignment pads with nops.

Jumps and branches to labels are relaxed: a conditional branch beyond +-4 KiB becomes the
inverted branch over ``jal zero``; beyond +-1 MiB (and for ``j``/``jal``) an ``auipc``+``jalr``
pair through ``t1`` (``jal rd`` uses ``rd``) -- so a far ``j``/branch clobbers t1, as ``tail``
does. A branch or jump to an undefined symbol always takes that long form, with a CALL
relocation. Numeric branch targets are byte offsets from the instruction (LLVM's convention)
and are not relaxed. Alignment is relative to the start of the code, so ``base`` should be
aligned at least as much as any ``.align`` in the text; pc-relative references make the code
position independent, while ``.dword label`` and ``%hi(label)`` use ``base``.

Differences from GNU as: ``.align 2``/``.balign 4`` pad to 4 bytes (GNU ignores code
alignments of 4 or less), and forward ``.equ`` references are not supported.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Callable, Mapping

from .asm_error import AsmError
from .asm_expr import Expr, Value, is_local_ref, parse_expr
from .asm_insns import HANDLERS
from .asm_isa import LONG_JUMP_SCRATCH, OP_AUIPC, OP_JAL, OP_JALR, b_offset_ok, hi_lo, imm_b, \
    imm_i, imm_j, j_offset_ok
from .asm_reloc import RelocKind, Relocation, apply_relocation

__all__ = ["AsmError", "Assembled", "RelocKind", "Relocation", "apply_relocation", "assemble"]

_PACK_I = struct.Struct("<I").pack
_NOP = _PACK_I(0x00000013)
_LABEL = re.compile(r"[A-Za-z_.$][\w.$]*|\d+")
_SYMBOL = re.compile(r"[A-Za-z_.$][\w.$]*")


@dataclass(slots=True, frozen=True, eq=False)
class Assembled:
    """Assembled code: ``code`` placed at ``base``; ``symbols`` maps each label to its offset
    from the start of ``code``; ``relocations`` patch references to undefined symbols (their
    fields in ``code`` are zero)."""

    code: bytes
    base: int
    symbols: Mapping[str, int]
    relocations: tuple[Relocation, ...] = ()

    def address(self, label: str) -> int:
        """Absolute address of ``label``."""
        return self.base + self.symbols[label]

    def link(self, resolve: Mapping[str, int] | Callable[[str], int]) -> bytes:
        """The code with every relocation applied, ``resolve`` giving each symbol's address
        (a mapping or a function). Raises AsmError for an unresolvable symbol or a value out of
        range; the code must be placed at ``base`` (absolute references to labels assume it)."""
        lookup = resolve.__getitem__ if isinstance(resolve, Mapping) else resolve
        code = bytearray(self.code)
        for reloc in self.relocations:
            try:
                address = lookup(reloc.symbol)
            except KeyError:
                raise AsmError(f"undefined symbol {reloc.symbol!r}") from None
            apply_relocation(code, self.base, reloc, address)
        return bytes(code)


# --------------------------------------------------------------------------- items


@dataclass(slots=True)
class _Align:
    """Padding to a power-of-two boundary (nops in code, or a fill byte)."""

    alignment: int
    fill: int | None
    max_skip: int | None
    size: int = 0

    def padding(self, offset: int) -> int:
        pad = -offset % self.alignment
        return 0 if self.max_skip is not None and pad > self.max_skip else pad

    def bytes(self) -> bytes:
        if self.fill is not None:
            return bytes([self.fill]) * self.size
        # As GNU as without relaxation: a zero byte if the padding is odd, then a 2-byte
        # c.nop if it is 2 mod 4, then nops (the short fills only ever follow data).
        excess = self.size % 4
        return b"\0" * (excess & 1) + b"\x01\x00" * (excess >> 1) + _NOP * (self.size // 4)


@dataclass(slots=True)
class _Jump:
    """A branch (``cond`` = its word without offset) or jal (``cond`` None) to ``target``.
    ``size`` grows 4 -> 8 -> 12 during relaxation; ``fixed`` ones (numeric targets) stay 4."""

    cond: int | None
    rd: int
    target: Value
    line: int
    size: int = 4
    external: str | None = None
    fixed: bool = False

    def needed(self, distance: int) -> int:
        if self.cond is not None:
            if b_offset_ok(distance):
                return 4
            return 8 if j_offset_ok(distance - 4) else 12
        return 4 if j_offset_ok(distance) else 8

    def encode(self, ctx: _Ctx, pc: int) -> bytes:
        addend = distance = 0
        if self.external is not None:
            addend = ctx.resolve(self.target, pc)[0]
        else:
            distance = ctx.const(self.target, pc) - (ctx.base + pc) \
                if isinstance(self.target, Expr) else self.target
        size, cond = self.size, self.cond
        if size == 4:
            if cond is not None:
                if not b_offset_ok(distance):
                    raise AsmError(f"branch offset {distance} out of range (-4096..4094, even)")
                return _PACK_I(cond | imm_b(distance))
            if not j_offset_ok(distance):
                raise AsmError(f"jump offset {distance} out of range (-1048576..1048574, even)")
            return _PACK_I(OP_JAL | self.rd << 7 | imm_j(distance))
        out = b""
        if cond is not None:  # inverted branch over the long jump
            out = _PACK_I((cond ^ 0x1000) | imm_b(size))
            pc += 4
            distance -= 4
            if size == 8:
                return out + _PACK_I(OP_JAL | imm_j(distance))
        rd = self.rd
        scratch = rd if rd else LONG_JUMP_SCRATCH
        if self.external is not None:
            ctx.reloc(RelocKind.CALL, pc, self.external, addend)
            hi = lo = 0
        else:
            hi, lo = hi_lo(distance)
        return out + _PACK_I(OP_AUIPC | scratch << 7 | hi << 12) \
            + _PACK_I(OP_JALR | rd << 7 | scratch << 15 | imm_i(lo))


@dataclass(slots=True)
class _Patch:
    """Bytes of a chunk computed after layout by ``fn(ctx, pc)``."""

    item: int
    pos: int
    size: int
    fn: Callable[[_Ctx, int], bytes]
    line: int


# --------------------------------------------------------------------------- resolution


class _Ctx:
    """What patches see after layout: label offsets, the relocation list, %pcrel_hi sites."""

    __slots__ = ("base", "offsets", "relocs", "pcrel_hi")

    def __init__(self, base: int, offsets: dict[str, int], pcrel_hi: dict[int, Value]) -> None:
        self.base = base
        self.offsets = offsets
        self.pcrel_hi = pcrel_hi
        self.relocs: list[Relocation] = []

    def resolve(self, value: Value, pc: int) -> tuple[int, str | None]:
        """(absolute value, None) for an expression of local labels and constants, or
        (addend, symbol) for ``symbol + addend`` with one undefined symbol."""
        if isinstance(value, int):
            return value, None
        total, external = value.const, None
        for name, coef in value.terms:
            off = pc if name == "." else self.offsets.get(name)
            if off is None:
                _check_external(name)
                if coef != 1 or external is not None:
                    raise AsmError(f"cannot relocate {value}: undefined symbols must appear "
                                   "once, added")
                external = name
                continue
            total += coef * (self.base + off)
        return total, external

    def const(self, value: Value, pc: int) -> int:
        total, external = self.resolve(value, pc)
        if external is not None:
            raise AsmError(f"undefined symbol {external!r} where a value is required")
        return total

    def reloc(self, kind: RelocKind, offset: int, symbol: str, addend: int,
              hi_offset: int | None = None) -> None:
        self.relocs.append(Relocation(kind, offset, symbol, addend, hi_offset))

    def pcrel_hi_target(self, hi_pc: int) -> Value:
        target = self.pcrel_hi.get(hi_pc)
        if target is None:
            raise AsmError(f"%pcrel_lo: no auipc with %pcrel_hi at offset {hi_pc:#x}")
        return target


def _check_external(name: str) -> None:
    """Refuse to turn a numeric local label that is never defined into an external symbol."""
    if "\x02" in name:
        raise AsmError(f"local label {name.split(chr(2))[0]}f is not defined after this point")


# --------------------------------------------------------------------------- assembler state


class _State:
    """Statements parsed so far: a list of items (bytearray chunks, alignments, jumps)."""

    __slots__ = ("base", "items", "buf", "labels", "patches", "jumps", "pcrel_sites",
                 "numeric", "consts", "line")

    def __init__(self, base: int) -> None:
        self.base = base
        self.items: list[bytearray | _Align | _Jump] = []
        self.buf: bytearray = bytearray()
        self.items.append(self.buf)
        self.labels: dict[str, tuple[int, int]] = {}
        self.patches: list[_Patch] = []
        self.jumps: list[tuple[int, _Jump]] = []
        self.pcrel_sites: list[tuple[int, int, Value]] = []
        self.numeric: dict[str, int] = {}
        self.consts: dict[str, int] = {}
        self.line = 0

    # --- output
    def word(self, word: int) -> None:
        self.buf += _PACK_I(word)

    def data(self, data: bytes) -> None:
        self.buf += data

    def defer(self, size: int, fn: Callable[[_Ctx, int], bytes]) -> None:
        """Reserve ``size`` bytes whose content ``fn`` computes after layout."""
        self.patches.append(_Patch(len(self.items) - 1, len(self.buf), size, fn, self.line))
        self.buf += bytes(size)

    def _item(self, item: _Align | _Jump) -> None:
        self.items.append(item)
        self.buf = bytearray()
        self.items.append(self.buf)

    def branch(self, cond: int, target: str) -> None:
        self._jump(cond, 0, target)

    def jal(self, rd: int, target: str) -> None:
        self._jump(None, rd, target)

    def _jump(self, cond: int | None, rd: int, target: str) -> None:
        value = self.value(target)
        jump = _Jump(cond, rd, value, self.line, fixed=type(value) is int)
        self.jumps.append((len(self.items), jump))
        self._item(jump)

    def align(self, alignment: int, fill: int | None, max_skip: int | None) -> None:
        self._item(_Align(alignment, fill, max_skip))

    def pcrel_hi_site(self, target: Value) -> None:
        self.pcrel_sites.append((len(self.items) - 1, len(self.buf), target))

    # --- symbols
    def label(self, name: str) -> None:
        if name.isdigit():
            count = self.numeric.get(name, 0)
            self.numeric[name] = count + 1
            name = f"{name}\x02{count}"
        elif name in self.labels or name in self.consts:
            raise AsmError(f"label {name!r} defined twice")
        self.labels[name] = (len(self.items) - 1, len(self.buf))

    def value(self, text: str) -> Value:
        """Parse an operand expression, binding numeric local labels and .equ constants."""
        value = parse_expr(text)
        if type(value) is int:
            return value
        if not value.local and not (self.consts
                                    and any(n in self.consts for n, _ in value.terms)):
            return value
        const, terms = value.const, {}
        for name, coef in value.terms:
            if name in self.consts:
                const += coef * self.consts[name]
                continue
            if is_local_ref(name):
                num, direction = name[:-1], name[-1]
                count = self.numeric.get(num, 0)
                if direction == "b":
                    if count == 0:
                        raise AsmError(f"no local label {num}: before {name!r}")
                    count -= 1
                name = f"{num}\x02{count}"
            terms[name] = terms.get(name, 0) + coef
        terms = {k: v for k, v in terms.items() if v}
        return Expr(const, tuple(terms.items())) if terms else const


# --------------------------------------------------------------------------- directives

_DATA_SIZES = {".byte": 1, ".half": 2, ".2byte": 2, ".short": 2, ".word": 4, ".4byte": 4,
               ".long": 4, ".dword": 8, ".8byte": 8, ".quad": 8}
_MAX_SPACE = 1 << 28  # bytes one .zero/.space may reserve
_IGNORED = {".text", ".globl", ".global", ".local", ".type", ".size"}


def _const_op(st: _State, text: str, what: str) -> int:
    value = st.value(text)
    if not isinstance(value, int):
        raise AsmError(f"{what} must be a constant, got {text!r}")
    return value


def _data_bytes(value: int, size: int) -> bytes:
    if not -(1 << (8 * size - 1)) <= value < (1 << (8 * size)):
        raise AsmError(f"value {value:#x} does not fit in {size} byte(s)")
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _directive(st: _State, name: str, ops: list[str]) -> None:
    size = _DATA_SIZES.get(name)
    if size is not None:
        if not ops or not all(ops):
            raise AsmError(f"{name} needs one or more values")
        for op in ops:
            value = st.value(op)
            if isinstance(value, int):
                st.data(_data_bytes(value, size))
                continue

            def data_fix(ctx: _Ctx, pc: int, value: Value = value, size: int = size) -> bytes:
                addend, sym = ctx.resolve(value, pc)
                if sym is None:
                    return _data_bytes(addend, size)
                if size < 4:
                    raise AsmError(f"no {size}-byte relocation for undefined symbol {sym!r}")
                ctx.reloc(RelocKind.ABS64 if size == 8 else RelocKind.ABS32, pc, sym, addend)
                return bytes(size)
            st.defer(size, data_fix)
        return
    if name in (".align", ".p2align", ".balign"):
        if not 1 <= len(ops) <= 3 or not ops[0]:
            raise AsmError(f"{name} takes alignment[, fill[, max]]")
        amount = _const_op(st, ops[0], "alignment")
        if name == ".balign":
            if amount <= 0 or amount & (amount - 1):
                raise AsmError(f".balign {amount}: not a power of two")
            alignment = amount
        else:
            if not 0 <= amount <= 16:
                raise AsmError(f"{name} {amount}: exponent out of range 0..16")
            alignment = 1 << amount
        fill = _const_op(st, ops[1], "fill") & 0xFF if len(ops) >= 2 and ops[1] else None
        max_skip = _const_op(st, ops[2], "max skip") if len(ops) == 3 else None
        if alignment > 1:
            st.align(alignment, fill, max_skip)
        return
    if name in (".zero", ".space", ".skip"):
        if not 1 <= len(ops) <= 2:
            raise AsmError(f"{name} takes size[, fill]")
        count = _const_op(st, ops[0], "size")
        if not 0 <= count <= _MAX_SPACE:
            raise AsmError(f"size {count} out of range 0..{_MAX_SPACE:#x}")
        fill = _const_op(st, ops[1], "fill") & 0xFF if len(ops) == 2 else 0
        st.data(bytes([fill]) * count)
        return
    if name in (".equ", ".set"):
        if len(ops) != 2 or not _SYMBOL.fullmatch(ops[0]):
            raise AsmError(f"{name} takes symbol, value")
        if ops[0] in st.labels:
            raise AsmError(f"{ops[0]!r} is already a label")
        st.consts[ops[0]] = _const_op(st, ops[1], f"{name} value")
        return
    if name in _IGNORED:
        return
    if name == ".option":
        if ops not in (["norvc"], ["norelax"], ["push"], ["pop"]):
            raise AsmError(f".option {', '.join(ops)} is not supported (norvc, norelax, push, pop)")
        return
    raise AsmError(f"unknown directive {name}")


# --------------------------------------------------------------------------- driver


def _parse(text: str, base: int) -> _State:
    st = _State(base)
    handlers = HANDLERS
    for lineno, line in enumerate(text.splitlines(), 1):
        if "#" in line:
            line = line[:line.index("#")]
        for stmt in (line.split(";") if ";" in line else (line,)):
            st.line = lineno
            try:
                if ":" in stmt:
                    stmt = _labels(st, stmt)
                parts = stmt.split(None, 1)
                if not parts:
                    continue
                mnemonic = parts[0]
                if len(parts) == 2:
                    rest = parts[1]
                    if " " in rest or "\t" in rest:
                        rest = rest.replace(" ", "").replace("\t", "")
                    ops = rest.split(",")
                else:
                    ops = []
                handler = handlers.get(mnemonic)
                if handler is not None:
                    handler(st, ops)
                elif mnemonic[0] == ".":
                    _directive(st, mnemonic.lower(), ops)
                elif (handler := handlers.get(mnemonic.lower())) is not None:
                    handler(st, ops)
                else:
                    raise AsmError(f"unknown instruction {mnemonic!r}")
            except AsmError as exc:
                raise AsmError(f"line {lineno}: {_shorten(stmt)}: {exc}") from None
    return st


def _shorten(stmt: str) -> str:
    stmt = stmt.strip()
    return stmt if len(stmt) <= 80 else stmt[:77] + "..."


def _labels(st: _State, stmt: str) -> str:
    """Define the labels in front of a statement; return the rest."""
    while ":" in stmt:
        name, rest = stmt.split(":", 1)
        name = name.strip()
        if not _LABEL.fullmatch(name):
            raise AsmError(f"bad label {name!r}")
        st.label(name)
        stmt = rest
    return stmt


def _layout(st: _State, lines: list[str]) -> tuple[list[int], dict[str, int]]:
    """Offsets of every item, growing jumps until every one reaches its target."""
    items = st.items
    offsets = [0] * (len(items) + 1)
    local = {name for name in st.labels}
    for _, jump in st.jumps:
        if isinstance(jump.target, Expr):
            undefined = [(n, c) for n, c in jump.target.terms if n not in local and n != "."]
            if undefined:
                try:
                    _check_external(undefined[0][0])
                except AsmError as exc:
                    raise AsmError(f"line {jump.line}: {_shorten(lines[jump.line - 1])}: "
                                   f"{exc}") from None
                if len(undefined) > 1 or undefined[0][1] != 1:
                    raise AsmError(f"line {jump.line}: {_shorten(lines[jump.line - 1])}: "
                                   f"cannot relocate {jump.target}")
                jump.external = undefined[0][0]
                jump.size = 12 if jump.cond is not None else 8
    relaxable = [(i, j) for i, j in st.jumps if not j.fixed and j.external is None]
    labels = st.labels
    while True:
        off = 0
        for i, item in enumerate(items):
            offsets[i] = off
            kind = type(item)
            if kind is bytearray:
                off += len(item)  # type: ignore[arg-type]
            elif kind is _Jump:
                off += item.size  # type: ignore[union-attr]
            else:
                item.size = item.padding(off)  # type: ignore[union-attr]
                off += item.size  # type: ignore[union-attr]
        offsets[-1] = off
        changed = False
        for i, jump in relaxable:
            if jump.size == 12:
                continue
            target = jump.target
            assert isinstance(target, Expr)
            pc = offsets[i]
            dest = target.const
            for name, coef in target.terms:
                if name == ".":
                    dest += coef * pc
                else:
                    item, pos = labels[name]
                    dest += coef * (offsets[item] + pos)
            # Label-only expressions: the base cancels when the coefficients sum to 1.
            coefs = sum(c for _, c in target.terms)
            distance = dest + (coefs - 1) * st.base - pc
            need = jump.needed(distance)
            if need > jump.size:
                jump.size = need
                changed = True
        if not changed:
            break
    label_offsets = {name: offsets[item] + pos for name, (item, pos) in labels.items()}
    return offsets, label_offsets


def assemble(text: str, base: int = 0) -> Assembled:
    """Assemble GNU-syntax riscv64 ``text`` for placement at address ``base``.

    Raises AsmError (naming the line) for anything it cannot encode."""
    st = _parse(text, base)
    lines = text.splitlines()
    offsets, label_offsets = _layout(st, lines)
    pcrel_hi = {offsets[item] + pos: target for item, pos, target in st.pcrel_sites}
    ctx = _Ctx(base, label_offsets, pcrel_hi)
    out = bytearray()
    for i, item in enumerate(st.items):
        kind = type(item)
        if kind is bytearray:
            out += item  # type: ignore[operator]
        elif kind is _Jump:
            try:
                out += item.encode(ctx, offsets[i])  # type: ignore[union-attr]
            except AsmError as exc:
                line = item.line  # type: ignore[union-attr]
                raise AsmError(f"line {line}: {_shorten(lines[line - 1])}: {exc}") from None
        else:
            out += item.bytes()  # type: ignore[union-attr]
    for patch in st.patches:
        pc = offsets[patch.item] + patch.pos
        try:
            data = patch.fn(ctx, pc)
        except AsmError as exc:
            raise AsmError(f"line {patch.line}: {_shorten(lines[patch.line - 1])}: {exc}") from None
        assert len(data) == patch.size
        out[pc:pc + patch.size] = data
    symbols = {name: off for name, off in label_offsets.items() if "\x02" not in name}
    relocs = tuple(sorted(ctx.relocs, key=lambda r: r.offset))
    return Assembled(bytes(out), base, symbols, relocs)
