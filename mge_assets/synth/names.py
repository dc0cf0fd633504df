"""Identifiers for the generated code that are safe whatever a user names an entity or a field.

The wire name (a JSON key, a query parameter, a column) is always the user's; only the identifier
that carries it in code changes: `from` is the attribute `from_` with the alias `from`, an entity
`Class` lives in the module `class_`, every SQL identifier is quoted, a TypeScript local gets a
prefix instead of a reserved word.
"""

from __future__ import annotations

import builtins
import keyword

from pydantic import BaseModel

# Names a generated Python class body or module would shadow or break: keywords, builtins (a
# field `list` would shadow `list[...]` annotated after it), pydantic's own attributes, and the
# module aliases the generated code imports.
_PYTHON_UNSAFE = (
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | {name for name in dir(builtins) if not name.startswith("_")}
    | {name for name in dir(BaseModel) if not name.startswith("_")}
    | {"dt", "self", "cls", "Any", "Field", "Literal", "BaseModel", "ConfigDict", "sqlite3"}
)
# Parameters of the generated list routes: a filter cannot take their name.
ROUTE_PARAMETERS = {"connection", "limit", "offset"}

# Words a TypeScript (or JavaScript) local, parameter or function cannot be named.
TYPESCRIPT_RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "implements",
        "interface",
        "let",
        "package",
        "private",
        "protected",
        "public",
        "static",
        "yield",
        "await",
        "as",
        "any",
        "boolean",
        "number",
        "string",
        "symbol",
        "type",
        "of",
        "async",
        "constructor",
        "declare",
        "get",
        "set",
        "module",
        "namespace",
        "require",
        "from",
        "arguments",
        "eval",
        "undefined",
        "never",
        "unknown",
        "object",
        "bigint",
        "keyof",
        "readonly",
        "infer",
        "is",
        "asserts",
        "abstract",
        "global",
    ]
)


def python_attribute(name: str) -> str:
    """A field's attribute in Python: its name, or its name with `_` appended when that is unsafe."""
    return f"{name}_" if name in _PYTHON_UNSAFE or name.startswith("model_") else name


def python_module(snake: str) -> str:
    """An entity's module name: its snake_case name, unless that is a keyword (`class` → `class_`)."""
    return f"{snake}_" if keyword.iskeyword(snake) or keyword.issoftkeyword(snake) else snake


def python_variable(snake: str) -> str:
    """A local, parameter or method named after an entity or a field."""
    return f"{snake}_" if snake in _PYTHON_UNSAFE else snake


def typescript_local(name: str) -> str:
    """A TypeScript local or parameter named after something of the user's (`new` → `new_`)."""
    return f"{name}_" if name in TYPESCRIPT_RESERVED else name


def typescript_member(name: str) -> str:
    """A TypeScript class member named after something of the user's: `constructor` is the class's own."""
    return f"{name}_" if name == "constructor" else name


def sql_identifier(name: str) -> str:
    """A table or column name quoted for SQL, so that `order`, `group` or `as` are names, not keywords."""
    return '"' + name.replace('"', '""') + '"'
