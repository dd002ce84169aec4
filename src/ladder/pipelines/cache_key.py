"""Cache keys: what a step computes from, reduced to one digest.

A key hashes the step's normalised source (its AST without decorators,
docstrings, comments or formatting), the normalised source of the project-local
functions and classes it reaches through globals (recursively) with the simple
constants they read, its parameters, the digests of its inputs with the
name and version of the materializer that wrote each one, and the number of its
outputs. "Project-local" means defined in a module that is not part of the
standard library, an installed distribution or Ladder itself: code the user
can change between two runs.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import sys
import sysconfig
import textwrap
import types
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from ladder.artifacts.digest import hash_bytes

KEY_FORMAT = 1
_SIMPLE = (int, float, str, bool, bytes, type(None))


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for path in sys.path:
        if path.endswith(("site-packages", "dist-packages")):
            roots.add(os.path.realpath(path))
    import ladder

    roots.add(os.path.realpath(os.path.dirname(ladder.__file__)))
    return tuple(sorted(roots))


@lru_cache(maxsize=4096)
def _is_local_file(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return not any(real == root or real.startswith(root + os.sep) for root in _library_roots())


def is_local_module(module_name: str | None) -> bool:
    """True when the module is the user's own code (not stdlib, an installed package or Ladder)."""
    if not module_name:
        return False
    if module_name == "__main__":
        return True
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    return filename is not None and _is_local_file(filename)


def _is_local(obj: Any) -> bool:
    return is_local_module(getattr(obj, "__module__", None))


class _Normaliser(ast.NodeTransformer):
    """Drops what does not change behaviour: decorators and docstrings."""

    def _strip(self, node: Any) -> Any:
        node.decorator_list = []
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node

    visit_FunctionDef = _strip
    visit_AsyncFunctionDef = _strip
    visit_ClassDef = _strip


def _code_fingerprint(code: types.CodeType) -> list[Any]:
    """Behaviour of a code object when its source is unavailable (REPL, exec)."""
    consts = [
        _code_fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
    ]
    return [code.co_code.hex(), consts, list(code.co_names), list(code.co_varnames)]


def normalised_source(obj: Any) -> str:
    """The AST dump of a function or class definition, without decorators and docstrings."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(source)
        definition = next(
            node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        )
    except (OSError, TypeError, SyntaxError, StopIteration):
        code = getattr(obj, "__code__", None)
        if code is None:
            return f"<unavailable {getattr(obj, '__qualname__', obj)!r}>"
        return orjson.dumps(_code_fingerprint(code)).decode()
    return ast.dump(_Normaliser().visit(definition), annotate_fields=False)


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _unwrap(value: Any) -> Any:
    """A step or pipeline object stands for the function it wraps."""
    if type(value).__module__ in ("ladder.pipelines.step", "ladder.pipelines.pipeline"):
        inner = getattr(value, "function", None)
        if callable(inner):
            return inner
    return value


def code_fingerprint(function: Callable[..., Any]) -> str:
    """Digest of ``function``'s source and of the project-local code and constants it reaches.

    Parts are listed in a deterministic walk order under their qualified names
    without module names, so that the same code imported under another module
    name (a script run as ``__main__`` or imported) keeps its key.
    """
    parts: list[tuple[str, str]] = []
    seen: set[int] = set()

    def visit(obj: Any, label: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        parts.append((label, normalised_source(obj)))
        functions: list[Any] = []
        if isinstance(obj, types.FunctionType):
            functions.append(obj)
        elif isinstance(obj, type):
            functions.extend(
                member for member in vars(obj).values() if isinstance(member, types.FunctionType)
            )
        for fn in functions:
            namespace = fn.__globals__
            names = _global_names(fn.__code__)
            for name in sorted(names):
                if name not in namespace:
                    continue
                value = _unwrap(namespace[name])
                if isinstance(value, _SIMPLE) and not name.startswith("__"):
                    parts.append((name, repr(value)))
                elif isinstance(value, (types.FunctionType, type)) and _is_local(value):
                    visit(value, value.__qualname__)
                elif isinstance(value, types.ModuleType) and is_local_module(value.__name__):
                    for attribute in sorted(names):
                        member = _unwrap(getattr(value, attribute, None))
                        if isinstance(member, (types.FunctionType, type)) and _is_local(member):
                            visit(member, f"{name}.{member.__qualname__}")

    visit(function, "<step>")
    return hash_bytes(orjson.dumps(parts))


def compute_cache_key(step_name: str, code: str, arguments: Any, output_count: int) -> str:
    """The cache key of one step execution.

    ``arguments`` maps parameter names to JSON-ready values, where each input
    (an upstream output or a stored constant) stands as
    ``{"$ref": [digest, materializer, materializer version]}``.
    """
    document = {
        "format": KEY_FORMAT,
        "step": step_name,
        "code": code,
        "arguments": arguments,
        "outputs": output_count,
    }
    return hash_bytes(canonical_json(document).encode())


def canonical_json(value: Any) -> str:
    """One spelling per value (sorted keys, no spaces; NaN kept distinct from null)."""
    return json.dumps(
        value, sort_keys=True, allow_nan=True, separators=(",", ":"), ensure_ascii=False
    )
