"""CEL expressions for rules: compiled once at load, checked for names, evaluated per change.

Uses the ``common-expression-language`` package (Rust core). Compilation catches syntax
errors; :func:`compile_expression` also rejects names no rule can resolve (a variable other
than the context's, or a function CEL doesn't have) so a typo fails at start-up rather than
denying every change at run time.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

import cel

__all__ = [
    "CEL_FUNCTIONS",
    "CEL_VARIABLES",
    "ExpressionError",
    "Program",
    "compile_expression",
    "glob_match",
    "make_context",
]

Program = cel.Program

#: The variables a rule may reference (see :meth:`PolicyContext.cel_variables`).
CEL_VARIABLES = frozenset({"change", "before", "actor", "env", "now", "run"})

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


def compile_expression(source: str) -> cel.Program:
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


def make_context(variables: Mapping[str, Any]) -> cel.Context:
    """A CEL context with ``variables`` and :data:`CEL_FUNCTIONS`, built once per evaluation."""
    return cel.Context(dict(variables), dict(CEL_FUNCTIONS))
