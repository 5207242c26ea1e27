"""Generated-code statistics per target: code bytes of each kernel's functions and the
instructions executed under Unicorn by one ``run(n)`` at the short n (counted per translated
block, its instructions counted once with Capstone). Target-independent optimisations show up
here for aarch64 and riscv64, which only run emulated.

    python -m benchmarks.codestats [--targets aarch64,riscv64,x86_64] [--kernels gemm,lu]
                                   [--bounds guard|checked|both]

--bounds: guard-page bounds (the default Config: an out-of-bounds access faults and Unicorn's
hook turns it into the trap), explicit checks (Config.signals_based_traps=False), or both in
one run, each cell "checked -> guard", with a total row.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .suite import C_KERNELS, KERNELS, Program, Size

TARGETS = ("aarch64", "riscv64", "x86_64")


def _disassembler(target: str):
    import capstone as cs
    if target == "x86_64":
        return cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64)
    if target == "aarch64":
        return cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM)
    return cs.Cs(cs.CS_ARCH_RISCV, cs.CS_MODE_RISCV64 | cs.CS_MODE_RISCVC)


def _config(target: str, guard: bool):
    from engine import Config
    return Config(target=target, emulate=True, signals_based_traps=guard)


def code_bytes(target: str, wasm: bytes, guard: bool = True) -> int:
    """Bytes of machine code of the module's functions (trampolines and stubs excluded)."""
    from engine import Engine, Module
    from engine.compile.driver import code_for
    from engine.compile.registry import backend_for
    eng = Engine(_config(target, guard))
    module = Module(eng, wasm)
    code = code_for(module, backend_for(eng._state.settings))
    funcs = sorted(off for name, off in code.symbols.items() if name.startswith("func"))
    rest = [off for name, off in code.symbols.items() if not name.startswith("func")]
    end = min((o for o in rest if funcs and o > funcs[-1]), default=len(code.code))
    return end - funcs[0] if funcs else 0


def executed(target: str, program: Program, n: int, guard: bool = True) -> tuple[int, int]:
    """(instructions executed by run(n) under Unicorn, its checksum)."""
    from unicorn import UC_HOOK_BLOCK
    from engine import Engine, Instance, Module, Store
    from engine.exec import emulator
    dis = _disassembler(target)
    counts: dict[tuple[int, int], int] = {}
    total = [0]

    def block(uc, address: int, size: int, _data) -> None:
        key = (address, size)
        c = counts.get(key)
        if c is None:
            c = counts[key] = sum(1 for _ in dis.disasm_lite(bytes(uc.mem_read(address, size)),
                                                               address))
        total[0] += c

    original = emulator.EmulatedMachine.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.uc.hook_add(UC_HOOK_BLOCK, block)
    emulator.EmulatedMachine.__init__ = init
    try:
        eng = Engine(_config(target, guard))
        store = Store(eng)
        run = Instance(store, Module(eng, program.wasm()), []).exports(store)["run"]
        total[0] = 0
        result = run(store, n)
    finally:
        emulator.EmulatedMachine.__init__ = original
    return total[0], program.normalise(result)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.codestats", description=__doc__)
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--kernels", default=None, help="default: every kernel with run(n)")
    p.add_argument("--bounds", choices=("guard", "checked", "both"), default="guard")
    args = p.parse_args(argv)
    programs = {q.name: q for q in KERNELS + C_KERNELS}
    names = args.kernels.split(",") if args.kernels else list(programs)
    targets = args.targets.split(",")
    modes = {"guard": (True,), "checked": (False,), "both": (False, True)}[args.bounds]
    print("| kernel | n | " + " | ".join(f"{t} bytes | {t} executed" for t in targets) + " |")
    print("|---|---:|" + "---:|---:|" * len(targets))
    totals = [[0] * len(modes) for _ in range(2 * len(targets))]
    for name in names:
        program = programs[name]
        n = program.n(Size.SHORT)
        cells = []
        for k, t in enumerate(targets):
            sizes, counts, sums = [], [], set()
            for guard in modes:
                count, checksum = executed(t, program, n, guard)
                sizes.append(code_bytes(t, program.wasm(), guard))
                counts.append(count)
                sums.add(checksum)
            if len(sums) != 1:
                raise SystemExit(f"{name} on {t}: the checksum differs between the bounds modes")
            for j, column in enumerate((sizes, counts)):
                cells.append(" -> ".join(f"{v:,}" for v in column))
                for m, v in enumerate(column):
                    totals[2 * k + j][m] += v
        print(f"| {name} | {n} | " + " | ".join(cells) + " |", flush=True)
    if len(modes) == 2:
        cells = [f"{a:,} -> {b:,} ({100 * (b - a) / a:+.1f}%)" if a else "0" for a, b in totals]
        print("| total | | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
