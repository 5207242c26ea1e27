"""The layering rules of docs/architecture.md, checked on source: every import statement of
engine/ and backends/ (module level and inside functions; `if TYPE_CHECKING:` blocks are
exempt) must go down the layers or stay within one, no cycle may span two packages, nothing
imports the `engine` package's public re-exports, one backend target never imports another,
and function-local imports are only for the optional heavy dependencies."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

#: bottom first; a module belongs to the layer of the longest prefix naming it
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("engine.errors", "engine.config")),
    ("front end", ("engine.wasm", "engine.text")),
    ("environ", ("engine.environ",)),
    ("ir", ("engine.ir",)),
    ("backends", ("backends",)),
    ("compile", ("engine.compile",)),
    ("runtime", ("engine.runtime",)),
    ("exec", ("engine.exec",)),
    ("api", ("engine.api", "engine.loader", "engine.component", "engine.proposals")),
    ("tools", ("engine.tools",)),
)
#: imported inside functions only, so that they load when first needed
HEAVY = ("unicorn", "keystone", "capstone")
TARGETS = ("backends.x86_64", "backends.aarch64", "backends.riscv64")


@dataclass(frozen=True, slots=True)
class Import:
    source: str        # importing module
    target: str        # imported module (the module part of `from X import name`)
    names: tuple[str, ...]
    local: bool        # inside a function
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(root: Path, path: Path) -> list[Import]:
    """The import statements of one source file, relative ones resolved."""
    mod = module_name(root, path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: list[Import] = []

    def walk(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    out.append(Import(mod, alias.name, (), local, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                out.append(Import(mod, target, tuple(a.name for a in child.names), local,
                                  child.lineno))
            walk(child, inner)

    walk(ast.parse(path.read_text(), str(path)), False)
    return out


def layer_of(module: str) -> int | None:
    best, index = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, index = len(p), i
    return index


def _ours(module: str) -> bool:
    return module == "engine" or module.startswith(("engine.", "backends"))


def _resolve(imp: Import, known: set[str]) -> list[str]:
    """The modules an import statement loads: `from pkg import submodule` names the submodule."""
    subs = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in known]
    return subs or [imp.target]


def check(root: Path) -> list[str]:
    """Every breach of the rules in the module docstring, one message each."""
    files = [p for top in ("engine", "backends") for p in sorted((root / top).rglob("*.py"))]
    all_imports = [imp for p in files for imp in imports_of(root, p)]
    known = {module_name(root, p) for p in files}
    packages = {m.rpartition(".")[0] for m in known}
    problems: list[str] = []
    package_edges: dict[str, set[str]] = {}
    for imp in all_imports:
        where = f"{imp.source}:{imp.line}"
        top = imp.target.split(".")[0]
        if imp.local and top not in HEAVY:
            problems.append(f"{where}: function-local import of {imp.target} "
                            f"(only {', '.join(HEAVY)} may be imported inside functions)")
        if top in HEAVY and not imp.local:
            problems.append(f"{where}: {imp.target} imported at module level (heavy, optional: "
                            f"import it where it is used)")
        if not _ours(imp.target):
            continue
        if imp.target == "engine" and imp.source != "engine":
            problems.append(f"{where}: imports the public `engine` package (re-exports are for "
                            f"users; import the defining module)")
            continue
        src_layer = layer_of(imp.source)
        for target in _resolve(imp, known):
            dst_layer = layer_of(target)
            if src_layer is not None and dst_layer is not None and dst_layer > src_layer:
                problems.append(f"{where}: {imp.source} ({LAYERS[src_layer][0]}) imports "
                                f"{target} ({LAYERS[dst_layer][0]}): up the layers")
            for a in TARGETS:
                for b in TARGETS:
                    if a != b and (imp.source == a or imp.source.startswith(a + ".")) and \
                            (target == b or target.startswith(b + ".")):
                        problems.append(f"{where}: backend {a} imports backend {b}")
            src_pkg, dst_pkg = _unit(imp.source, packages), _unit(target, packages)
            if src_pkg != dst_pkg:
                package_edges.setdefault(src_pkg, set()).add(dst_pkg)
    for cycle in _cycles(package_edges):
        problems.append("import cycle across packages: " + " -> ".join(cycle + [cycle[0]]))
    return problems


def _unit(module: str, packages: set[str]) -> str:
    """What a cycle is counted between: a module's package, or the module itself when it sits
    directly in `engine` or `backends` (engine.errors, backends.base: each a unit of its own)."""
    if module in packages:
        return module
    parent = module.rpartition(".")[0]
    return module if parent in ("engine", "backends", "") else parent


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out
