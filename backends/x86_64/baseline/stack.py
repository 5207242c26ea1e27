"""The baseline compiler's operand stack and locals (a mixin of compiler._Compiler): where
each value and local lives, and the register cache.

Every local and every operand-stack slot has an 8-byte home in the frame. An operand-stack
entry is (kind, payload): _MEM (the value is in its slot), _CONST (a bit pattern: i32 values
zero-extended), _LOCAL (equal to local i's current value), _REG (in cache register r; an xmm
as 16 + its number) or _FLAGS (a compare's condition code, consumed by the next instruction).
Operations on the fast path read entries where they are and leave results in registers;
`flush` puts every entry in its slot (only moves: the flags survive it), which control flow and
the other operations need. The most used locals (weighted by loop depth) live in registers
for the whole function instead of their slots: integers in rbx, r12, r13 (callee-saved: the
caller's values are kept in the frame), floats in xmm14, xmm15 (caller-saved: kept in their
slots around calls)."""

from __future__ import annotations

from engine.wasm.opcodes import Op
from engine.wasm.types import ValType

from .encoder import RAX, RBP, RBX, RDI, RSI, R8, R9, R10, R12, R13

_F32, _F64 = ValType.F32, ValType.F64
# operand-stack entry kinds (ValueStack.vs)
_MEM, _CONST, _LOCAL, _REG, _FLAGS = range(5)
_MEMV = (_MEM, None)
#: cache registers: caller-saved, none an operation's fixed scratch (rax, rcx, rdx, r11,
#: xmm0, xmm1); xmm registers as 16 + their number
_INT_POOL = (R10, R9, R8, RDI, RSI)
_X_POOL = tuple(16 + x for x in range(13, 1, -1))
_PIN_INT = (RBX, R12, R13)             # locals kept in registers for the whole function
_PIN_X = (16 + 14, 16 + 15)            # xmm14, xmm15
_LOOP_WEIGHT, _MAX_WEIGHT = 8, 4096     # a local use weighs 8 ** its loop depth, at most 4096
_LOCAL_GET_OP, _LOCAL_SET_OP = int(Op.LOCAL_GET), int(Op.LOCAL_SET)
_LOCAL_TEE_OP = int(Op.LOCAL_TEE)
_BLOCK_OP, _LOOP_OP, _IF_OP = int(Op.BLOCK), int(Op.LOOP), int(Op.IF)
_END_OP = int(Op.END)
assert _LOCAL_GET_OP + 1 == _LOCAL_SET_OP and _LOCAL_SET_OP + 1 == _LOCAL_TEE_OP and \
    _BLOCK_OP + 1 == _LOOP_OP and _LOOP_OP + 1 == _IF_OP and _IF_OP < _END_OP < _LOCAL_GET_OP


class ValueStack:
    """Operand stack and local homes of one function being compiled (see the module
    docstring); the compiler sets `a` (the Asm), `body`, `local_types` and calls
    `init_stack` before anything else."""

    def init_stack(self) -> None:
        #: the callee-saved registers that hold locals ([rbp - 16 - 8k] keeps the caller's)
        self.saved: list[int] = []
        #: local -> where it lives: its slot, or a register (int; xmm as 16 + x)
        self.homes: list = []
        self.pinned_x: list[tuple[int, int]] = []       # (local, 16 + x) of the xmm ones
        self.choose_homes()
        self.stack_base = self.local_base - 8 * len(self.local_types)
        #: the operand stack (entries as in the module docstring)
        self.vs: list[tuple] = []
        #: the lowest entry that may be other than _MEM (never above the height: whatever pops
        #: lowers it, so pushes need not)
        self.low = 0
        self.free_int = list(_INT_POOL)
        self.free_x = list(_X_POOL)
        self.max_height = 0

    # -- addressing -----------------------------------------------------------------------------

    def slot(self, i: int) -> tuple:
        """The home of operand-stack slot i (0: the bottom)."""
        return (RBP, None, 1, self.stack_base - 8 * i)

    def local_slot(self, i: int) -> tuple:
        return (RBP, None, 1, self.local_base - 8 * i)

    def choose_homes(self) -> None:
        """The most used locals (weighted by loop depth) live in registers for the whole
        function: integers in rbx, r12, r13 (callee-saved: saved in the frame, kept across
        calls), floats in xmm14, xmm15 (saved to their slots around calls)."""
        types = self.local_types
        weight = [0] * len(types)
        wt = 1                              # the weight of a use here
        outer: list[int] = []               # the weight outside each open block
        tee, get = _LOCAL_TEE_OP, _LOCAL_GET_OP     # (locals: the loop runs over every
        for ins in self.body:                       # instruction)
            op = ins.op
            if op > tee:                    # (the opcodes below are all under local.tee's)
                continue
            if op >= get:
                weight[ins.imm] += wt
            elif op <= _IF_OP:
                if op >= _BLOCK_OP:
                    outer.append(wt)
                    if op == _LOOP_OP and wt < _MAX_WEIGHT:
                        wt *= _LOOP_WEIGHT
            elif op == _END_OP and outer:
                wt = outer.pop()
        # (a stable sort: equal weights in local order)
        order = sorted(range(len(types)), key=weight.__getitem__, reverse=True)
        ints: list[int] = []
        floats: list[int] = []
        for i in order:
            if not weight[i]:               # (this and the rest unused)
                break
            (floats if types[i] in (_F32, _F64) else ints).append(i)
        del ints[3:], floats[2:]
        self.local_base = base = -16 - 8 * len(ints)
        homes: list = [(RBP, None, 1, base - 8 * i) for i in range(len(types))]
        for i, r in zip(ints, _PIN_INT):
            homes[i] = r
            self.saved.append(r)
        for i, x in zip(floats, _PIN_X):
            homes[i] = x
            self.pinned_x.append((i, x))
        self.homes = homes

    def save_pinned_x(self, restore: bool) -> None:
        """Around a call: the locals kept in xmm registers to their slots, or back."""
        a = self.a
        for i, x in self.pinned_x:
            if restore:
                a.movs_load(x - 16, self.local_slot(i), True)
            else:
                a.movs_store(self.local_slot(i), x - 16, True)

    def set_home(self, i: int, e: tuple, at: int) -> None:
        """Local i <- the value of entry e (at stack index `at`), whatever both are."""
        a = self.a
        h = self.homes[i]
        kind = e[0]
        src = e[1] if kind == _REG else self.homes[e[1]] if kind == _LOCAL else None
        if type(h) is tuple:
            if kind == _CONST:
                v = e[1]
                if v < 1 << 31 or v >= (1 << 64) - (1 << 31):
                    a.mov_mi(h, v - (1 << 64) if v >> 63 else v)
                else:
                    a.mov_ri(RAX, v)
                    a.store(h, RAX)
            elif kind == _MEM or type(src) is tuple:
                a.copy(h, self.slot(at) if kind == _MEM else src, RAX)
            elif src >= 16:
                a.movs_store(h, src - 16, True)
            else:
                a.store(h, src)
        elif h >= 16:
            x = h - 16
            if kind == _CONST:
                a.mov_ri(RAX, e[1])
                a.movq_xr(x, RAX)
            elif kind == _MEM or type(src) is tuple:
                a.movs_load(x, self.slot(at) if kind == _MEM else src, True)
            else:
                a.sse("movaps", x, src - 16)
        else:
            if kind == _CONST:
                a.mov_ri(h, e[1])
            elif kind == _MEM or type(src) is tuple:
                a.load(h, self.slot(at) if kind == _MEM else src)
            else:
                a.mov_rr(h, src)

    def local_to_slot(self, i: int, s: tuple) -> None:
        """Stack slot s <- local i."""
        a = self.a
        h = self.homes[i]
        if type(h) is tuple:
            a.copy(s, h, RAX)
        elif h >= 16:
            a.movs_store(s, h - 16, True)
        else:
            a.store(s, h)

    def top(self, k: int = 1) -> tuple:
        """The slot k below the top (1: the top value)."""
        return (RBP, None, 1, self.stack_base - 8 * (len(self.vs) - k))

    @property
    def height(self) -> int:
        return len(self.vs)

    @height.setter
    def height(self, n: int) -> None:
        vs = self.vs
        if n < len(vs):
            for e in vs[n:]:
                if e[0] == _REG:
                    self.release(e[1])
            del vs[n:]
        else:
            vs.extend([_MEMV] * (n - len(vs)))
            if n > self.max_height:
                self.max_height = n
        if self.low > n:
            self.low = n

    def push(self) -> tuple:
        """Make room for one more value in its slot (_MEM); the slot."""
        vs = self.vs
        h = len(vs)
        vs.append(_MEMV)
        if h + 1 > self.max_height:
            self.max_height = h + 1
        return (RBP, None, 1, self.stack_base - 8 * h)

    # -- the register cache ---------------------------------------------------------------------
    # Operations on the fast path (locals, constants, integer and float arithmetic, compares,
    # loads and stores) leave their results in registers, constants and local reads as they
    # are; everything else first `flush`es the stack to its slots. Control flow always works on
    # flushed stacks, so every label sees each value in its slot.

    def push_entry(self, e: tuple) -> None:
        vs = self.vs
        h = len(vs)
        vs.append(e)
        if h + 1 > self.max_height:
            self.max_height = h + 1

    def release(self, r: int) -> None:
        (self.free_x if r >= 16 else self.free_int).append(r)

    def pop_entry(self) -> tuple:
        """The top entry, popped (a register it holds is free again: read it before the next
        allocation)."""
        e = self.vs.pop()
        if e[0] == _REG:
            r = e[1]
            (self.free_x if r >= 16 else self.free_int).append(r)
        if self.low > len(self.vs):
            self.low = len(self.vs)
        return e

    def alloc(self, xmm: bool) -> int:
        """A free cache register (int, or 16 + an xmm number), spilling the oldest value held
        in one of the class when none is free."""
        free = self.free_x if xmm else self.free_int
        if not free:
            vs = self.vs
            for i in range(self.low, len(vs)):
                e = vs[i]
                if e[0] == _REG and (e[1] >= 16) == xmm:
                    self.spill(i)
                    break
        return free.pop()

    def spill(self, i: int) -> None:
        """Entry i to its slot (flags are left alone: only moves)."""
        vs = self.vs
        e = vs[i]
        kind = e[0]
        a = self.a
        s = (RBP, None, 1, self.stack_base - 8 * i)
        if kind == _REG:
            r = e[1]
            if r >= 16:
                a.movs_store(s, r - 16, True)
                self.free_x.append(r)
            else:
                a.store(s, r)
                self.free_int.append(r)
        elif kind == _CONST:
            v = e[1]
            if v < 1 << 31 or v >= (1 << 64) - (1 << 31):
                a.mov_mi(s, v - (1 << 64) if v >> 63 else v)
            elif v < 1 << 32:
                a.mov_ri(RAX, v)
                a.store(s, RAX)
            else:
                a.movabs(RAX, v)
                a.store(s, RAX)
        elif kind == _LOCAL:
            self.local_to_slot(e[1], s)
        vs[i] = _MEMV

    def flush(self) -> None:
        """Every value to its slot (no flags changed)."""
        vs = self.vs
        for i in range(self.low, len(vs)):
            e = vs[i]
            kind = e[0]
            if kind == _LOCAL:              # (spill, inline for the commonest entries)
                self.local_to_slot(e[1], (RBP, None, 1, self.stack_base - 8 * i))
                vs[i] = _MEMV
            elif kind == _REG and e[1] < 16:
                self.a.store((RBP, None, 1, self.stack_base - 8 * i), e[1])
                self.free_int.append(e[1])
                vs[i] = _MEMV
            elif kind != _MEM:
                self.spill(i)
        self.low = len(vs)

    def operand(self, e: tuple, i: int):
        """Where entry e (at stack index i) can be read as an r/m operand: a register number
        or a memory operand (a constant: None)."""
        kind = e[0]
        if kind == _LOCAL:                  # its slot, or the register (an xmm's number)
            h = self.homes[e[1]]
            return h if type(h) is tuple else h if h < 16 else h - 16
        if kind == _MEM:
            return (RBP, None, 1, self.stack_base - 8 * i)
        if kind == _REG:
            return e[1] if e[1] < 16 else e[1] - 16
        return None

    def into_int(self, e: tuple, i: int, w: int) -> int:
        """A cache register holding integer entry e (at stack index i, popped already): its
        own register when it has one."""
        a = self.a
        kind = e[0]
        if kind == _REG:
            self.free_int.remove(e[1])
            return e[1]
        d = self.alloc(False)
        if kind == _CONST:
            a.mov_ri(d, e[1])
        else:
            a.load(d, self.operand(e, i), w)
        return d

    def into_xmm(self, e: tuple, i: int, d64: int) -> int:
        """A cache xmm register (16 + x) holding float entry e (popped already)."""
        a = self.a
        kind = e[0]
        if kind == _REG:
            self.free_x.remove(e[1])
            return e[1]
        x = self.alloc(True)
        if kind == _CONST:
            a.mov_ri(RAX, e[1])
            a.movq_xr(x - 16, RAX, d64)
        else:
            a.movs_load(x - 16, self.operand(e, i), d64)
        return x

    def forget_local(self, i: int) -> None:
        """Before local i changes: the stack entries that read it take its current value."""
        vs = self.vs
        for k in range(self.low, len(vs)):
            e = vs[k]
            if e[0] == _LOCAL and e[1] == i:
                self.spill(k)
