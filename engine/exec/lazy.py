"""Lazy compilation (Config.lazy_compilation): a module's functions are compiled on their first
call, natively and under Unicorn alike.

A LazyCode, one per (Module, backend) in the process, is one reservation of address space:

    [slot table: read+write][the lazy unit: read+execute][room for compiled functions]

The reservation is a CodeSpace (engine.exec.codespace: executable and writable views of the same
memory, never both in one). The lazy unit (ModuleCompiler.lazy_unit) has the module's
trampolines and, per defined function, a stub at a fixed address: that address is the
function's for good (import slots, entry calls and direct calls reach it). The stub jumps
through the function's slot, which holds the function's thunk until it is compiled: the thunk
calls helper LAZY_COMPILE (`LazyCode.compile`), which compiles the function, writes its code to
the room (64-byte aligned, through the writable view), points the slot at it and returns it. A
slot changes once; code is never moved or freed before the reservation, so an emulator maps the
whole reservation once. A function compiled later calls the ones compiled before it directly;
its calls to the others go through their stubs until they are compiled, when the backend
repoints them in place (where it can: x86_64, while no emulator runs the code), and the
executor points the function's FuncRef records at its code.

Tiered compilation (Config.tiered_compilation) puts a page of hotness counters (one i32 a
function, writable from both views) before the slot table. A function is first compiled by the
baseline tier with counting code: its entry and loop headers count its counter down (weights
backends.base.TIER_UP_*); below zero it calls helper TIER_UP (`LazyCode.tier_up`), which
sets the counter far from zero and queues the function, once, on the engine's background
compiler (engine.exec.tierup) and returns: the baseline code goes on running. The queue
takes the cheapest for the work done first (`_cost`: size over calls and loop iterations);
functions of LARGE_COMPILE instructions or more have a lane, a thread and a compile process
of their own, so that an interpreter's dispatch loop (hundreds of milliseconds to compile)
does not hold up the small hot functions. The compile
thread compiles it with the optimising tier, then (under the lock, as every placement) writes
the code to the room, points its slot and the calls recorded as reaching it at that code.
The baseline activations running go on; their code stays where it is (`placed` holds both
codes, so pcs in either find the function). Until a function's code is final (optimised),
code compiled later and FuncRef records reach it through its stub, never its counted code.
What the background compile raises is recorded as an InternalError (`failures`) that the
executor raises from the next call into the module's code (`raise_failure`); the function
stays on its baseline code.

An activation hot in a loop of counted code moves to optimised code at that loop's header
(on-stack replacement): where the operand stack is empty there, the loop's slow path passes
TIER_UP its position too (backends.base.osr_request), and `osr_entry` queues the optimising
compile of the function's entry (engine.ir.osr: one for all such loops, every local and the
loop's number its parameters) and returns 0 until it is placed, then its address; the counted
code calls it with every local and the number, and returns what it returns. A function with
such loops keeps its counter near zero (OSR_RECHECK) so its activations keep asking; the
entries are in `placed` as the function's code (`moved_at` tells backtraces the moved
activation is one frame).

A large module's first-tier code is compiled ahead of need by a forked process
(engine.compile.forked.ForkedStream): the one that validated half of the module, which the
Module hands over (engine.compile.ahead), or else one the first compile forks; it goes
depth-first through the callees of what this process compiles, and `_compile` installs its
code when it has sent it (`prefetched`).

Natively and under Unicorn alike the compile thread installs code while the program runs (both
run it inside a ctypes call, which releases the GIL). That is safe because the code is written
to room no code reaches yet and only then made reachable by one aligned 8-byte store (the
slot, a FuncRef record's code word, or natively a call's rel32 inside one cache line), which
a CPU, or Unicorn's load from the mapped memory, sees whole; an emulator has no translation
of room that was never reached, and under emulation calls are not patched at all.

With lazy compilation off, tiered compilation compiles every function with the baseline tier
when the module is first instantiated (`compile_all`, in worker processes for a large module),
then tiers hot ones up the same way. precompile_module, Module.serialize and Config.cache
compile whole modules (engine.compile.driver.code_for) with the optimising tier; a module
whose whole code is at hand runs that code.
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import functools
import threading
import time
import weakref
from typing import Any, Callable

from backends.base import (TIER_UP_ENTRY_WEIGHT, TIER_UP_LOOP_WEIGHT, TRAP_SYMBOL,
                           calls_offset, func_symbol, lazy_symbol, lazy_table_size)
from ..compile.ahead import compile_order, elem_functions, first_tier
from ..compile.driver import function_ir
from ..compile.forked import ChildError, ChildGone, ForkedCompiler, ForkedStream
from ..compile.parallel import MIN_PARALLEL_INSTRUCTIONS, can_fork, compile_parallel
from ..errors import InternalError
from ..ir.errors import IRError
from ..ir.gcpause import gc_paused
from ..wasm.module import PendingBody
from ..wasm.types import ExternKind
from .codespace import CodeSpace
from .space import PAGE, round_up
from .symbols import CodeUnit
from .tierup import BackgroundCompiler, background_compiler

#: the most address space one module's compiled functions may take: every reference between
#: the unit and the functions must stay within a 32-bit pc-relative displacement
MAX_ROOM = 1536 << 20

#: a hotness counter once its function tiered up (or is doing so): far from zero
_FAR = 0x7FFF_FFFF

#: loop iterations between two asks of a hot loop for its on-stack replacement entry while
#: it is compiled (each ask is a call into Python)
OSR_RECHECK = 1 << 14
#: a function of this many wasm instructions or more is compiled by the optimising tier in
#: a lane of the background compiler of its own (a few hundred milliseconds each: the small
#: hot functions queued meanwhile are not held up behind it)
LARGE_COMPILE = 2500
#: how long (seconds per wasm instruction) an activation of such a function stays in one
#: loop before its on-stack replacement entry is compiled: about what the compile takes
OSR_WAIT = 30e-6
#: the program is taken to be starting up, and nothing is tiered up, while its last this many
#: first-tier compiles came within STARTUP_WINDOW seconds (at the default threshold of 1000
#: calls; in proportion to Config.tier_up_threshold)
STARTUP_COMPILES = 8
STARTUP_WINDOW = 0.04

#: while the program waits for a function the compile-ahead process is compiling, this process
#: compiles others the program is likely to need next (`_spare`), each if it should take at
#: most SPARE_FIT of the time that compile has left: by this process's own time per wasm
#: instruction once it has compiled SPARE_MEASURED instructions, SPARE_RATE until then
SPARE_FIT = 0.8
SPARE_MEASURED = 2000
SPARE_RATE = 1.5e-6
#: from this many wasm instructions in all function bodies, tier-up compiles run in a forked
#: process under Config.parallel_compilation (below it forking costs more than it saves)
FORK_MIN_INSTRUCTIONS = MIN_PARALLEL_INSTRUCTIONS


def room_for(instructions: int, functions: int) -> int:
    """Address space reserved for a module's compiled functions (virtual: only the pages code
    is written to cost memory): generously more than machine code takes for `instructions`
    wasm instructions on any target (riscv64's scalar SIMD is the largest, tens of bytes an
    instruction), plus each function's alignment."""
    return round_up(128 * instructions + 64 * functions + (1 << 20), PAGE)


def host_signatures(wasm: Any, info: Any) -> tuple[list[tuple], list[tuple]]:
    """The signatures a lazy unit carries trampolines for: entry, of the functions the module
    exports and its start function (what the host calls first); exit, of the functions it
    imports. A call across the boundary at another signature (a function reached through a
    table, say) finds its trampoline in extra code made once per process
    (engine.exec.compiled): most of a module's types never cross it, and their trampolines
    would be most of the Keystone time of a first instantiation."""
    types = wasm.func_type_indices()
    called = [exp.index for exp in wasm.exports if exp.kind == ExternKind.FUNC]
    if wasm.start is not None:
        called.append(wasm.start)
    nimp = wasm.num_imported_funcs
    sigs = info.type_sigs
    return [sigs[types[i]] for i in called], [sigs[t] for t in types[:nimp]]


class LazyCode:
    """A module's code for one backend under lazy compilation (see the module docstring)."""

    def __init__(self, wasm: Any, info: Any, backend: Any, fuel: bool,
                 baseline: bool = False, tiered: bool = False, threshold: int = 1000,
                 background: BackgroundCompiler | None = None, parallel: bool = False
                 ) -> None:
        self.wasm, self.info, self.backend, self.fuel = wasm, info, backend, fuel
        #: compile with the backend's baseline tier first (Config.baseline_compilation, or
        #: tiered_compilation)
        self.baseline = baseline or tiered
        #: recompile hot functions with the optimising tier (Config.tiered_compilation;
        #: baseline_compilation forces the baseline tier)
        self.tiered = tiered = tiered and not baseline
        self.first = first = wasm.num_imported_funcs
        self.count = count = len(wasm.funcs)
        self.unit = unit = backend.lazy_unit(info, first, count, *host_signatures(wasm, info))
        table = lazy_table_size(count)
        counters = round_up(8 * count, PAGE) if tiered else 0     # hotness, then calls
        code = round_up(len(unit.code), PAGE)
        instructions = wasm.instruction_count()
        room = room_for(instructions, count)
        self.space = space = CodeSpace(counters + table + code + room)
        #: where the slot table starts (the counters, if any, come before it)
        self.slot_table = space.addr + counters
        self.code_base = self.slot_table + table
        self.end = space.addr + space.size
        self.slots = (ctypes.c_uint64 * max(count, 1)).from_address(space.writable + counters)
        #: the hotness counters (tiered only), each starting at the threshold's weight
        self.counters: Any = None
        #: a counter's start (and where it restarts when the background queue is full)
        self._count_from = threshold * TIER_UP_ENTRY_WEIGHT
        #: where a counter restarts in a function with on-stack replacement entries: it asks
        #: for them that often (sooner under a low threshold: tests move activations often)
        self._recheck = min(OSR_RECHECK * TIER_UP_LOOP_WEIGHT, self._count_from)
        #: the calls of each function's counted code (tiered only; backends.base.calls_offset)
        self.calls: Any = None
        if tiered:
            space.data(0, counters)
            self.counters = (ctypes.c_int32 * max(count, 1)).from_address(space.writable)
            self.calls = (ctypes.c_uint32 * max(count, 1)).from_address(
                space.writable + calls_offset(count))
            for k in range(count):
                self.counters[k] = self._count_from
        #: where hot functions are compiled (tiered only)
        self.background = background if background is not None or not tiered else \
            BackgroundCompiler()
        for k in range(count):
            self.slots[k] = self.code_base + unit.symbols[lazy_symbol(first + k)]
        space.write(self.code_base, unit.code)
        self._next = self.code_base + code
        #: function index -> address of its compiled code
        self.compiled: dict[int, int] = {}
        #: (start, end, function index) of the compiled functions, by address
        self.placed: list[tuple[int, int, int]] = []
        #: function index -> calls in compiled code that still reach its stub (addresses the
        #: backend's call_target_patch takes), repointed when it is compiled
        self._callers: dict[int, list[int]] = {}
        #: ``funcN`` -> N, as calls name their callees (`_note_calls`)
        self._symbol_index: dict[str, int] = {}
        #: calls are repointed only while no emulator runs this code: an emulator may read an
        #: instruction while it is stored, and keeps its own translations anyway
        self.patching = bool(getattr(backend, "patchable", False))
        #: the functions the baseline tier compiled
        self.baseline_compiled: set[int] = set()
        #: function index -> address of code that is its code for good (all compiled code but
        #: counted baseline code, which the optimised code replaces)
        self._final: dict[int, int] = {}
        #: the functions compiled again by the optimising tier after their baseline code
        self.tiered_up: set[int] = set()
        #: the hot functions queued on (or being compiled by) the background compiler
        self._queued: set[int] = set()
        #: what background compiles raised, as InternalErrors not raised yet (raise_failure)
        self.failures: list[InternalError] = []
        #: the background compiles of a large module run in a forked process (made by the
        #: first): a thread compiling would hold the GIL the program's host calls need
        self.forks = tiered and parallel and instructions >= FORK_MIN_INSTRUCTIONS and \
            can_fork()
        self._forked: ForkedCompiler | None = None
        #: the compile process of the large functions' lane (LARGE_COMPILE), forked when
        #: the first one is compiled
        self._forked_large: ForkedCompiler | None = None
        #: a large module's first-tier code compiled ahead of need by a forked process
        #: (`_compile`), started by the first compile; the functions taken from it
        self.prefetch = self.baseline and parallel and \
            instructions >= FORK_MIN_INSTRUCTIONS and can_fork()
        self._stream: ForkedStream | None = None
        self.prefetched = 0
        #: functions compiled here while the program waited for the stream's (`_spare`),
        #: and the first-tier compiles done here so far (wasm instructions, seconds: the
        #: time per instruction)
        self.spared = 0
        self._compiled_weight = 0
        self._compile_seconds = 0.0
        #: function index -> the address of its on-stack replacement entry (engine.ir.osr),
        #: 0 while it is compiled or when it failed
        self._osr: dict[int, int] = {}
        #: function index -> its asks to tier up so far (`tier_up`)
        self._asks: dict[int, int] = {}
        #: the functions whose optimising compile failed (not queued again)
        self._given_up: set[int] = set()
        #: function index -> the loops (body positions) of its counted code that can ask
        #: for such an entry: its counter is kept near zero (`tier_up`), so those loops ask
        self._movable: dict[int, tuple[int, ...]] = {}
        #: function index -> (where its last TIER_UP came from: a loop position or None for
        #: its entry, its calls then)
        self._last_ask: dict[int, tuple[int | None, int]] = {}
        #: function index -> when its asks began to come from that loop in that activation
        #: (time.monotonic; a large function's entry waits, `hot`)
        self._in_loop_since: dict[int, float] = {}
        #: function index -> its lane in the background compiler (`_lane`)
        self._lanes: dict[int, int] = {}
        #: when the last STARTUP_COMPILES first-tier compiles were (`hot`: the program is
        #: starting up while they come faster than one window for them all)
        self._first_tier_times = collections.deque([float("-inf")] * STARTUP_COMPILES,
                                                   maxlen=STARTUP_COMPILES)
        self._startup_window = STARTUP_WINDOW * threshold / 1000
        #: activations moved to such an entry so far
        self.osr_moves = 0
        #: where the entries' codes start (in `placed`)
        self._osr_starts: set[int] = set()
        self._lock = threading.Lock()
        self._addresses = {s: self.code_base + off for s, off in unit.symbols.items()}
        #: each defined function's stub (its address until its code is final)
        self.stubs = [self._addresses[func_symbol(first + k)] for k in range(count)]
        #: where a call of each defined function goes: its final code once there is some,
        #: else its stub (what an instance's FuncRef records start with)
        self.entries = list(self.stubs)
        self._view: LazyUnit | None = None

    def view(self) -> LazyUnit:
        """The CodeUnit every machine runs this code through (made once: it holds nothing
        of a machine's)."""
        view = self._view
        if view is None:
            view = self._view = LazyUnit(self)
        return view

    @property
    def trap_stub(self) -> int:
        return self._addresses[TRAP_SYMBOL]

    def emulated(self) -> None:
        """An emulator runs this code from now on: calls are no longer repointed."""
        with self._lock:
            self.patching = False
            self._callers.clear()

    def compile(self, index: int) -> int:
        """The address of defined function `index`'s code, compiled now if it is not yet
        (helper LAZY_COMPILE; thread-safe, compiles each function once)."""
        addr = self.compiled.get(index)
        if addr is not None:
            return addr
        with self._lock:
            addr = self.compiled.get(index)
            if addr is None:
                addr = self._compile(index)
        return addr

    def _compile(self, index: int) -> int:
        """`compile`'s work, the lock held: the speculative compile process's code if it has
        sent it (started by the first compile of a large module), else compiled here."""
        stream = self._stream
        if stream is None and self.prefetch:
            stream = self._start_stream(index)
        done = None
        if stream is not None:
            wait: list[list[int]] = []      # (this wait's candidates, from the first ask)
            done = stream.take(index, meanwhile=functools.partial(self._spare, index, wait))
        self._first_tier_times.append(time.monotonic())
        if done is None:
            # its callees are next for the child, while it compiles here: found here (its
            # body is decoded for the compile anyway), not decoded again there for them
            done = self._first_tier_here(index, stream)
        else:
            stream.seen(index)          # type: ignore[union-attr]
            self.prefetched += 1
        return self._install_first(index, *done)

    def _first_tier_here(self, index: int, tell: ForkedStream | None = None
                         ) -> tuple[bool, Any]:
        """`_first_tier(index)` in this process, timed (`_compiled_weight`,
        `_compile_seconds`: the time per instruction `_spare` expects); the body dropped after
        if it was pending (decoded again if it tiers up: not kept for the collector to scan,
        nor in memory). `tell`: a stream to tell it is seen first, with its hints."""
        code = self.wasm.codes[index - self.first]
        pending = isinstance(code, PendingBody) and not code.decoded
        start = time.perf_counter()
        with gc_paused():
            if tell is not None:
                tell.seen(index, compile_order(self.wasm, index))
            done = self._first_tier(index)
            if pending:
                code.release()
        self._compiled_weight += code.weight()
        self._compile_seconds += time.perf_counter() - start
        return done

    def _spare(self, index: int, wait: list[list[int]], started: float,
               hints: list[int] | None) -> bool:
        """While the compile-ahead process compiles function `index`, which the program
        waits for (it started at `started`), compile here one of `hints` (`index`'s
        callees, engine.compile.ahead.compile_order; None while the child works them out,
        found here when the body is decoded here: this process validated it) that is not
        compiled or claimed yet and whose compile should end before that one does (by this
        process's time per instruction so far): the program is likely to need it soon, and
        this processor would be idle. `wait` holds this wait's candidates left once found
        (empty before the first ask that finds them), popped from the end. Whether one was
        compiled (the lock is held)."""
        stream, codes, first = self._stream, self.wasm.codes, self.first
        if stream is None:
            return False
        if not wait:
            if hints is None:
                code = codes[index - first]
                if isinstance(code, PendingBody) and not code.decoded:
                    return False
                hints = compile_order(self.wasm, index)
            # in body order (the child takes the largest first)
            wait.append(hints[:0:-1] + hints[:1])
        spares = wait[0]
        rate = self._compile_seconds / self._compiled_weight \
            if self._compiled_weight >= SPARE_MEASURED else SPARE_RATE
        left = SPARE_FIT * (started + rate * codes[index - first].weight() - time.monotonic())
        while spares and left > 0:
            q = spares.pop()
            if q in self.compiled or rate * codes[q - first].weight() > left or \
                    not stream.claim(q):
                continue
            try:
                done = self._first_tier_here(q)
            except Exception:       # noqa: BLE001 - the program's call compiles it again
                return True         # (and raises what this raised, where it belongs)
            self._install_first(q, *done)
            self.spared += 1
            return True
        return False

    def adopt(self, stream: ForkedStream | None) -> None:
        """Take first-tier code from `stream` (compiled ahead since the Module was made,
        engine.compile.ahead) instead of forking a process for it at the first compile."""
        if stream is not None:
            self.prefetch = False
            self._stream = stream

    def _start_stream(self, first: int) -> ForkedStream | None:
        """Fork the process that compiles, ahead of their first calls, the functions
        reachable from defined function `first` by direct calls (depth-first, the callees
        of what this process compiles first), then those of the element segments."""
        self.prefetch = False
        try:
            self._stream = ForkedStream(self._first_tier, compile_order(self.wasm, first),
                                        elem_functions(self.wasm),
                                        functools.partial(compile_order, self.wasm),
                                        size=self.first + self.count)
        except ChildGone:
            self._stream = None
        return self._stream

    def _install_first(self, index: int, baseline: bool, piece: Any) -> int:
        """Install function `index`'s first code (a _first_tier result), the lock held."""
        if baseline:
            self.baseline_compiled.add(index)
            movable = getattr(piece, "movable", ())
            if movable:
                self._movable[index] = movable
        return self._install(index, piece, final=not (baseline and self.tiered))

    def compile_all(self, jobs: int = 1) -> None:
        """Compile every defined function not compiled yet, now, in `jobs` processes
        (engine.compile.parallel): tiered compilation with lazy compilation off compiles a
        module's functions with the baseline tier when it is first instantiated (what that
        tier does not handle with the optimising tier); hot ones tier up later as always."""
        with self._lock:
            self.prefetch = False
            todo = [i for i in range(self.first, self.first + self.count)
                    if i not in self.compiled]
            codes = self.wasm.codes
            sizes = [codes[i - self.first].weight() for i in todo]

            def job(index: int) -> tuple[bool, Any]:
                # a body left pending is decoded for its compile only (by the process that
                # compiles it): the whole module's instructions are never all held at once
                code = codes[index - self.first]
                done = self._first_tier(index)
                if isinstance(code, PendingBody):
                    code.release()
                return done
            with gc_paused():
                pieces = compile_parallel(lambda p: job(todo[p]), sizes, jobs) \
                    if jobs > 1 else (job(i) for i in todo)
                for index, (baseline, piece) in zip(todo, pieces):
                    self._install_first(index, baseline, piece)

    def _first_tier(self, index: int) -> tuple[bool, Any]:
        """engine.compile.ahead.first_tier for function `index` (counted baseline code under
        tiered compilation)."""
        return first_tier(self.wasm, self.info, self.backend, index, self.baseline,
                          self.tiered, self.fuel)

    def _optimised(self, index: int, loops: tuple[int, ...] | None = None) -> Any:
        """Function `index` compiled by the optimising tier (a backend function_code); its
        on-stack replacement entry at the loops at body positions `loops` if given."""
        return self.backend.function_code(function_ir(self.wasm, index, self.fuel, loops),
                                          self.info)

    def _optimised_job(self, request: tuple) -> Any:
        """`_optimised(*request)` (what the compile process is sent)."""
        return self._optimised(*request)

    def final(self, index: int) -> int | None:
        """The address of function `index`'s code for good (not counted baseline code), or
        None: until then code and FuncRef records reach it through its stub."""
        return self._final.get(index)

    def tier_up(self, index: int, installed: Callable[[int], None] | None = None) -> bool:
        """Hot defined function `index` (helper TIER_UP, from its counted baseline code):
        queue it, once, for the background compiler, which compiles it with the optimising
        tier, installs that code and calls `installed(address)`; whether it was queued now.
        Returns at once (thread-safe): the baseline code goes on meanwhile."""
        k = index - self.first
        size = self.wasm.codes[k].weight()
        with self._lock:
            if index in self._final or index not in self.compiled or index in self._given_up:
                self.counters[k] = self._recheck if index in self._movable else _FAR
                return False
            if self._starting_up():     # ask again later (asks not counted)
                self.counters[k] = self._recheck
                return False
            # while it waits it keeps asking (every threshold's worth of calls): at its 4th,
            # 16th, ... 4096th ask it is queued again, as if that many times smaller (the
            # hottest for its size first; the entries it leaves behind do nothing)
            self.counters[k] = self._recheck
            asks = self._asks[index] = self._asks.get(index, 0) + 1
            if index in self._queued and (asks & (asks - 1) or asks.bit_length() % 2 == 0
                                          or asks > 4096):
                return False
            again = index in self._queued
            self._queued.add(index)
        if self.background.submit(lambda: self._tier_up_now(index, installed),
                                  lambda e: self._failed(index, e),
                                  self._cost(k, size, asks), self._lane(index)):
            return not again
        with self._lock:                # the queue is full: count again, retry later
            if not again:
                self._queued.discard(index)
        self.counters[k] = self._count_from
        return False

    def _starting_up(self) -> bool:
        """Whether the program is still starting up: its last STARTUP_COMPILES first-tier
        compiles came within the start-up window (nothing new is queued for the optimising
        tier then; code already compiled is used)."""
        return time.monotonic() - self._first_tier_times[0] < self._startup_window

    def _cost(self, k: int, size: int, asks: int) -> int:
        """Where the tier-up of the function at position `k` (`size` instructions, `asks`
        asks so far) goes in the background queue: its size over the work its baseline
        code has done (the cheapest for the time it takes first). A call counts
        TIER_UP_ENTRY_WEIGHT on the counter and a loop iteration TIER_UP_LOOP_WEIGHT, so the
        counted total over-weighs calls; the work counts each call and each iteration once
        (about the same time: a small function's body, a loop's)."""
        calls = self.calls[k]
        counted = asks * self._count_from
        iterations = max(counted - TIER_UP_ENTRY_WEIGHT * calls, 0) // TIER_UP_LOOP_WEIGHT
        return (size << 20) // max(calls + iterations, 1)

    def hot(self, index: int, loop: int | None,
            installed: Callable[[int], None] | None = None) -> int:
        """Hot defined function `index` (helper TIER_UP from its counted code: at its entry,
        or at the header of the loop at body position `loop`): `tier_up`, and from a loop
        `osr_entry`; what TIER_UP returns. An activation is taken to be long in a loop, and
        its entry is compiled, when the function's last ask came from the same loop with no
        call of the function since (its calls counted at entry): about OSR_RECHECK
        iterations in one activation. Functions called often with short loops tier up whole
        instead, and their entries are not compiled for nothing. A function called once so
        far that is hot in a loop gets its entry at once, and no tier-up until it is called
        again. While the program is still starting up (`_starting_up`) neither is queued and
        the function asks again later: the second processor is compiling ahead for it then
        (forked.ForkedStream), and a short run ends before optimised code would pay for
        itself; an entry already made is still moved to. A large function's entry (LARGE_COMPILE) costs as much as its whole
        compile again, and an interpreter's dispatch loop, say, is one activation per call
        of a function called often: it is compiled only once the activation has stayed in
        the loop about as long as the compile will take (OSR_WAIT per instruction), so that
        it is likely to run on for as long again."""
        calls = self.calls[index - self.first]
        ask = (loop, calls)
        previous = self._last_ask.get(index)
        self._last_ask[index] = ask
        if loop is None or calls > 1:
            self.tier_up(index, installed)
        if loop is None:
            return 0
        # (called once so far: this is the one activation; its later calls tier it up)
        now = previous == ask or calls <= 1
        if self._lane(index) == 1:
            clock = time.monotonic()
            if previous != ask:
                self._in_loop_since[index] = clock
            size = self.wasm.codes[index - self.first].weight()
            now = now and clock - self._in_loop_since[index] >= size * OSR_WAIT
        return self.osr_entry(index, loop, compile_now=now)

    def osr_entry(self, index: int, loop: int, compile_now: bool = True) -> int:
        """Hot defined function `index` at the header of the loop at body position `loop`
        (helper TIER_UP from there, after `tier_up`): the address of the function's on-stack
        replacement entry (one for all the loops its activations can move from: engine.ir.osr),
        the activation to move there now; or 0, its compile queued on the background
        compiler the first time (`compile_now`: else it is only asked for again). A function
        with such loops asks again every OSR_RECHECK loop iterations (`tier_up` keeps its
        counter that near), so activations running its baseline code find the entry."""
        with self._lock:
            addr = self._osr.get(index)
            if addr is None:
                if not compile_now or self._starting_up():      # ask again soon
                    self.counters[index - self.first] = self._recheck
                    return 0
                self._osr[index] = 0
        loops = self._movable.get(index, ())
        # queued as tier-ups are, an entry's compile costing about half as much again as
        # the function's (its loops' headers take every local from the entry too)
        k = index - self.first
        if addr is None and not self.background.submit(
                lambda: self._osr_now(index, loops), lambda e: self._osr_failed(index, e),
                self._cost(k, self.wasm.codes[k].weight() * 3 // 2,
                           self._asks.get(index, 1)), self._lane(index)):
            with self._lock:            # the queue is full: ask again later
                del self._osr[index]
        self.counters[k] = self._recheck
        if addr and loop in loops:
            self.osr_moves += 1
            return addr
        return 0

    def osr_entries(self) -> dict[tuple[int, int], int]:
        """(function index, loop position) -> address of the on-stack replacement entry
        each loop's activations move to, for the entries made so far (for tests)."""
        with self._lock:
            return {(index, loop): addr for index, addr in self._osr.items() if addr
                    for loop in self._movable.get(index, ())}

    def _osr_now(self, index: int, loops: tuple[int, ...]) -> None:
        """The background job of `osr_entry`: compile the entry, place it (not final: it
        is no function's code, only the moving activations reach it)."""
        piece = self._compile_optimised(index, loops)
        with self._lock:
            addr = self._place(piece, f"{func_symbol(index)}.osr", index, optional=True)
            if addr is not None:        # (else the room is full: the activation stays)
                self._osr_starts.add(addr)
                self._osr[index] = addr

    def _osr_failed(self, index: int, error: BaseException) -> None:
        """An entry that cannot be made (block parameters around the loops: an IRError,
        here or in the compile process) stays 0; anything else is a failure as in
        `_failed`."""
        if not isinstance(error, (IRError, ChildError)) or "on-stack replacement" not in \
                str(error):
            self._failed(index, error)

    def _compile_optimised(self, index: int, loops: tuple[int, ...] | None) -> Any:
        """`_optimised(index, loops)` in the module's compile process if it has one, else
        here."""
        piece = self._optimised_elsewhere(index, loops) if self.forks else None
        if piece is None:
            with gc_paused():
                piece = self._optimised(index, loops)
        return piece

    def _tier_up_now(self, index: int, installed: Callable[[int], None] | None) -> None:
        """The background job of `tier_up`: compile (outside the lock, so lazy compiles go
        on), then place the code as final (under it); nothing when it is final already (the
        function was queued again)."""
        with self._lock:
            if index in self._final or index in self._given_up:
                return
        piece = self._compile_optimised(index, None)
        with self._lock:
            addr = self._install(index, piece, final=True)
            self.tiered_up.add(index)
            self._queued.discard(index)
        if installed is not None:
            installed(addr)

    def _optimised_elsewhere(self, index: int, loops: tuple[int, ...] | None = None) -> Any:
        """`_optimised(index, loops)` computed by the module's compile process of the
        function's lane (forked on first use), or None when there is none (it could not
        start, or it ended): this thread compiles then. What the compile raised there is
        raised here (ChildError)."""
        large = self._lane(index) == 1
        try:
            forked = self._forked_large if large else self._forked
            if forked is None:
                forked = ForkedCompiler(self._optimised_job)
                if large:
                    self._forked_large = forked
                else:
                    self._forked = forked
            return forked.compile((index, loops))
        except ChildGone:
            self.forks = False
            return None

    def _lane(self, index: int) -> int:
        """The background compiler's lane for function `index`'s optimising compiles: 1
        for a large function (LARGE_COMPILE), else 0; decided once (a pending body's weight
        is an estimate until it is decoded), so a job and its compile process agree."""
        lane = self._lanes.get(index)
        if lane is None:
            lane = self._lanes[index] = int(
                self.wasm.codes[index - self.first].weight() >= LARGE_COMPILE)
        return lane

    def _failed(self, index: int, error: BaseException) -> None:
        """Record what the background compile of function `index` raised; the function stays
        on its baseline code (its counter stays far from zero: it is not queued again)."""
        failure = InternalError(f"tiered compilation: the optimising compile of function "
                                f"{index} failed in the background: "
                                f"{type(error).__name__}: {error}")
        failure.__cause__ = error
        with self._lock:
            self._queued.discard(index)
            self._given_up.add(index)
            self.failures.append(failure)

    def raise_failure(self) -> None:
        """Raise the first failure of a background compile not raised yet (each once)."""
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    def wait_tier_ups(self, timeout: float | None = 60.0) -> bool:
        """Block until the engine's background compiler has no job queued or running (or
        `timeout` seconds); whether it got there (for tests and benchmarks)."""
        return self.background is None or self.background.wait(timeout)

    def _install(self, index: int, piece: Any, final: bool) -> int:
        """Put function `index`'s code `piece` (a backend function_code result) in the room
        and point its slot at it; `final`: its code for good (calls are repointed to it).
        The lock is held."""
        name = func_symbol(index)
        # counted code calls itself through its stub too, to reach the optimised code
        addr = self._place(piece, name if final else name + ".counted", index)
        self.compiled[index] = addr
        if final:
            self._final[index] = addr
            self.entries[index - self.first] = addr
        self.slots[index - self.first] = addr
        if self.patching and final:
            self._repoint_to(index, addr)
        return addr

    def _place(self, piece: Any, name: str, index: int, optional: bool = False) -> Any:
        """Write code `piece` (symbol `name`, function `index`'s) to the room; its address
        (None when it does not fit and it is `optional`). Its calls that reach stubs of
        functions whose code is not final yet are noted, to be repointed. The lock is held."""
        size, code_at = self.backend.relocatable_function(piece, name, self._resolve)
        addr = round_up(self._next, 64)
        if addr + size > self.end:
            if optional:
                return None
            raise InternalError(f"lazy compilation: function {index} ({size} bytes) does not "
                                f"fit the module's reserved code space")
        self.space.write(addr, code_at(addr))
        self._next = addr + size
        self.placed.append((addr, addr + size, index))
        if self.patching:
            self._note_calls(piece, addr)
        return addr

    def _note_calls(self, piece: Any, at: int) -> None:
        """Note the calls of code `piece` (placed at `at`) that reach stubs of functions
        whose code is not final yet."""
        done, callers, index_of = self._final, self._callers, self._symbol_index
        for offset, symbol in self.backend.patchable_calls(piece):
            callee = index_of.get(symbol)
            if callee is None:
                callee = index_of[symbol] = int(symbol[4:])
            if callee not in done:
                site = at + offset
                sites = callers.get(callee)
                if sites is None:
                    callers[callee] = [site]
                else:
                    sites.append(site)

    def _repoint_to(self, index: int, addr: int) -> None:
        """Point the calls noted as reaching function `index`'s stub at its final code."""
        for site in self._callers.pop(index, ()):
            self.space.write(*self.backend.call_target_patch(site, addr))

    def _resolve(self, symbol: str) -> int:
        if symbol.startswith("func"):
            done = self._final.get(int(symbol[4:]))
            if done is not None:
                return done
        elif symbol.startswith("__hot"):
            return self.space.addr + 4 * (int(symbol[5:]) - self.first)
        addr = self._addresses.get(symbol)
        if addr is None:
            raise InternalError(f"lazy compilation: undefined symbol {symbol}")
        return addr

    def function_at(self, pc: int) -> int | None:
        """The defined function whose compiled code holds `pc`, or None."""
        found = self._placed_at(pc)
        return None if found is None else found[2]

    def moved_at(self, pc: int) -> bool:
        """Whether `pc` is in an on-stack replacement entry: the frame that called it is the
        activation that moved there (one wasm frame, not two)."""
        found = self._placed_at(pc)
        return found is not None and found[0] in self._osr_starts

    def _placed_at(self, pc: int) -> tuple[int, int, int] | None:
        placed = self.placed
        i = bisect.bisect_right(placed, (pc, float("inf"))) - 1
        if i >= 0 and placed[i][0] <= pc < placed[i][1]:
            return placed[i]
        return None


class LazyUnit(CodeUnit):
    """The CodeUnit of a LazyCode: its stubs and trampolines by symbol, and every pc of the
    reservation's code part, compiled functions included."""

    __slots__ = ("lazy",)

    def __init__(self, lazy: LazyCode) -> None:
        super().__init__(lazy.code_base, lazy.end - lazy.code_base, lazy.unit)
        self.lazy = lazy

    def function(self, index: int) -> int:
        """Its code for good once there is some (skipping the stub), else its stub (which
        reaches its counted baseline code, then its optimised code)."""
        return self.functions(index, 1)[0]

    def functions(self, first: int, count: int) -> list[int]:
        lazy = self.lazy
        return lazy.entries[first - lazy.first:first - lazy.first + count]

    def function_at(self, pc: int) -> int | None:
        index = self.lazy.function_at(pc)
        return index if index is not None else super().function_at(pc)

    def moved_at(self, pc: int) -> bool:
        return self.lazy.moved_at(pc)


#: (id(Module), backend class, ISA features) -> its LazyCode, while the Module lives
_LAZY: dict[tuple, LazyCode] = {}
_LAZY_LOCK = threading.Lock()


def lazy_code(module: Any, backend: Any) -> LazyCode | None:
    """`module`'s LazyCode for `backend` in this process (made on first use), or None when
    it cannot be compiled lazily (its code would not fit the room one module may reserve)."""
    key = (id(module), type(backend), backend.features)
    lazy = _LAZY.get(key)
    if lazy is None:
        wasm = module.wasm_module
        if room_for(wasm.instruction_count(), len(wasm.funcs)) > MAX_ROOM:
            return None
        with _LAZY_LOCK:
            lazy = _LAZY.get(key)
            if lazy is None:
                settings = module.state.settings
                tiers = backend.has_baseline_tier
                tiered = tiers and settings.tiered_compilation
                lazy = _LAZY[key] = LazyCode(wasm, module.info, backend, settings.consume_fuel,
                                             tiers and settings.baseline_compilation, tiered,
                                             settings.tier_up_threshold,
                                             background_compiler(module.state)
                                             if tiered else None,
                                             settings.parallel_compilation)
                lazy.adopt(module.take_ahead(backend))
                weakref.finalize(module, _LAZY.pop, key, None)
    return lazy
