"""Parse a request document (Markdown + YAML front matter) into a `ProjectRequest`.

Every failure raises `RequestError` with a message that names the problem and says how to fix it.
"""

from __future__ import annotations

import hashlib
import keyword
import re

import yaml
from pydantic import ValidationError

from mge_assets.errors import RequestError
from mge_assets.request.model import (
    FIELD_TYPES,
    EntitySpec,
    FieldSpec,
    ProjectRequest,
    RequestSettings,
    Requirement,
)

PARTITION_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FORMAT_HINT = "See 'Request format' in the README."
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
_SECTION = re.compile(r"^##[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+(.*\S)[ \t]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTITY_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# Names the generated code uses for its own parameters and modules; a field cannot take them.
_RESERVED_FIELDS = {
    "id",
    "type",
    "self",
    "cls",
    "dt",
    "data",
    "limit",
    "offset",
    "connection",
    "filters",
    "changes",
    "values",
    "response",
    "request",
    "order_by",
    "list",
    "dict",
}


def parse_request(data: bytes | str, *, source: str = "request") -> ProjectRequest:
    """Validate a whole request document. `source` names it in error messages."""
    text = _decode(data, source)
    match = _FRONT_MATTER.match(text)
    if not match:
        raise RequestError(
            f"{source}: no YAML front matter. Start the file with a line '---', then settings such as "
            f"'name: my-service', then a closing '---'. {FORMAT_HINT}"
        )
    settings = _parse_settings(match.group(1), source)
    body = text[match.end() :]
    sections = _split_sections(body)
    title_match = re.search(r"^#[ \t]+(.+?)[ \t]*$", body, re.MULTILINE)
    title = settings.title or (title_match.group(1) if title_match else settings.name)
    request = ProjectRequest(
        settings=settings.model_copy(update={"title": title}),
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        summary=_summary(body),
        sections=sections,
    )
    if request.has_entities:
        parse_entities(sections["entities"], source=source)  # fail early on a bad entity line
    return request


def require_entities(request: ProjectRequest, backend: str) -> list[EntitySpec]:
    """The entities of a request for a backend that needs them (the offline one), or a clear refusal."""
    if not request.has_entities:
        raise RequestError(
            f"request '{request.name}' has no '## Entities' section, which the '{backend}' backend needs "
            "to synthesize code without a model (one line per entity, e.g. "
            "'- User: name (str, required), email (email, unique)'). Add the section, or select the "
            "'anthropic' backend (MGE_BACKEND=anthropic with ANTHROPIC_API_KEY set), which serves "
            f"free-form requests. {FORMAT_HINT}"
        )
    return parse_entities(request.sections["entities"], source=request.name)


def parse_entities(section: str, *, source: str = "request") -> list[EntitySpec]:
    """Parse the `## Entities` bullets: `- Name: field (type, required, unique, default X), ...`."""
    lines = [(n, m.group(1)) for n, line in enumerate(section.splitlines(), 1) if (m := _BULLET.match(line))]
    if not lines:
        raise RequestError(
            f"{source}: the '## Entities' section lists no entity. Write one bullet per entity, "
            f"e.g. '- User: name (str, required)'. {FORMAT_HINT}"
        )
    declared = [_entity_name(item, source) for _, item in lines]
    duplicates = sorted({n for n in declared if declared.count(n) > 1})
    if duplicates:
        raise RequestError(f"{source}: entity {', '.join(duplicates)} is declared more than once.")
    return [_parse_entity(item, set(declared), source) for _, item in lines]


def parse_requirements(section: str) -> list[Requirement]:
    """Requirements from `## Requirements`: bullets under `### MUST` / `### SHOULD`, ids MUST-01, SHOULD-01.

    A bullet outside those subsections is classified by its own wording (must/shall → MUST,
    should/may → SHOULD); one that says neither keeps level None and an id `REQ-nn`, so the
    discovery gate can report it as unclassified.
    """
    requirements: list[Requirement] = []
    counters: dict[str, int] = {}
    level: str | None = None
    for number, line in enumerate(section.splitlines(), 1):
        heading = re.match(r"^###[ \t]+(.+?)[ \t]*$", line)
        if heading:
            word = heading.group(1).strip().upper()
            level = word if word in ("MUST", "SHOULD") else None
            continue
        bullet = _BULLET.match(line)
        if not bullet:
            continue
        text = bullet.group(1)
        item_level = level or _level_from_wording(text)
        prefix = item_level or "REQ"
        counters[prefix] = counters.get(prefix, 0) + 1
        requirements.append(
            Requirement(id=f"{prefix}-{counters[prefix]:02d}", level=item_level, text=text, line=number)
        )
    return requirements


def _decode(data: bytes | str, source: str) -> str:
    if isinstance(data, bytes):
        if b"\x00" in data:
            raise RequestError(
                f"{source}: is a binary file, not a request. A request is a UTF-8 Markdown file with "
                f"YAML front matter. {FORMAT_HINT}"
            )
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(
                f"{source}: is not UTF-8 text (byte {error.start} cannot be decoded). Save it as UTF-8. {FORMAT_HINT}"
            ) from None
    text = data.removeprefix("\ufeff")
    if not text.strip():
        raise RequestError(f"{source}: is empty. Write a request: front matter, a title, ## Entities. {FORMAT_HINT}")
    return text


def _parse_settings(block: str, source: str) -> RequestSettings:
    try:
        raw = yaml.safe_load(block)
    except yaml.YAMLError as error:
        raise RequestError(f"{source}: the front matter is not valid YAML ({error}). {FORMAT_HINT}") from None
    if not isinstance(raw, dict):
        raise RequestError(f"{source}: the front matter must be 'key: value' lines. {FORMAT_HINT}")
    known = set(RequestSettings.model_fields)
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise RequestError(
            f"{source}: unknown setting {', '.join(repr(k) for k in unknown)} in the front matter; "
            f"the known settings are {', '.join(sorted(known))}."
        )
    name = raw.get("name")
    if not isinstance(name, str) or not PARTITION_KEY_PATTERN.match(name):
        raise RequestError(
            f"{source}: setting 'name' is {name!r}; it must be 1-64 characters of lowercase letters, digits "
            "and dashes, starting with a letter or digit (e.g. 'task-api'). It becomes the partition key."
        )
    try:
        return RequestSettings.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"'{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in error.errors(include_url=False)
        )
        raise RequestError(f"{source}: invalid setting {problems}.") from None


def _split_sections(body: str) -> dict[str, str]:
    """Map each `## Heading` (lower-cased) to its text up to the next `## ` heading."""
    sections: dict[str, str] = {}
    matches = list(_SECTION.finditer(body))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        sections[match.group(1).strip().lower()] = body[match.end() : end]
    return sections


def _summary(body: str) -> str:
    """The prose between the title and the first section: what the request is about."""
    first_section = _SECTION.search(body)
    head = body[: first_section.start()] if first_section else body
    lines = [line for line in head.splitlines() if line.strip() and not line.startswith("#")]
    return " ".join(line.strip() for line in lines)


def _entity_name(item: str, source: str) -> str:
    name = item.split(":", 1)[0].strip()
    if ":" not in item or not _ENTITY_NAME.match(name):
        raise RequestError(
            f"{source}: entity line '{item}' must read 'Name: field (type), ...' with a capitalised name. {FORMAT_HINT}"
        )
    return name


def _parse_entity(item: str, entity_names: set[str], source: str) -> EntitySpec:
    name = _entity_name(item, source)
    raw_fields = [f.strip() for f in _split_top_level(item.split(":", 1)[1]) if f.strip()]
    if not raw_fields:
        raise RequestError(f"{source}: entity {name} has no fields; list them after the colon.")
    fields = [_parse_field(name, raw, entity_names, source) for raw in raw_fields]
    seen = [f.column for f in fields]
    clash = sorted({c for c in seen if seen.count(c) > 1})
    if clash:
        raise RequestError(f"{source}: entity {name} declares field {', '.join(clash)} more than once.")
    return EntitySpec(name=name, fields=tuple(fields))


def _parse_field(entity: str, raw: str, entity_names: set[str], source: str) -> FieldSpec:
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?$", raw)
    if not match:
        raise RequestError(
            f"{source}: field '{raw}' of {entity} must read 'name (type, options)', e.g. 'title (str, required)'."
        )
    field_name, spec = match.group(1), match.group(2)
    if field_name in _RESERVED_FIELDS or keyword.iskeyword(field_name) or not _IDENTIFIER.match(field_name):
        raise RequestError(f"{source}: field name '{field_name}' of {entity} is reserved; choose another name.")
    parts = [p.strip() for p in (spec or "str").split(",") if p.strip()]
    field_type, options = parts[0], parts[1:]
    if field_type not in FIELD_TYPES and field_type not in entity_names:
        raise RequestError(
            f"{source}: field '{field_name}' of {entity} has unknown type '{field_type}'. Use one of "
            f"{', '.join(FIELD_TYPES)}, or the name of an entity declared in '## Entities' "
            f"({', '.join(sorted(entity_names))})."
        )
    required = unique = False
    default: str | None = None
    for option in options:
        if option == "required":
            required = True
        elif option == "unique":
            unique = True
        elif option == "optional":
            required = False
        elif option.startswith("default "):
            default = option.removeprefix("default ").strip()
        else:
            raise RequestError(
                f"{source}: field '{field_name}' of {entity} has unknown option '{option}'; "
                "the options are required, optional, unique and 'default VALUE'."
            )
    if default is not None:
        _check_default(entity, field_name, field_type, default, source)
    return FieldSpec(name=field_name, type=field_type, required=required, unique=unique, default=default)


def _check_default(entity: str, field: str, field_type: str, default: str, source: str) -> None:
    valid = {
        "bool": default.lower() in ("true", "false"),
        "int": re.fullmatch(r"-?\d+", default) is not None,
        "float": re.fullmatch(r"-?\d+(\.\d+)?", default) is not None,
    }.get(field_type, field_type in ("str", "text"))
    if not valid:
        raise RequestError(
            f"{source}: default '{default}' of field '{field}' of {entity} does not fit its type '{field_type}'."
        )


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _level_from_wording(text: str) -> str | None:
    words = set(re.findall(r"[a-z]+", text.lower()))
    if words & {"must", "shall"}:
        return "MUST"
    if words & {"should", "may"}:
        return "SHOULD"
    return None
