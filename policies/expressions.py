"""CEL expressions for rules: compiled once at load, checked for names, evaluated per change.

Uses the ``common-expression-language`` package (Rust core). Compilation catches syntax
errors; :func:`compile_expression` also rejects names no rule can resolve (a variable other
than the context's, or a function CEL doesn't have) so a typo fails at start-up rather than
denying every change at run time.
"""

from __future__ import annotations

import fnmatch
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "CEL_FUNCTIONS",
    "CEL_VARIABLES",
    "ExpressionError",
    "Program",
    "compile_expression",
    "glob_match",
    "make_context",
]



def _load_cel() -> ModuleType:
    """The CEL extension module, without the ``cel`` package's ``__init__``.

    ``cel/__init__.py`` imports its interactive CLI (prompt_toolkit, pygments, rich: ~300 ms),
    which every sophia-iac start would pay for. The Rust extension alone loads in ~30 ms; it is
    registered as ``cel.cel`` so a later ``import cel`` reuses it. Falls back to ``import cel``.
    """
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    try:
        spec = importlib.util.find_spec("cel")
        folder = Path(next(iter(spec.submodule_search_locations or ()))) if spec else None
        found = [p for p in folder.iterdir() if p.name.startswith("cel.") and
                 p.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))] if folder else []
        ext_spec = importlib.util.spec_from_file_location("cel.cel", found[0]) if found else None
        if ext_spec is None or ext_spec.loader is None:
            raise ImportError("no CEL extension module found")
        module = importlib.util.module_from_spec(ext_spec)
        ext_spec.loader.exec_module(module)
        sys.modules["cel.cel"] = module
        return module
    except (ImportError, OSError, StopIteration):
        import cel

        return cel


cel = _load_cel()
Program: Any = cel.Program

#: The variables a rule may reference (see :meth:`PolicyContext.cel_variables`).
CEL_VARIABLES = frozenset({"change", "before", "expected", "actor", "env", "now", "run"})

#: Functions native to the Rust CEL core.
_NATIVE = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches",
    "int", "uint", "double", "string", "bytes", "bool", "timestamp", "duration", "type", "dyn",
    "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    "getDate", "getDayOfMonth", "getDayOfYear", "getFullYear", "getMonth",
})

MAX_EXPRESSION_CHARS = 4000
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class ExpressionError(ValueError):
    """An expression that can't be used: syntax error or an unknown name."""


def glob_match(value: object, pattern: object) -> bool:
    """Case-insensitive shell-style match (``*``, ``?``, ``[abc]``)."""
    return fnmatch.fnmatchcase(str(value).lower(), str(pattern).lower())


def _lower(value: str) -> str:
    return value.lower()


def _upper(value: str) -> str:
    return value.upper()


#: Functions sophia-iac adds to CEL: ``glob(s, pattern)``, ``lowerAscii(s)``, ``upperAscii(s)``.
CEL_FUNCTIONS: Mapping[str, Any] = {"glob": glob_match, "lowerAscii": _lower, "upperAscii": _upper}


def compile_expression(source: str) -> Any:
    """Compile ``source`` and check that every name in it can resolve.

    Raises:
        ExpressionError: syntax error (with the caret line), an unknown variable or function,
            or an expression over :data:`MAX_EXPRESSION_CHARS`.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is {len(source)} characters; the limit is {MAX_EXPRESSION_CHARS}")
    try:
        program = cel.compile(source)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ExpressionError(str(exc).replace("Failed to parse expression", "syntax error in", 1)) from exc
    bound = set(_MACRO_VAR.findall(source))
    refs = program.references()
    unknown_vars = sorted(set(refs["variables"]) - CEL_VARIABLES - bound)
    if unknown_vars:
        raise ExpressionError(
            f"unknown variable {', '.join(unknown_vars)}; rules see {', '.join(sorted(CEL_VARIABLES))}"
        )
    named = {f for f in refs["functions"] if f[:1].isalpha()}
    unknown_funcs = sorted(named - _NATIVE - set(CEL_FUNCTIONS))
    if unknown_funcs:
        raise ExpressionError(f"unknown function {', '.join(unknown_funcs)}")
    return program


def make_context(variables: Mapping[str, Any]) -> Any:
    """A CEL context with ``variables`` and :data:`CEL_FUNCTIONS`, built once per evaluation."""
    return cel.Context(dict(variables), dict(CEL_FUNCTIONS))
