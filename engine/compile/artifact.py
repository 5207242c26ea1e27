"""The precompiled-module format (docs/artifact-format.md): writing an artifact from compiled
code, and reading one back with every compatibility check done before any code is mapped.
Engine.precompile_module and Module.serialize write it (through engine.compile.module);
Module.deserialize and the cache read it.

Layout (little endian):

    magic            8 bytes  b"\\x00polyjit"
    format version   u32
    payload length   u64
    payload          fields, each a u32 byte length then its bytes, in this order:
                       polyjit build id (utf-8, engine.compile.build), target (utf-8), ISA features (utf-8, comma
                       separated, sorted), code settings (utf-8 JSON, sorted keys), settings
                       fingerprint (32 bytes, sha256 of the code-settings JSON), wasm (the
                       module's binary), code (machine code), symbols
    checksum         32 bytes, sha256 of everything before it

A mismatch in any field raises IncompatibleArtifactError naming the field and both values.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from backends.base import CompiledCode, func_symbol, sig_key
from ..config import Settings
from ..errors import IncompatibleArtifactError, WasmError
from ..wasm.decoder import decode
from ..wasm.module import WasmModule
from ..wasm.validator import validate
from .build import build_id
from .registry import cpu_features

MAGIC = b"\x00polyjit"
#: 2: the relocation field of version 1 is gone (code is position independent)
FORMAT_VERSION = 2
_HEADER = struct.Struct("<8sIQ")
_CHECKSUM_SIZE = 32
#: the code-settings JSON is a flat object of a few booleans; anything longer is damage
_MAX_SETTINGS_JSON = 4096


@dataclass(slots=True)
class Artifact:
    """The decoded fields of an artifact (before any check against an Engine)."""

    polyjit_version: str
    target: str
    features: frozenset[str]
    code_settings: dict[str, bool]
    fingerprint: bytes
    wasm: bytes
    code: bytes
    symbols: dict[str, int] = field(default_factory=dict)

    def compiled_code(self) -> CompiledCode:
        """The machine code this artifact carries."""
        return CompiledCode(target=self.target, code=self.code, symbols=dict(self.symbols),
                            features=self.features)


def fingerprint(settings: dict[str, bool]) -> bytes:
    return hashlib.sha256(_settings_json(settings)).digest()


def _settings_json(settings: dict[str, bool]) -> bytes:
    return json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()


# -- writing --------------------------------------------------------------------------------------

def encode(settings: Settings, wasm: bytes, compiled: CompiledCode) -> bytes:
    """The artifact for `compiled`, the machine code of module binary `wasm` under `settings`."""
    code_settings = settings.code_settings()
    fields = [build_id().encode(), compiled.target.encode(),
              ",".join(sorted(compiled.features)).encode(), _settings_json(code_settings),
              fingerprint(code_settings), bytes(wasm), bytes(compiled.code),
              _encode_symbols(compiled.symbols)]
    payload = b"".join(struct.pack("<I", len(f)) + f for f in fields)
    body = _HEADER.pack(MAGIC, FORMAT_VERSION, len(payload)) + payload
    return body + hashlib.sha256(body).digest()


def _encode_symbols(symbols: dict[str, int]) -> bytes:
    out = [struct.pack("<I", len(symbols))]
    for name, off in symbols.items():
        raw = name.encode()
        out.append(struct.pack("<IQ", len(raw), off) + raw)
    return b"".join(out)


def require_compiler(settings: Settings, what: str) -> None:
    """WasmError unless the engine compiles to machine code (there is nothing else to save)."""
    if settings.strategy != "compiler":
        raise WasmError(f"{what} needs Config.strategy='compiler' (this engine interprets; "
                        f"there is no machine code to save)")


# -- reading --------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.pos, self.end = data, start, end

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise IncompatibleArtifactError(f"damaged artifact: {what} runs past the end of "
                                            f"the payload")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def field(self, what: str) -> bytes:
        return self.take(self.u32(what), what)

    def text(self, what: str) -> str:
        try:
            return self.field(what).decode("utf-8")
        except UnicodeDecodeError:
            raise IncompatibleArtifactError(f"damaged artifact: {what} is not UTF-8") from None


def parse(data) -> Artifact:
    """Check the envelope (magic, format version, length, checksum) and decode the fields.
    Raises IncompatibleArtifactError naming what is wrong."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WasmError(f"an artifact is bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        raise IncompatibleArtifactError("not a polyjit artifact: bad magic (expected "
                                        f"{MAGIC!r}, found {data[:len(MAGIC)]!r})")
    if len(data) < _HEADER.size + _CHECKSUM_SIZE:
        raise IncompatibleArtifactError(f"truncated artifact: {len(data)} bytes, shorter than "
                                        f"its header and checksum")
    _, version, length = _HEADER.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise IncompatibleArtifactError(f"artifact format version {version}, but this polyjit "
                                        f"reads version {FORMAT_VERSION}")
    expected = _HEADER.size + length + _CHECKSUM_SIZE
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "damaged"
        raise IncompatibleArtifactError(f"{what} artifact: {len(data)} bytes, the header says "
                                        f"{expected}")
    end = _HEADER.size + length
    if hashlib.sha256(data[:end]).digest() != data[end:]:
        raise IncompatibleArtifactError("damaged artifact: checksum mismatch (sha256 of the "
                                        "contents differs from the stored one)")
    r = _Reader(data, _HEADER.size, end)
    pj = r.text("polyjit version")
    target = r.text("target")
    feats = r.text("ISA features")
    settings = _decode_settings(r.text("code settings"))
    fp = r.field("settings fingerprint")
    wasm = r.field("wasm module")
    code = r.field("machine code")
    sym_raw = r.field("symbols")
    symbols = _decode_symbols(_Reader(sym_raw, 0, len(sym_raw)), len(code))
    if r.pos != end:
        raise IncompatibleArtifactError(f"damaged artifact: {end - r.pos} unexpected bytes "
                                        f"after the symbols")
    if fp != fingerprint(settings):
        raise IncompatibleArtifactError("damaged artifact: settings fingerprint does not match "
                                        "the recorded settings")
    return Artifact(pj, target, frozenset(f for f in feats.split(",") if f), settings, fp, wasm,
                    code, symbols)


def _decode_settings(text: str) -> dict[str, bool]:
    """The code-settings field: a flat JSON object of booleans (engine.config.CODE_SETTINGS)."""
    if len(text) > _MAX_SETTINGS_JSON:
        raise IncompatibleArtifactError(f"damaged artifact: code settings are {len(text)} "
                                        f"bytes long")
    try:
        settings = json.loads(text)
    except (ValueError, RecursionError):
        raise IncompatibleArtifactError("damaged artifact: code settings are not JSON") from None
    if not isinstance(settings, dict) or not all(
            isinstance(k, str) and isinstance(v, bool) for k, v in settings.items()):
        raise IncompatibleArtifactError("damaged artifact: code settings are not an object of "
                                        "booleans")
    return settings


def _decode_symbols(r: _Reader, code_len: int) -> dict[str, int]:
    n = r.u32("symbol count")
    out: dict[str, int] = {}
    for _ in range(n):
        length, off = struct.unpack("<IQ", r.take(12, "symbol"))
        try:
            name = r.take(length, "symbol name").decode("utf-8")
        except UnicodeDecodeError:
            raise IncompatibleArtifactError("damaged artifact: symbol name is not UTF-8") \
                from None
        if off >= code_len:
            raise IncompatibleArtifactError(f"damaged artifact: symbol {name} at offset {off} "
                                            f"is outside the {code_len} bytes of code")
        out[name] = off
    if r.pos != r.end:
        raise IncompatibleArtifactError("damaged artifact: trailing bytes in the symbol table")
    return out


def check_compatible(art: Artifact, settings: Settings) -> None:
    """Every field against an engine's settings; IncompatibleArtifactError names the first
    mismatch."""
    if art.polyjit_version != build_id():
        raise IncompatibleArtifactError(f"polyjit version: artifact made by polyjit "
                                        f"{art.polyjit_version}, but this is polyjit "
                                        f"{build_id()}")
    if settings.strategy != "compiler":
        raise IncompatibleArtifactError("strategy: artifacts hold machine code, but this engine "
                                        "uses the interpreter (Config.strategy='interpreter')")
    if art.target != settings.target:
        raise IncompatibleArtifactError(f"target: compiled for {art.target}, but this engine "
                                        f"targets {settings.target}")
    # the settings the code was compiled under first: the CPU it needs follows from them
    # (code for native execution needs the host's features, emulated code Unicorn's)
    mine = settings.code_settings()
    for name in sorted(set(mine) | set(art.code_settings)):
        theirs = art.code_settings.get(name)
        if theirs != mine.get(name):
            raise IncompatibleArtifactError(f"Config.{name}: compiled with {name}={theirs}, but "
                                            f"this engine has {name}={mine.get(name)}")
    have = cpu_features(settings.target, settings.emulate)
    missing = sorted(art.features - have)
    if missing:
        where = "the emulated CPU" if settings.emulate else "this CPU"
        raise IncompatibleArtifactError(
            f"ISA features: the code needs {', '.join(sorted(art.features))}, but {where} has "
            f"{', '.join(sorted(have)) or 'none of them'} (missing {', '.join(missing)})")


def check_code(art: Artifact, wasm: WasmModule) -> None:
    """The code's symbol table covers the module: every defined function and trampoline."""
    nimp = wasm.num_imported_funcs
    need = [func_symbol(nimp + i) for i in range(len(wasm.funcs))]
    need += ["entry_" + sig_key(t.params, t.results) for t in wasm.types]
    need += ["exit_" + sig_key(t.params, t.results) for t in wasm.types]
    for name in need:
        if name not in art.symbols:
            raise IncompatibleArtifactError(f"damaged artifact: no code for {name}")


def load(state: Any, data: Any) -> tuple[bytes, WasmModule, CompiledCode]:
    """Module.deserialize's checks, in order, before any code is mapped: the envelope, every
    field against the engine (`state`: its EngineState), the embedded wasm (decoded and
    validated again), the symbol table. Returns (binary, decoded module, machine code)."""
    art = parse(data)
    check_compatible(art, state.settings)
    try:
        wasm_module = decode(art.wasm, state.features)
        validate(wasm_module, state.features)
    except WasmError as e:
        raise IncompatibleArtifactError(f"damaged artifact: embedded module: {e}") from None
    check_code(art, wasm_module)
    return art.wasm, wasm_module, art.compiled_code()
