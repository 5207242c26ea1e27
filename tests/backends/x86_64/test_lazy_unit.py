"""x86_64's lazy unit (ModuleCompiler.lazy_unit): the stubs and thunks it encodes itself,
read back by Capstone, are the instructions the trampolines' text says (lazy_stub,
lazy_thunk): each stub jumps through its own slot, each thunk loads its function's index and
jumps to the assembled LAZY entry."""

from __future__ import annotations

from capstone import CS_ARCH_X86, CS_MODE_64, Cs

from backends.base import func_symbol, lazy_symbol, lazy_table_size
from backends.x86_64 import trampolines
from engine import Config, Engine
from engine.compile.module import Module
from engine.compile.registry import backend_for

WAT = """(module (import "h" "f" (func)) (import "h" "g" (func))
  (func (export "a") (result i32) (i32.const 1)) (func) (func (param i64) (result f64)
  (f64.const 2)))"""


def test_stubs_and_thunks_encode_what_their_text_says():
    engine = Engine(Config())
    module = Module(engine, WAT)
    backend = backend_for(engine.settings)
    first, count = 2, 3
    unit = backend.lazy_unit(module.info, first, count)
    table = lazy_table_size(count)
    cs = Cs(CS_ARCH_X86, CS_MODE_64)
    entry = unit.symbols[trampolines.LAZY]
    for k in range(count):
        stub = unit.symbols[func_symbol(first + k)]
        assert stub == k * trampolines.LAZY_STUB_SIZE
        ins = list(cs.disasm(unit.code[stub:stub + trampolines.LAZY_STUB_SIZE], stub))
        assert [(i.mnemonic, i.op_str) for i in ins] == [
            ("jmp", f"qword ptr [rip - {hex(table + 6)}]"), ("int3", ""), ("int3", "")]
        slot = -table + 8 * k
        assert ins[0].address + ins[0].size - (table + 6) == slot
        thunk = unit.symbols[lazy_symbol(first + k)]
        ins = list(cs.disasm(unit.code[thunk:thunk + trampolines.LAZY_THUNK_SIZE], thunk))
        assert [(i.mnemonic, i.op_str) for i in ins] == [
            ("mov", f"r11d, {first + k}"), ("jmp", hex(entry))]
    # the assembled part starts after the thunks, its own symbols moved with it
    assert entry > unit.symbols[lazy_symbol(first + count - 1)]
    ins = next(cs.disasm(unit.code[entry:entry + 16], entry))
    assert ins.mnemonic == "cmp" and "rsp" in ins.op_str          # the stack check first
