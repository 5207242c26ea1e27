"""Run one spec script's commands through an Executor and tally every assertion.

Front-end commands (modules, malformed/invalid binaries) need only a decoder and validator;
text-form modules need the text parser; everything else needs the runtime. What the executor
cannot do yet is counted "not yet run" with the reason, never as passed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from . import skips as skip_list
from .cache import converted
from .executor import Executor, LinkFailed, Rejected, Thrown, Trapped, make_executor
from .skips import Skip
from .source import ModuleSources, SourceError
from .textcheck import difference, module_form
from .results import Category, FileResult, Note, Status
from .suites import CORE_2_0, Suite
from .targets import Target
from .values import results_match
from .wast import (ActionCommand, ActionKind, AssertException, AssertExhaustion, AssertModule,
                   AssertReturn, AssertTrap, ModuleAssertKind, ModuleCommand, ModuleDefinition,
                   ModuleInstance, ModuleType, Register, WastScript, load_script)

#: The trap code (wasmtime-py / polyjit TrapCode name) each trap text of the suite means.
TRAP_CODES: dict[str, tuple[str, ...]] = {
    "call stack exhausted": ("STACK_OVERFLOW",),
    "indirect call type mismatch": ("BAD_SIGNATURE",),
    "integer divide by zero": ("INTEGER_DIVISION_BY_ZERO",),
    "integer overflow": ("INTEGER_OVERFLOW",),
    "invalid conversion to integer": ("BAD_CONVERSION_TO_INTEGER",),
    "out of bounds memory access": ("MEMORY_OUT_OF_BOUNDS",),
    "out of bounds table access": ("TABLE_OUT_OF_BOUNDS",),
    "undefined element": ("TABLE_OUT_OF_BOUNDS",),
    "uninitialized element": ("INDIRECT_CALL_TO_NULL",),
    "unreachable": ("UNREACHABLE",),
}

_WORD = re.compile(r"[a-z0-9]+")
_DEFINITION = re.compile(r"^\(module\s+definition\b")
#: How polyjit (UnsupportedError) says it does not implement something yet.
_NOT_YET = "not supported yet"


def wording_matches(expected: str, message: str) -> bool:
    """Loose message check: the suite's text, or all of its words, appear in the message."""
    expected_l, message_l = expected.lower(), message.lower()
    if expected_l in message_l:
        return True
    words = set(_WORD.findall(message_l))
    return all(w in words for w in _WORD.findall(expected_l))


def trap_code_matches(text: str, code: str | None) -> bool:
    """Does trap `code` fit the suite's trap text? Texts the table lacks accept any code."""
    wanted = TRAP_CODES.get(_trap_key(text))
    return wanted is None or code in wanted


def _trap_key(text: str) -> str:
    # "uninitialized element 2" names the element; the kind is the words before it.
    return re.sub(r"\s+\d+$", "", text.strip())


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


class ScriptRunner:
    """Runs the commands of one script against one executor into a FileResult."""

    def __init__(self, script: WastScript, executor: Executor, target: str,
                 skip_for: Callable[[str, int], Skip | None] = skip_list.skip_for,
                 text_checks: bool = True) -> None:
        self.script = script
        self.skip_for = skip_for
        self.text_checks = text_checks
        self.executor = executor
        self.result = FileResult(script.name, target)
        self.frontend_missing = executor.frontend_missing()
        self.text_missing = executor.text_missing()
        self.runtime_missing = executor.runtime_missing()
        self.sources: ModuleSources | None = None
        #: module_definition commands' modules by name, for module_instance
        self.definitions: dict[str, object] = {}
        #: modules (by name or registered name) refused as not supported yet, and why; the
        #: current module's reason if it was refused so
        self.unsupported: dict[str, str] = {}
        self.unsupported_current: str | None = None
        self.sources_missing = self.text_missing
        if not self.sources_missing:
            if script.source_path is None:
                self.sources_missing = "the script's .wast source is not known"
            else:
                try:
                    self.sources = ModuleSources(script.source_path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, SourceError) as e:
                    self.sources_missing = f"cannot read {script.source_path.name}: {e}"

    def run(self) -> FileResult:
        self.executor.reset()
        for command in self.script.commands:
            category = category_of(command)
            skip = self.skip_for(self.script.name, command.line) \
                if category or isinstance(command, Register) else None
            if skip is not None:
                # a skipped register (of a skipped module: a whole file, or listed) asserts
                # nothing and counts nowhere
                if category is not None:
                    self.result.tally.add(category, Status.SKIPPED)
                continue
            reason = self._on_unsupported(command)
            if reason is not None:
                if category is not None:
                    self.result.not_run(category, reason)
                if isinstance(command, Register):
                    self.unsupported[command.as_name] = reason
                elif isinstance(command, ModuleInstance):
                    self.unsupported_current = reason
                    if command.instance is not None:
                        self.unsupported[command.instance] = reason
                continue
            handler = getattr(self, "_" + type(command).__name__)
            handler(command)
        return self.result

    def _on_unsupported(self, command) -> str | None:
        """Why `command` cannot run: it acts on a module the engine refused as "not supported
        yet" (None: it can run)."""
        if isinstance(command, Register):
            name = command.name
        elif isinstance(command, ModuleInstance):
            name = command.module
        elif isinstance(command, (ActionCommand, AssertReturn, AssertTrap, AssertExhaustion,
                                  AssertException)):
            name = command.action.module
        else:
            return None
        return self.unsupported_current if name is None else self.unsupported.get(name)

    def _where(self, command) -> str:
        return f"{self.script.name}.wast:{command.line}"

    def _wording(self, command, expected: str, message: str) -> None:
        self.result.tally.note(Note.WORDING)
        self.result.wording.append(f"{self._where(command)}: expected {expected!r}, "
                                   f"got {message.splitlines()[0] if message else ''!r}")

    def _pass(self, category: Category) -> None:
        self.result.tally.add(category, Status.PASSED)

    def _fail(self, category: Category | None, command, what: str) -> None:
        if _NOT_YET not in what and category is Category.MODULE:
            # a link error naming a registered module that was not supported yet
            refused = [r for n, r in self.unsupported.items() if f"`{n}::" in what]
            if refused:
                what = f"imports a module that was refused: {refused[0]}"
        if _NOT_YET in what:
            # refused as not implemented yet: not yet run, and so is what uses the module
            reason = what[what.index(_NOT_YET):].splitlines()[0]
            if category is not None:
                self.result.not_run(category, reason)
            if isinstance(command, (ModuleCommand, ModuleDefinition)) \
                    and category is Category.MODULE:
                if isinstance(command, ModuleCommand):
                    self.unsupported_current = reason
                if command.name is not None:
                    self.unsupported[command.name] = reason
            return
        self.result.fail(category, f"{self._where(command)}: {what}", command.line)

    # -- modules

    def _check_text(self, cmd, command_type: str, filename: str) -> None:
        """Parse the command's module from its source text; it must give wast2json's module."""
        category = Category.TEXT_MODULE
        if not self.text_checks:
            return
        if self.sources_missing:
            self.result.not_run(category, self.sources_missing)
            return
        text = self.sources.module_text(cmd.line, command_type)
        if text is None:
            self._fail(category, cmd, f"harness: no ({command_type} ...) found at this line")
            return
        if isinstance(cmd, ModuleDefinition):   # `definition` is the script's, not the module's
            text = _DEFINITION.sub("(module", text, count=1)
        form = module_form(text)
        try:
            got = self.executor.wat2wasm(text)
        except Rejected as e:
            self._fail(category, cmd, f"{form} module rejected by the text parser: {e}")
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"text parser raised {_describe(e)}")
            return
        expected = self.script.module_bytes(filename)
        if form == "binary":
            problem = None if got == expected else "(module binary ...) bytes differ"
        else:
            try:
                problem = difference(got, expected)
            except Exception as e:  # noqa: BLE001
                problem = f"comparing the binaries raised {_describe(e)}"
        if problem:
            self._fail(category, cmd, f"{form} module differs from wast2json's: {problem}")
        else:
            self._pass(category)

    def _ModuleCommand(self, cmd: ModuleCommand) -> None:
        self.unsupported_current = None
        self._check_text(cmd, "module", cmd.filename)
        category = Category.MODULE
        if self.frontend_missing:
            self.result.not_run(category, self.frontend_missing)
            return
        try:
            module = self.executor.compile(self.script.module_bytes(cmd.filename))
        except Rejected as e:
            self._fail(category, cmd, f"module rejected: {e}")
            self._forget_current()
            return
        except Exception as e:  # noqa: BLE001 - any other exception is a bug to report
            self._fail(category, cmd, f"module compile raised {_describe(e)}")
            self._forget_current()
            return
        if self.runtime_missing:
            self._pass(category)  # decoded and validated; instantiation is counted nowhere
            return
        try:
            self.executor.instantiate(module, cmd.name)
        except (Trapped, LinkFailed) as e:
            self._fail(category, cmd, f"instantiation failed: {_describe(e)}")
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"instantiation raised {_describe(e)}")
            return
        self._pass(category)

    def _ModuleDefinition(self, cmd: ModuleDefinition) -> None:
        self._check_text(cmd, "module", cmd.filename)
        category = Category.MODULE
        if self.frontend_missing:
            self.result.not_run(category, self.frontend_missing)
            return
        try:
            module = self.executor.compile(self.script.module_bytes(cmd.filename))
        except Rejected as e:
            self._fail(category, cmd, f"module definition rejected: {e}")
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"module definition raised {_describe(e)}")
            return
        if cmd.name is not None:
            self.definitions[cmd.name] = module
        self._pass(category)

    def _ModuleInstance(self, cmd: ModuleInstance) -> None:
        category = Category.MODULE
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        module = self.definitions.get(cmd.module)
        if module is None:
            self._fail(category, cmd, f"no module definition {cmd.module!r} (it failed)")
            self._forget_current()
            return
        try:
            self.executor.instantiate(module, cmd.instance)
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"instantiation raised {_describe(e)}")
            return
        self._pass(category)

    def _forget_current(self) -> None:
        if not self.runtime_missing:
            self.executor.forget_current()

    def _Register(self, cmd: Register) -> None:
        if self.runtime_missing:
            return
        try:
            self.executor.register(cmd.name, cmd.as_name)
        except Exception as e:  # noqa: BLE001
            self._fail(None, cmd, f"register {cmd.as_name!r} raised {_describe(e)}")

    def _AssertModule(self, cmd: AssertModule) -> None:
        if cmd.module_type is ModuleType.TEXT:
            if self.sources is not None:
                self.sources.module_text(cmd.line, cmd.kind.value)  # keep the order in step
        else:
            self._check_text(cmd, cmd.kind.value, cmd.filename)
        category = category_of(cmd)
        if cmd.kind in (ModuleAssertKind.MALFORMED, ModuleAssertKind.INVALID):
            self._assert_rejected(cmd, category)
        else:
            self._assert_not_instantiable(cmd, category)

    def _assert_rejected(self, cmd: AssertModule, category: Category) -> None:
        text = cmd.module_type is ModuleType.TEXT
        if text and not self.text_checks:
            return
        missing = self.text_missing if text else self.frontend_missing
        if text and not missing:
            missing = self.frontend_missing
        if missing:
            self.result.not_run(category, missing)
            return
        try:
            if text:
                self.executor.compile_text(self.script.module_text(cmd.filename))
            else:
                self.executor.compile(self.script.module_bytes(cmd.filename))
        except Rejected as e:
            self._pass(category)
            if not wording_matches(cmd.text, str(e)):
                self._wording(cmd, cmd.text, str(e))
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.kind.value} ({cmd.text!r}) raised {_describe(e)}")
            return
        self._fail(category, cmd, f"{cmd.kind.value} ({cmd.text!r}): module was accepted")

    def _assert_not_instantiable(self, cmd: AssertModule, category: Category) -> None:
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        try:
            module = self.executor.compile(self.script.module_bytes(cmd.filename))
            self.executor.instantiate(module, None, current=False)
        except Rejected as e:
            self._fail(category, cmd, f"{cmd.kind.value}: module rejected: {e}")
            return
        except Trapped as e:
            if cmd.kind is ModuleAssertKind.UNINSTANTIABLE:
                self._pass(category)
                if not trap_code_matches(cmd.text, e.code) and not wording_matches(cmd.text, str(e)):
                    self._wording(cmd, cmd.text, str(e))
            else:
                self._fail(category, cmd, f"{cmd.kind.value} ({cmd.text!r}): trapped: {e}")
            return
        except LinkFailed as e:
            if cmd.kind is ModuleAssertKind.UNLINKABLE:
                self._pass(category)
                if not wording_matches(cmd.text, str(e)):
                    self._wording(cmd, cmd.text, str(e))
            else:
                self._fail(category, cmd, f"{cmd.kind.value} ({cmd.text!r}): "
                                          f"failed without a trap: {e}")
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.kind.value} raised {_describe(e)}")
            return
        self._fail(category, cmd, f"{cmd.kind.value} ({cmd.text!r}): instantiation succeeded")

    # -- actions

    def _perform(self, action):
        if action.kind is ActionKind.INVOKE:
            return self.executor.invoke(action.module, action.field, action.args)
        return [self.executor.get(action.module, action.field)]

    def _ActionCommand(self, cmd: ActionCommand) -> None:
        category = Category.ACTION
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        try:
            self._perform(cmd.action)
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.action}: {_describe(e)}")
            return
        self._pass(category)

    def _AssertReturn(self, cmd: AssertReturn) -> None:
        category = Category.RETURN
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        try:
            got = self._perform(cmd.action)
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.action}: {_describe(e)}")
            return
        if results_match(cmd.expected, got):
            self._pass(category)
        else:
            self._fail(category, cmd, f"{cmd.action}: expected "
                       f"[{', '.join(map(str, cmd.expected))}], got [{', '.join(map(str, got))}]")

    def _AssertTrap(self, cmd: AssertTrap) -> None:
        self._expect_trap(cmd, Category.TRAP)

    def _AssertException(self, cmd: AssertException) -> None:
        category = Category.EXCEPTION
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        try:
            got = self._perform(cmd.action)
        except Thrown:
            self._pass(category)
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.action}: expected an exception, got {_describe(e)}")
            return
        self._fail(category, cmd, f"{cmd.action}: expected an exception, "
                                  f"returned [{', '.join(map(str, got))}]")

    def _AssertExhaustion(self, cmd: AssertExhaustion) -> None:
        self._expect_trap(cmd, Category.EXHAUSTION)

    def _expect_trap(self, cmd, category: Category) -> None:
        if self.runtime_missing:
            self.result.not_run(category, self.runtime_missing)
            return
        try:
            got = self._perform(cmd.action)
        except Trapped as e:
            if e.code is not None and not trap_code_matches(cmd.text, e.code):
                self._fail(category, cmd, f"{cmd.action}: expected trap {cmd.text!r}, "
                                          f"got trap {e.code}: {e}")
                return
            self._pass(category)
            if not wording_matches(_trap_key(cmd.text), str(e)):
                self._wording(cmd, cmd.text, str(e))
            return
        except Exception as e:  # noqa: BLE001
            self._fail(category, cmd, f"{cmd.action}: expected trap {cmd.text!r}, "
                                      f"got {_describe(e)}")
            return
        self._fail(category, cmd, f"{cmd.action}: expected trap {cmd.text!r}, "
                                  f"returned [{', '.join(map(str, got))}]")


def category_of(command) -> Category | None:
    """The status-table row of a command (None for register, which asserts nothing)."""
    if isinstance(command, (ModuleCommand, ModuleDefinition, ModuleInstance)):
        return Category.MODULE
    if isinstance(command, AssertException):
        return Category.EXCEPTION
    if isinstance(command, AssertReturn):
        return Category.RETURN
    if isinstance(command, AssertTrap):
        return Category.TRAP
    if isinstance(command, AssertExhaustion):
        return Category.EXHAUSTION
    if isinstance(command, ActionCommand):
        return Category.ACTION
    if isinstance(command, AssertModule):
        if command.module_type is ModuleType.TEXT:
            return Category.TEXT
        return {ModuleAssertKind.MALFORMED: Category.MALFORMED,
                ModuleAssertKind.INVALID: Category.INVALID,
                ModuleAssertKind.UNLINKABLE: Category.UNLINKABLE,
                ModuleAssertKind.UNINSTANTIABLE: Category.UNINSTANTIABLE}[command.kind]
    return None


def not_run_result(script: WastScript, target: str, reason: str,
                   text_checks: bool = True,
                   skip_for: Callable[[str, int], Skip | None] = skip_list.skip_for) -> FileResult:
    """Every assertion of `script` counted as not yet run (a target that cannot run at all).
    `text_checks` False: the text rows are left out, as ScriptRunner leaves them out."""
    result = FileResult(script.name, target)
    for command in script.commands:
        category = category_of(command)
        if category is Category.TEXT and not text_checks:
            continue
        if category is not None and skip_for(script.name, command.line):
            result.tally.add(category, Status.SKIPPED)
        elif category is not None:
            result.not_run(category, reason)
        if text_checks and has_text_module_check(command):
            result.not_run(Category.TEXT_MODULE, reason)
    return result


def has_text_module_check(command) -> bool:
    """Does the command carry a module whose source text the text-module check parses?"""
    return isinstance(command, (ModuleCommand, ModuleDefinition)) or (
        isinstance(command, AssertModule) and command.module_type is ModuleType.BINARY)


def run_file(wast: Path, executor: Executor, target: str) -> FileResult:
    """Convert (cached) and run one .wast file."""
    script = load_script(converted(wast), wast.stem, wast)
    return ScriptRunner(script, executor, target).run()


def run_target(wast: Path, target: Target, suite: Suite = CORE_2_0,
               missing: str | None = None) -> FileResult:
    """Run one .wast file of `suite` on a target (all "not yet run" if the target cannot run
    at all, or if `missing` says why it cannot run this file's feature yet). polyjit targets
    get the suite's settings under their own."""
    script = load_script(converted(wast, tool=suite.tool), wast.stem, wast)

    def skip_for(file: str, line: int) -> Skip | None:
        return skip_list.skip_for(file, line, suite.name)

    if missing and not target.frontend_alone:
        return not_run_result(script, target.name, missing, text_checks=False,
                              skip_for=skip_for)
    settings = {**suite.settings, **target.settings} if target.api == "polyjit" else {}
    executor = make_executor(target.api, settings)
    if not target.frontend_alone:
        reason = executor.runtime_missing()
        if reason:
            return not_run_result(script, target.name, reason, text_checks=False,
                                  skip_for=skip_for)
    # Text parsing does not depend on the target: check it once, on the front-end targets.
    return ScriptRunner(script, executor, target.name, skip_for=skip_for,
                        text_checks=target.frontend_alone).run()
