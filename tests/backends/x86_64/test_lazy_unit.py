"""x86_64's lazy unit (ModuleCompiler.lazy_unit): the stubs and thunks it encodes itself,
read back by Capstone, are the instructions they must be: each stub jumps through its own
slot, each thunk loads its function's index and jumps to the assembled LAZY entry; signatures whose trampolines are the same code share one
(and run through it)."""

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


SHAPES = """(module
  (func (export "i32") (param i32 i64) (result i32) (i32.add (local.get 0) (i32.wrap_i64 (local.get 1))))
  (func (export "i64") (param i64 i32) (result i64) (i64.add (local.get 0) (i64.extend_i32_u (local.get 1))))
  (func (export "f32") (param f32) (result f32) (f32.add (local.get 0) (f32.const 0.5)))
  (func (export "f64") (param f64) (result f64) (f64.add (local.get 0) (f64.const 0.25)))
  (func (export "mixed") (param i32 f64) (result f64) (f64.add (f64.convert_i32_s (local.get 0)) (local.get 1))))"""


def test_signatures_of_one_shape_share_their_trampolines_and_run():
    from engine import Instance, Store
    from backends.base import sig_key
    from engine.wasm.types import ValType as T
    engine = Engine(Config())
    module = Module(engine, SHAPES)
    info = module.info
    unit = backend_for(engine.settings).lazy_unit(info, 0, 5, info.type_sigs, info.type_sigs)

    def at(kind: str, params, results) -> int:
        return unit.symbols[f"{kind}_" + sig_key(params, results)]
    for kind in ("entry", "exit"):
        assert at(kind, (T.I32, T.I64), (T.I32,)) == at(kind, (T.I64, T.I32), (T.I64,))
        assert at(kind, (T.F32,), (T.F32,)) == at(kind, (T.F64,), (T.F64,))
        assert len({at(kind, (T.I32, T.I64), (T.I32,)), at(kind, (T.F32,), (T.F32,)),
                    at(kind, (T.I32, T.F64), (T.F64,))}) == 3
    store = Store(engine)
    ex = Instance(store, module, []).exports(store)
    assert ex["i32"](store, 7, (1 << 40) + 5) == 12
    assert ex["i64"](store, 1 << 40, 0xFFFF_FFFF) == (1 << 40) + 0xFFFF_FFFF
    assert ex["f32"](store, 1.0) == 1.5 and ex["f64"](store, 1.0) == 1.25
    assert ex["mixed"](store, -3, 0.5) == -2.5
