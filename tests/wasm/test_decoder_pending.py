"""Bodies left undecoded (engine.wasm.decoder.decode with `defer`): a large code section's
bodies become PendingBody objects that decode on first use into what a whole decode gives,
and every malformation, in them or in the rest of the module, comes out as the error a
whole decode raises; a Module validated in parallel decodes each half in its own process
and knows its instruction count without decoding the other half."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Module, WasmError
from engine.compile import parallel
from engine.config import Features
from engine.errors import MalformedError
from engine.text import wat2wasm
from engine.wasm import decoder
from engine.wasm.module import PendingBody

N = 40


def _binary(extra: str = "", body: str = "") -> bytearray:
    funcs = "".join(f"(func (param i32) (result i32) (local i64) "
                    f"(i32.add (local.get 0) (i32.const {k})) {body})\n" for k in range(N))
    return bytearray(wat2wasm(f"(module (memory 1) {extra} {funcs})"))


@pytest.fixture
def small_is_large(monkeypatch):
    monkeypatch.setattr(decoder, "DEFER_MIN_BYTES", 0)


def test_pending_bodies_decode_to_what_a_whole_decode_gives(small_is_large):
    data = bytes(_binary())
    whole = decoder.decode(data, Features())
    pending = decoder.decode(data, Features(), defer=True)
    assert all(isinstance(c, PendingBody) and not c.decoded for c in pending.codes)
    assert 0 < pending.pending_split < N and whole.pending_split is None
    for a, b in zip(whole.codes, pending.codes):
        assert (b.locals, b.offset, b.start) == (a.locals, a.offset, a.start)
        assert b.body == a.body and b.decoded
    assert pending.instruction_count() == whole.instruction_count()


def test_a_small_code_section_is_decoded_whole():
    module = decoder.decode(bytes(_binary()), Features(), defer=True)
    assert module.pending_split is None
    assert not any(isinstance(c, PendingBody) for c in module.codes)


def _break_body(data: bytearray, index: int) -> bytearray:
    """Function `index`'s first instruction replaced by an illegal opcode."""
    code = decoder.decode(bytes(data), Features()).codes[index]
    data[code.offset] = 0x27
    return data


def _whole_error(data: bytes) -> str:
    with pytest.raises(MalformedError) as info:
        decoder.decode(data, Features())
    return str(info.value)


@pytest.mark.parametrize("index", [0, N // 2, N - 1])
def test_a_malformed_pending_body_raises_on_use_what_a_whole_decode_raises(small_is_large,
                                                                            index):
    data = bytes(_break_body(_binary(), index))
    expected = _whole_error(data)
    module = decoder.decode(data, Features(), defer=True)      # the rest is well-formed
    with pytest.raises(MalformedError) as info:
        module.codes[index].body
    assert str(info.value) == expected
    with pytest.raises(MalformedError) as info:
        decoder.decode_pending(module)
    assert str(info.value) == expected


def test_an_error_after_the_code_section_waits_for_the_pending_bodies(small_is_large):
    data = _binary('(data (i32.const 0) "abc")')
    broken = bytes(_break_body(bytearray(data), N - 2))
    assert data[-1] == ord("c")
    data_broken = bytearray(broken)
    data_broken[-4] = 0x7F                  # the segment's length runs past the end
    expected = _whole_error(bytes(data_broken))
    assert "illegal opcode" in expected         # the body comes first in a whole decode
    with pytest.raises(MalformedError) as info:
        decoder.decode(bytes(data_broken), Features(), defer=True)
    assert str(info.value) == expected


def _without_data_count(data: bytes) -> bytes:
    """The binary without its data count section (id 12)."""
    out, pos = bytearray(data[:8]), 8
    while pos < len(data):
        sec, size, shift, at = data[pos], 0, 0, pos + 1
        while True:
            b = data[at]
            size |= (b & 0x7F) << shift
            shift += 7
            at += 1
            if b < 0x80:
                break
        if sec != 12:
            out += data[pos:at + size]
        pos = at + size
    return bytes(out)


def test_the_data_count_rule_holds_for_pending_bodies(small_is_large):
    data = _without_data_count(bytes(_binary('(data "x")', "(data.drop 0)")))
    expected = _whole_error(data)
    assert "data count section required" in expected
    module = decoder.decode(data, Features(), defer=True)
    with pytest.raises(MalformedError, match="data count section required"):
        decoder.decode_pending(module)


needs_fork = pytest.mark.skipif(not parallel.can_fork() or parallel.worker_count() < 2,
                                reason="needs fork and two CPUs")


def _module_error(data: bytes, parallel_compilation: bool) -> str:
    with pytest.raises(WasmError) as info:
        Module(Engine(Config(parallel_compilation=parallel_compilation)), bytes(data))
    return f"{type(info.value).__name__}: {info.value}"


@needs_fork
@pytest.mark.parametrize("index", [1, N - 1])
def test_a_module_shared_by_two_processes_raises_what_a_serial_one_raises(small_is_large,
                                                                           monkeypatch, index):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_INSTRUCTIONS", 0)
    malformed = bytes(_break_body(_binary(), index))
    assert _module_error(malformed, True) == _module_error(malformed, False)
    # an invalid body in this process's half and a malformed one in the child's: malformed
    invalid_then_malformed = bytearray(wat2wasm(
        "(module (func (i32.add (i32.const 1) (i64.const 2)) (drop))"
        + "".join(f"(func (param i32) (result i32) (i32.add (local.get 0) (i32.const {k})))"
                  for k in range(N)) + ")"))
    broken = _break_body(invalid_then_malformed, N)
    assert "illegal opcode" in _module_error(broken, False)
    assert _module_error(broken, True) == _module_error(broken, False)


@needs_fork
def test_the_child_s_part_stays_pending_here_and_is_counted(small_is_large):
    """This process checks the bodies from the first up, the child from the last down
    (engine.compile.parallel.validate_parallel): here a prefix is decoded, the rest not."""
    module = Module(Engine(Config()), bytes(_binary())).wasm_module
    decoded = [c.decoded for c in module.codes]
    split = decoded.index(False) if False in decoded else len(decoded)
    assert all(decoded[:split])        # (the child may have checked them all: a small module)
    assert not any(c.decoded for c in module.codes[split:])
    count = module.instruction_count()
    assert not any(c.decoded for c in module.codes[split:])
    assert count == sum(len(c.body) for c in module.codes) == module.instructions


def test_a_released_body_decodes_again_to_the_same_instructions(small_is_large):
    module = decoder.decode(bytes(_binary()), Features(), defer=True)
    code = module.codes[3]
    assert code.weight() == code.size // 2 and not code.decoded      # an estimate, undecoded
    first = code.body
    assert code.weight() == len(first)
    code.release()
    assert not code.decoded and code.body == first and code.body is not first


@needs_fork
def test_a_whole_module_compile_holds_no_body_it_has_compiled(small_is_large, monkeypatch):
    """With lazy compilation off, the first instantiation compiles every function with the
    baseline tier, each pending body decoded for its compile only; the code runs."""
    from engine import Instance, Store
    monkeypatch.setattr(parallel, "MIN_PARALLEL_INSTRUCTIONS", 0)
    funcs = "".join(f"(func (export \"f{k}\") (param i32) (result i32) "
                    f"(i32.add (local.get 0) (i32.const {k})))" for k in range(N))
    engine = Engine(Config(lazy_compilation=False))
    module = Module(engine, funcs.join(["(module ", ")"]))
    store = Store(engine)
    instance = Instance(store, module, [])
    assert not any(c.decoded for c in module.wasm_module.codes)
    exports = instance.exports(store)
    assert [exports[f"f{k}"](store, 100) for k in (0, N // 2, N - 1)] == [100, 100 + N // 2,
                                                                          99 + N]
