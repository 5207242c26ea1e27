"""backends/x86_64/pieces.py: functions assembled one at a time and linked. Capstone's reading of
the linked module: every call and jump that leaves a function lands on a function's first byte
or on a stub (trap, epoch), and a call lands on the function the text named; functions start on
16 bytes; a name outside the known kinds stays an assembler error."""

from __future__ import annotations

import re

import pytest
from capstone import CS_ARCH_X86, CS_MODE_64, Cs

from backends.x86_64 import X86_64Backend, pieces
from benchmarks.gen_large import generate
from engine import Config, Engine, InternalError
from engine.compile import driver
from engine.compile.module import Module
from engine.compile.registry import backend_for


@pytest.fixture(scope="module")
def linked():
    engine = Engine(Config(epoch_interruption=True))
    module = Module(engine, generate())
    backend = backend_for(engine.settings)
    nimp = module.wasm_module.num_imported_funcs
    texts = {nimp + p: backend.compile_function(module.take_ir(nimp + p), module.info)
             for p in range(len(module.wasm_module.funcs))}
    code = driver.compile_module(Module(engine, generate()), backend, jobs=1)
    return code, texts


def test_references_between_functions_land_on_their_targets(linked):
    code, texts = linked
    starts = {v: k for k, v in code.symbols.items()}
    funcs = sorted((off, name) for name, off in code.symbols.items()
                   if re.fullmatch(r"func\d+", name))
    ends = [off for off, _ in funcs[1:]] + [len(code.code)]
    cs = Cs(CS_ARCH_X86, CS_MODE_64)
    checked = 0
    for (start, name), end in zip(funcs, ends):
        assert start % 16 == 0
        named_calls = [m.group(1) for line in texts[int(name[4:])]
                       if (m := re.fullmatch(r"\s+call (func\d+)", line))]
        calls = []
        for insn in cs.disasm(code.code[start:end], start):
            if insn.mnemonic in ("call", "jmp") or insn.mnemonic.startswith("j"):
                op = insn.op_str
                if not op.startswith("0x"):
                    continue            # through a register or memory
                target = int(op, 16)
                if start <= target < end:
                    continue            # inside the function
                assert target in starts, f"{name}: {insn.mnemonic} {op} lands on no symbol"
                if insn.mnemonic == "call" and starts[target].startswith("func"):
                    calls.append(starts[target])
                checked += 1
        assert calls == named_calls, name
    assert checked > 300


def test_epoch_and_trap_stubs_are_reached(linked):
    code, texts = linked
    assert "__epoch_slow" in code.symbols and "__trap" in code.symbols
    assert any("call __epoch_slow" in line for lines in texts.values() for line in lines)


def test_fixups_mark_each_outside_reference():
    lines = [".p2align 4", "func3:", "  call func7", "  call func3", "  jne func3_l1",
             "func3_l1:", "  jmp __trap", "  ret"]
    fn = pieces.assemble_function(lines, "func3")
    assert [s for _, s in fn.fixups] == ["func7", "func3", "__trap"]
    for end, _ in fn.fixups:
        assert fn.code[end - 5] in (0xE8, 0xE9)           # call/jmp rel32 just before
    with pytest.raises(InternalError, match="rejected"):
        pieces.assemble_function(["func3:", "  call helper_x"], "func3")


def test_backend_function_code_is_a_function_code():
    engine = Engine()
    module = Module(engine, generate())
    fn = X86_64Backend().function_code(module.take_ir(module.wasm_module.num_imported_funcs),
                                       module.info)
    assert isinstance(fn, pieces.FunctionCode) and len(fn.code) > 10


def test_placing_patches_each_reference_and_resolves_each_symbol_once():
    # call f1; call f1; jmp __trap; call f0 (itself): rel32s ending at 5, 10, 15, 20
    code = (b"\xe8" + b"\0" * 4) * 2 + b"\xe9" + b"\0" * 4 + b"\xe8" + b"\0" * 4
    fn = pieces.FunctionCode(code, ((5, "func1"), (10, "func1"), (15, "__trap"),
                                    (20, "func0")), ())
    asked: list[str] = []
    where = {"func1": 0x10_0000, "__trap": 0x0F_0000}

    def resolve(symbol: str) -> int:
        asked.append(symbol)
        return where[symbol]
    at = 0x20_0000
    out = pieces.place(fn, "func0", at, resolve)
    disp = [int.from_bytes(out[e - 4:e], "little", signed=True) for e in (5, 10, 15, 20)]
    assert disp == [0x10_0000 - (at + 5), 0x10_0000 - (at + 10), 0x0F_0000 - (at + 15), -20]
    assert sorted(asked) == ["__trap", "func1"]        # each once; itself not at all
    with pytest.raises(InternalError, match="out of reach"):
        pieces.place(fn, "func0", 1 << 40, resolve)
