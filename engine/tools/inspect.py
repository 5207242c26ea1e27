"""`polyjit inspect`: a readable description of a module (binary or text) or of a precompiled
artifact (its header fields and the per-function disassembly, through Capstone)."""

from __future__ import annotations

from typing import Iterator

from ..errors import MalformedError, WasmError

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "data count"}


def sections(binary: bytes) -> list[tuple[int, int, int]]:
    """(id, payload offset, payload size) of each section of a module binary."""
    if binary[:4] != b"\0asm" or len(binary) < 8:
        raise MalformedError("not a wasm binary (bad magic or header)", offset=0)
    out = []
    pos = 8
    while pos < len(binary):
        sid = binary[pos]
        size, pos = _leb(binary, pos + 1)
        if pos + size > len(binary):
            raise MalformedError(f"section {sid} runs past the end", offset=pos)
        out.append((sid, pos, size))
        pos += size
    return out


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise MalformedError("bad section size", offset=pos)
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def describe_module(module) -> Iterator[str]:
    """Sections, imports, exports and functions of an engine.compile.module.Module."""
    wasm = module.wasm_module
    yield "sections:"
    for sid, off, size in sections(module.binary):
        yield f"  {SECTION_NAMES.get(sid, f'unknown({sid})'):<10} at {off:#08x}, {size} bytes"
    yield f"imports ({len(module.imports)}):"
    for imp in module.imports:
        yield f"  {imp.module}.{imp.name}: {imp.type}"
    yield f"exports ({len(module.exports)}):"
    for exp in module.exports:
        yield f"  {exp.name}: {exp.type}"
    nimp = wasm.num_imported_funcs
    yield f"functions ({len(wasm.funcs)} defined, {nimp} imported):"
    types = wasm.func_types()
    names = _func_names(wasm)
    for i in range(len(wasm.funcs)):
        idx = nimp + i
        label = f" ${names[idx]}" if idx in names else ""
        yield f"  func {idx}{label}: {types[idx]}"


def _func_names(wasm) -> dict[int, str]:
    names = getattr(wasm, "names", None)
    funcs = getattr(names, "functions", None) or getattr(names, "funcs", None)
    return dict(funcs) if isinstance(funcs, dict) else {}


def _disassembler(target: str):
    import capstone as cs
    if target == "x86_64":
        return cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64)
    if target == "aarch64":
        return cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM)
    if target == "riscv64":
        return cs.Cs(cs.CS_ARCH_RISCV, cs.CS_MODE_RISCV64 | cs.CS_MODE_RISCVC)
    raise WasmError(f"no disassembler for target {target!r}")


def disassemble(target: str, code: bytes, start: int, end: int) -> Iterator[str]:
    """Capstone's listing of code[start:end] (addresses are code offsets)."""
    md = _disassembler(target)
    pos = start
    while pos < end:
        got = False
        for ins in md.disasm(code[pos:end], pos):
            yield f"    {ins.address:6x}:  {ins.bytes.hex():<20} {ins.mnemonic} {ins.op_str}".rstrip()
            pos = ins.address + ins.size
            got = True
        if pos < end:   # data or an undecodable word: show it, carry on after it
            step = 4 if target != "x86_64" else 1
            yield f"    {pos:6x}:  {code[pos:pos + step].hex():<20} .byte"
            pos += step
        if not got and pos >= end:
            break


def describe_artifact(art, module=None) -> Iterator[str]:
    """Header fields, then every symbol's code disassembled for the artifact's target."""
    yield "precompiled polyjit artifact"
    yield f"  polyjit version: {art.polyjit_version}"
    yield f"  target: {art.target}"
    yield f"  ISA features: {', '.join(sorted(art.features)) or 'none'}"
    settings = ", ".join(f"{k}={v}" for k, v in sorted(art.code_settings.items()))
    yield f"  code settings: {settings}"
    yield f"  fingerprint: {art.fingerprint.hex()}"
    yield f"  wasm module: {len(art.wasm)} bytes; machine code: {len(art.code)} bytes; " \
          f"{len(art.symbols)} symbols"
    if module is not None:
        yield from describe_module(module)
    ordered = sorted(art.symbols.items(), key=lambda kv: kv[1])
    yield "code:"
    for k, (name, off) in enumerate(ordered):
        end = ordered[k + 1][1] if k + 1 < len(ordered) else len(art.code)
        yield f"  {name} (offset {off:#x}, {end - off} bytes):"
        yield from disassemble(art.target, art.code, off, end)
