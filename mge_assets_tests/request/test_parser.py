"""The request parser: every shipped example parses; every kind of bad input gets a clear error."""

import pytest

from mge_assets.errors import RequestError
from mge_assets.request import parse_entities, parse_request, parse_requirements, require_entities
from mge_assets_tests.conftest import EXAMPLES, example_path

GOOD = example_path("task_api").read_text()


def test_task_api_settings_sections_and_entities() -> None:
    request = parse_request(GOOD.encode())
    assert request.name == "task-api"
    assert request.settings.title == "Task management API"
    assert request.settings.budget_usd == 5
    assert set(request.sections) == {"entities", "requirements"}
    entities = {e.name: e for e in require_entities(request, "offline")}
    assert list(entities) == ["User", "Project", "Task"]
    email = entities["User"].fields[1]
    assert (email.type, email.required, email.unique) == ("email", True, True)
    owner = entities["Project"].fields[2]
    assert owner.is_reference and owner.column == "owner_id"
    assert entities["Task"].fields[1].default == "false"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_parses_and_classifies_every_requirement(path) -> None:
    request = parse_request(path.read_bytes(), source=path.name)
    require_entities(request, "offline")
    requirements = parse_requirements(request.sections["requirements"])
    assert requirements and all(r.level in ("MUST", "SHOULD") for r in requirements)
    assert len({r.id for r in requirements}) == len(requirements)


def test_requirement_ids_follow_their_level_and_order() -> None:
    requirements = parse_requirements(parse_request(GOOD).sections["requirements"])
    should = ["SHOULD-01", "SHOULD-02", "SHOULD-03", "SHOULD-04"]
    assert [r.id for r in requirements] == [f"MUST-{i:02d}" for i in range(1, 11)] + should


def test_bullets_outside_subsections_are_classified_by_wording_or_left_unclassified() -> None:
    section = "\n- The service must answer in JSON.\n- Pages should load fast.\n- Nice colours.\n"
    levels = [(r.id, r.level) for r in parse_requirements(section)]
    assert levels == [("MUST-01", "MUST"), ("SHOULD-01", "SHOULD"), ("REQ-01", None)]


def _with_front_matter(front: str) -> str:
    return GOOD.replace(GOOD.split("---")[1], front)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("caf\xe9 ---".encode("latin-1"), "not UTF-8"),
        (b"# A request without front matter\n\n## Entities\n- User: name (str)\n", "no YAML front matter"),
        (_with_front_matter("\nname: Task API\n").encode(), "setting 'name' is 'Task API'"),
        (_with_front_matter("\nname: -rm\n").encode(), "setting 'name' is '-rm'"),
        (_with_front_matter("\nname: " + "a" * 65 + "\n").encode(), "1-64 characters"),
        (_with_front_matter("\nname: ok\ncolour: blue\n").encode(), "unknown setting 'colour'"),
        (_with_front_matter("\nname: ok\nbudget_usd: -1\n").encode(), "budget_usd"),
        (_with_front_matter("\nname: ok\nlanguage: cobol\n").encode(), "language"),
        (_with_front_matter("\nname: [unclosed\n").encode(), "not valid YAML"),
        (_with_front_matter("\n- just\n- a list\n").encode(), "must be 'key: value' lines"),
    ],
)
def test_bad_documents_are_refused_with_the_problem_named(data: bytes, expected: str) -> None:
    with pytest.raises(RequestError, match=expected):
        parse_request(data, source="request.md")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- User: name (str, required), age (integer)", "unknown type 'integer'"),
        ("- User: name (str), boss (Manager)", "unknown type 'Manager'"),
        ("- User: name (str, mandatory)", "unknown option 'mandatory'"),
        ("- User: id (int)", "field name 'id' of User is reserved"),
        ("- User: offset (int)", "reserved .listing takes 'limit' and 'offset'"),
        ("- User: _secret (str)", "may not start or end with '_'"),
        ("- Response: code (int)", "entity name 'Response' is reserved"),
        ("- Task: x (str)\n- TaskService: y (str)", "class generated for Task"),
        ("- Loan: status (enum: open|open)", "an enum lists distinct values"),
        ("- Loan: status (enum)", "an enum lists distinct values"),
        ("- Loan: status (enum: open|returned, default lost)", "expected one of open, returned"),
        ("- user: name (str)", "capitalised name"),
        ("- User: name (str)\n- User: email (email)", "declared more than once"),
        ("- User: name (str), name (text)", "declares field name more than once"),
        ("- User: done (bool, default maybe)", "does not fit its type 'bool'"),
        ("- User:", "has no fields"),
        ("no bullets here", "lists no entity"),
    ],
)
def test_bad_entity_lines_are_refused_with_the_problem_named(line: str, expected: str) -> None:
    with pytest.raises(RequestError, match=expected):
        parse_entities(line)


def test_free_form_request_is_refused_by_the_offline_backend_naming_section_and_alternative() -> None:
    free_form = parse_request("---\nname: notes\n---\n# Notes\n\nAn app to keep notes, with tags.\n")
    with pytest.raises(RequestError) as error:
        require_entities(free_form, "offline")
    assert "'## Entities'" in str(error.value)
    assert "'anthropic' backend" in str(error.value)


def test_byte_order_mark_and_crlf_line_ends_are_accepted() -> None:
    request = parse_request(("\ufeff" + GOOD).replace("\n", "\r\n").encode())
    assert request.name == "task-api"
    assert len(require_entities(request, "offline")) == 3


def test_an_enum_field_keeps_its_values_in_order_and_its_default() -> None:
    (loan,) = parse_entities("- Loan: status (enum: open|returned|lost, default open), due (date)")
    status = loan.fields[0]
    assert (status.type, status.choices, status.default) == ("enum", ("open", "returned", "lost"), "open")
    assert not status.is_reference


def test_keywords_of_python_sql_and_typescript_are_accepted_as_field_names() -> None:
    (booking,) = parse_entities(
        "- Booking: from (date), to (date), order (int), class (str), default (str), new (bool)"
    )
    assert [f.name for f in booking.fields] == ["from", "to", "order", "class", "default", "new"]


def test_every_problem_of_a_request_is_reported_at_once_with_its_file_line() -> None:
    text = (
        "---\nname: Bad Name\ncolour: blue\n---\n# T\n\n## Entities\n"
        "- User: name (strr), id (int)\n- user: x\n- Task: status (enum: a|b, default c)\n"
    )
    with pytest.raises(RequestError) as error:
        parse_request(text, source="bad.md")
    message = str(error.value)
    assert message.startswith("bad.md: 6 problems")
    for expected in (
        "line 2: setting 'name' is 'Bad Name'",
        "line 3: unknown setting 'colour'",
        "line 8: field 'name' of User has unknown type 'strr'",
        "line 8: field name 'id' of User is reserved",
        "line 9: entity line 'user: x'",
        "line 10: default 'c' of field 'status' of Task",
    ):
        assert expected in message, expected
    lines = [int(n) for n in __import__("re").findall(r"- line (\d+):", message)]
    assert lines == sorted(lines)


def test_requirement_lines_are_lines_of_the_file() -> None:
    request = parse_request(GOOD)
    requirements = parse_requirements(request.sections["requirements"], request.section_lines["requirements"])
    lines = GOOD.splitlines()
    for requirement in requirements:
        assert requirement.text in lines[requirement.line - 1]
