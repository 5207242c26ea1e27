"""The front end's verdicts on the 3.0 core suite's exception-handling scripts: for every module,
assert_invalid and assert_malformed command of throw, throw_ref, try_table, tag and ref_null
(converted with `wasm-tools json-from-wast`, tests/spec/cache.py), Module.validate must say
valid / invalid / malformed as the script does. Execution (assert_return, assert_exception)
is the executors' and is not run here.

Commands that tests/spec/skips.py lists (GC modules) are not judged; they must still be refused
as the GC's, never accepted nor refused as exception handling's."""

from __future__ import annotations

import pytest

from engine import Engine, Module
from engine.errors import InvalidError, MalformedError, UnsupportedError
from spec.cache import converted
from spec.skips import skip_for
from spec.suites import CORE_3_0
from spec.wast import (AssertModule, ModuleAssertKind, ModuleCommand, ModuleDefinition,
                       ModuleType, load_script)

#: file -> how many commands it has that must be judged (so that none goes missing unseen)
#: (ref_null's two modules use GC types: both are skipped, and checked to be refused as GC's)
FILES = {"throw": 4, "throw_ref": 3, "try_table": 17, "tag": 4, "ref_null": 0}


def _verdict(engine: Engine, wasm: bytes | str) -> tuple[str, str]:
    try:
        Module.validate(engine, wasm)
    except UnsupportedError as e:
        return "not supported", str(e)
    except MalformedError as e:
        return "malformed", str(e)
    except InvalidError as e:
        return "invalid", str(e)
    return "valid", ""


def _commands(stem: str):
    """(line, expected verdict, module bytes or text, assertion text) of each front-end
    command of `stem`.wast."""
    wast = CORE_3_0.directory / f"{stem}.wast"
    script = load_script(converted(wast, tool=CORE_3_0.tool), stem, wast)
    for c in script.commands:
        if isinstance(c, (ModuleCommand, ModuleDefinition)):
            yield c.line, "valid", script.module_bytes(c.filename), ""
        elif isinstance(c, AssertModule) and c.kind in (ModuleAssertKind.INVALID,
                                                          ModuleAssertKind.MALFORMED):
            wasm = (script.module_text(c.filename) if c.module_type is ModuleType.TEXT
                    else script.module_bytes(c.filename))
            yield c.line, c.kind.value.removeprefix("assert_"), wasm, c.text


@pytest.mark.parametrize("stem", sorted(FILES))
def test_validate_agrees_with_the_script(stem: str) -> None:
    engine = Engine()
    judged = 0
    wrong = []
    for line, want, wasm, text in _commands(stem):
        got, message = _verdict(engine, wasm)
        if skip_for(stem, line, CORE_3_0.name) is not None:
            # a GC module: refused as GC's (a rec group's encoding is malformed for polyjit)
            assert got in ("not supported", "malformed") and "exception" not in message, \
                (line, got, message)
            continue
        judged += 1
        if got != want:
            wrong.append(f"{stem}.wast:{line}: expected {want} ({text!r}), got {got}: {message}")
        elif text not in message:
            wrong.append(f"{stem}.wast:{line}: message {message!r} does not say {text!r}")
    assert not wrong, "\n".join(wrong)
    assert judged == FILES[stem]
