"""Engine: a cheap, shareable handle on one compilation environment (settings, target, epoch
counter, executor), following wasmtime's Engine.

The epoch counter lives in a page of its own (mmap'd, page aligned) so that generated code can
read it through a pointer in the vmctx, and an emulator can map the same page with
``mem_map_ptr``. ``Engine.increment_epoch()`` is one atomic increment of that 8-byte cell: on
an x86_64 host a 5-byte ``lock inc qword ptr [rdi]; ret`` routine called through ctypes (no
lock, no system call, the GIL released during the call); elsewhere a plain store of the
incremented value (atomic for aligned 8-byte stores on every supported target; concurrent
increments may then coalesce, which only delays an interruption by one tick).
"""

from __future__ import annotations

import ctypes
import mmap
import threading
from typing import Callable

from .config import Config, Features, check_config, code_settings
from .errors import WasmError

_PAGE = mmap.PAGESIZE


class EpochCounter:
    """The engine's epoch: a u64 at a fixed, page-aligned address (see the module docstring)."""

    __slots__ = ("_page", "_cell", "address", "_inc")

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, _PAGE)
        self._cell = ctypes.c_uint64.from_buffer(self._page)
        self.address: int = ctypes.addressof(self._cell)
        self._inc: Callable[[int], None] | None = _atomic_increment()

    @property
    def page(self) -> tuple[int, int]:
        """(address, size) of the page holding the counter (for an emulator's mem_map_ptr)."""
        return self.address, _PAGE

    @property
    def value(self) -> int:
        return self._cell.value

    def increment(self) -> None:
        if self._inc is not None:
            self._inc(self.address)
        else:
            self._cell.value += 1


_INC_LOCK = threading.Lock()
_INC: list = []          # [callable or None, CodeRegion], filled once


def _atomic_increment() -> Callable[[int], None] | None:
    """A ctypes function doing ``lock inc qword ptr [arg]`` natively, or None off x86_64."""
    with _INC_LOCK:
        if not _INC:
            fn = region = None
            try:
                from .exec.native import CodeRegion, native_supported
                if native_supported():
                    region = CodeRegion(bytes([0xF0, 0x48, 0xFF, 0x07, 0xC3]))
                    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(region.addr)
            except (ImportError, OSError, WasmError):
                fn = None
            _INC.extend([fn, region])
        return _INC[0]


class _EngineState:
    """What every copy of one Engine shares."""

    def __init__(self, config: Config, target: str, emulate: bool) -> None:
        self.settings = config.snapshot()
        self.settings["target"] = target
        self.settings["emulate"] = emulate
        self.features: Features = config.features()
        self.target = target
        self.emulate = emulate
        self.epoch_counter = EpochCounter()
        self.lock = threading.RLock()
        self.executor = None

    @property
    def epoch(self) -> int:
        """The current epoch (read by the interpreter and at store boundaries)."""
        return self.epoch_counter.value


class Engine:
    """A compilation environment. Copies share it: ``Engine.same(copy.copy(e), e)`` is true.

    The Engine's target is ``Config.target`` or the host; code for a foreign target always runs
    under Unicorn (``Engine.emulated`` is then true)."""

    __slots__ = ("_state",)

    def __init__(self, config: Config | None = None) -> None:
        from .runtime.executor import host_target
        config = config if config is not None else Config()
        if not isinstance(config, Config):
            raise WasmError(f"Engine expects a Config, got {type(config).__name__}")
        host = host_target()
        check_config(config, host)
        target = config.target or host
        if config.strategy == "compiler":
            from .config import TARGETS
            if target not in TARGETS:
                raise WasmError(f"this host ({host}) is not a polyjit target; set Config.target "
                                f"to one of {', '.join(TARGETS)} (emulated) or use "
                                f"Config(strategy='interpreter')")
        emulate = bool(config.emulate) or target != host
        self._state = _EngineState(config, target, emulate)

    def __copy__(self) -> Engine:
        other = object.__new__(Engine)
        other._state = self._state
        return other

    def __deepcopy__(self, memo) -> Engine:
        return self.__copy__()

    def __repr__(self) -> str:
        s = self._state
        return (f"Engine(strategy={s.settings['strategy']!r}, target={s.target!r}, "
                f"emulate={s.emulate})")

    @staticmethod
    def same(a: Engine, b: Engine) -> bool:
        """True when both handles refer to the same engine."""
        if not isinstance(a, Engine) or not isinstance(b, Engine):
            raise WasmError("Engine.same expects two Engines")
        return a._state is b._state

    @property
    def features(self) -> Features:
        return self._state.features

    @property
    def settings(self) -> dict:
        return self._state.settings

    @property
    def target(self) -> str:
        """The architecture this engine compiles for."""
        return self._state.target

    @property
    def emulated(self) -> bool:
        """True when this engine's machine code runs under Unicorn."""
        return self._state.emulate

    def code_settings(self) -> dict:
        """The settings that change generated code (what an artifact fingerprints)."""
        return code_settings(self._state.settings)

    # -- epochs ---------------------------------------------------------------------------------

    def increment_epoch(self) -> None:
        """Advance the epoch by one: a single atomic increment of the counter generated code
        reads (signal-safe: no lock, no allocation, no system call)."""
        self._state.epoch_counter.increment()

    @property
    def epoch_address(self) -> int:
        """Address of the engine's u64 epoch counter (what a vmctx's epoch pointer holds)."""
        return self._state.epoch_counter.address

    # -- compilation ----------------------------------------------------------------------------

    def precompile_module(self, wasm) -> bytes:
        """Compile `wasm` (binary or text) for this engine's target and return the artifact
        bytes (docs/artifact-format.md); no emulator is needed, whatever the host."""
        from .artifact import precompile
        return precompile(self, wasm)

    def tls_eager_initialize(self) -> None:
        """Do now, on the calling thread, the set-up the first wasm call on this thread would
        otherwise pay: load the execution machinery, create the executor, and let it initialise
        its per-thread state (its ``tls_initialize()`` hook when it has one; for native code
        the stack-limit discovery and call-depth record of engine.exec.native)."""
        from .exec.precompiled import tls_initialize
        tls_initialize(self)
