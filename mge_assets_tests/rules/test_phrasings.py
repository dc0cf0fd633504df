"""Rule sentences → typed records: every documented phrasing, the status it names, and the reasons a
rule-shaped sentence is not understood (never a crash, never silently dropped)."""

import pytest

from mge_assets.request import Requirement, parse_entities
from mge_assets.rules import rule_shaped, understand_rules
from mge_assets.rules.describe import describe_rule

ENTITIES = parse_entities(
    """
- Member: name (str, required), email (email, unique)
- Book: title (str, required), copies (int)
- Loan: book (Book, required), member (Member, required), start (date, required), due (date, required), \
status (enum: open|returned|lost, default open), returned_on (date), late (bool, default false)
- Product: name (str, required), price (float, required)
- Order: customer (str, required), status (enum: draft|placed|shipped|cancelled, default draft)
- Line: order (Order, required), product (Product, required), quantity (int, required), unit_price (float)
- Task: title (str, required), priority (int), created_on (date)
- Project: name (str, required)
- Review: reviewer (Member, required), author (Member, required), score (int)
"""
)


def understood(text: str):
    requirement = Requirement(id="MUST-07", level="MUST", text=text, line=42)
    return understand_rules([requirement], ENTITIES)


def rule(text: str):
    found = understood(text)
    assert not found.problems, found.problems
    (only,) = found.rules
    assert (only.requirement_id, only.line, only.text) == ("MUST-07", 42, text)
    return only


@pytest.mark.parametrize(
    ("text", "described", "status"),
    [
        ("A Product's price must be at least 0.", "price ≥ 0", 422),
        ("A Product's price is at least 0.", "price ≥ 0", 422),
        ("A Task's priority is between 1 and 5.", "priority ≥ 1 and priority ≤ 5", 422),
        ("Tasks' priority should be between 1 and 5.", "priority ≥ 1 and priority ≤ 5", 422),
        ("A Line's quantity must be greater than 0 and at most 100.", "quantity > 0 and quantity ≤ 100", 422),
        ("A Product's price cannot be negative.", "price ≥ 0", 422),
        ("A Product's price must be positive (400).", "price > 0", 400),
        ("The priority of a Task is less than 10.", "priority < 10", 422),
        ("A Member's name must be at most 40 characters long.", "len(name) ≤ 40", 422),
        ("A Member's name is between 2 and 40 characters.", "len(name) ≥ 2 and len(name) ≤ 40", 422),
        ("A Loan's due must be after its start.", "due > start", 422),
        ("A Loan's due must not be before its start.", "due ≥ start", 422),
        ("A Loan's start must be before its due; otherwise it is rejected with 400.", "due > start", 400),
        ("A Loan's returned_on is on or after its start.", "returned_on ≥ start", 422),
        (
            "A Loan's status moves from open to returned or lost; any other change is rejected with 409.",
            "status: open → returned | lost",
            409,
        ),
        (
            "An Order's status moves from draft to placed or cancelled, and from placed to shipped or cancelled.",
            "status: draft → placed | cancelled; placed → shipped | cancelled",
            409,
        ),
        ("A Member can have at most 3 open Loans.", "at most 3 Loan with status = open per Member (by member)", 409),
        (
            "A Member can have at most three late Loans; the next is rejected with 429.",
            "at most 3 Loan with late = True per Member (by member)",
            429,
        ),
        ("Members cannot have more than 2 Loans at a time.", "at most 2 Loan per Member (by member)", 409),
        (
            "A Member cannot have two open Loans of the same Book.",
            "no two Loan with status = open with the same member and book",
            409,
        ),
        ("An Order cannot have two Lines of the same Product.", "no two Line with the same order and product", 409),
        ("Deleting a Project that has Tasks is rejected with 409.", None, None),
        (
            "Deleting a Member that has open Loans is rejected with 409.",
            "no delete while a Loan with status = open references it (by member)",
            409,
        ),
        ("A Book that has Loans cannot be deleted.", "no delete while a Loan references it (by book)", 409),
        (
            "An Order's total is the sum of its Lines' quantity times unit_price.",
            "total = Σ quantity × unit_price over Line (read-only)",
            None,
        ),
        ("An Order's items is the sum of its Lines' quantity.", "items = Σ quantity over Line (read-only)", None),
        (
            "A Member's open_loans is the number of its open Loans.",
            "open_loans = count of Loan with status = open (read-only)",
            None,
        ),
        (
            "A Loan can be returned: POST /loans/{id}/return sets status to returned.",
            "POST /{id}/return sets status = returned",
            None,
        ),
        (
            "A Loan can be returned: POST /loans/{id}/return sets status to returned and returned_on to today.",
            "POST /{id}/return sets status = returned, returned_on = today",
            None,
        ),
        ("A Loan can be lost: POST /loans/{id}/lose.", "POST /{id}/lose sets status = lost", None),
        ("A Task's created_on defaults to today.", "created_on defaults to today", None),
        ("A Line's unit_price defaults to its Product's price.", "unit_price defaults to product.price", None),
        ("A Loan's due defaults to 14 days after its start.", "due defaults to start + 14 days", None),
    ],
)
def test_each_documented_phrasing_becomes_its_record(text: str, described: str | None, status: int | None) -> None:
    found = understood(text)
    if described is None:  # Task has no reference to Project in these entities: a reason, not a crash
        assert not found.rules and "Task has no reference to Project" in found.problems[0].reason
        return
    record = rule(text)
    assert describe_rule(record) == described
    assert record.status == status


def test_a_rule_names_every_field_it_reads_and_the_entities_it_spans() -> None:
    quota = rule("A Member cannot have two open Loans of the same Book.")
    assert quota.entity == "Member" and quota.enforced_on == "Loan"
    assert quota.fields == ("Loan.member", "Loan.book", "Loan.status")
    assert quota.entities == ("Member", "Loan", "Book")


def test_a_computed_field_or_default_nobody_declared_joins_its_entity() -> None:
    found = understood("An Order's total is the sum of its Lines' quantity times unit_price.")
    order = next(e for e in found.entities if e.name == "Order")
    total = order.fields[-1]
    assert (total.name, total.type) == ("total", "float")
    assert [f.name for f in ENTITIES[4].fields] == ["customer", "status"]  # the request's own are untouched


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A Widget's size must be at least 3.", "'Widget' is not an entity of the request"),
        ("A Loan's due must be after its finish.", "Loan has no field 'finish'"),
        ("A Loan's status moves from open to closed.", "'closed' is not a value of Loan.status (open|returned|lost)"),
        ("A Member can have at most 3 pending Loans.", "'pending' is neither a value of an enum field of Loan"),
        ("A Task's title must be at least 3.", "a bound needs an int or float field"),
        ("A Task's priority must be a prime number.", "is not a rule this backend knows"),
        ("A Loan's due must be after its book.", "is a Book, not a date or datetime"),
        ("A Member can have at most 0 Loans.", "allows no Loan at all"),
        ("A Member cannot have two Reviews of the same Member.", "references Member through several fields"),
        ("A Review's score defaults to its Member's name.", "references Member through several fields"),
        ("A Loan can be returned: GET /loans/{id}/return.", "POST, PUT or PATCH"),
        (
            "A Loan can be returned: POST /books/{id}/return sets status to returned.",
            "the action's path must be /loans/{id}/<name>",
        ),
        ("A Loan can be renewed: POST /loans/{id}/renew.", "say what the action sets"),
        ("Deleting Loans is never allowed.", "a delete guard must read"),
        ("A Task's priority is between 5 and 1.", "above the maximum"),
    ],
)
def test_a_rule_shaped_sentence_not_understood_gets_its_reason_and_line(text: str, reason: str) -> None:
    found = understood(text)
    assert not found.rules
    (problem,) = found.problems
    assert reason in problem.reason
    assert (problem.requirement_id, problem.line, problem.text) == ("MUST-07", 42, text)


@pytest.mark.parametrize(
    "text",
    [
        "Every entity can be created, read, updated, deleted and listed over HTTP.",
        "Creating a Task without a title is rejected with 422.",
        "Creating a Member with an email that already exists is rejected with 409.",
        "Listing Tasks can be filtered by priority.",
        "Listing supports limit and offset.",
        "A Task is created with priority 3 by default.",
        "Reading a Task that does not exist is rejected with 404.",
    ],
)
def test_crud_sentences_are_left_to_the_test_patterns(text: str) -> None:
    assert not rule_shaped(text)
    found = understood(text)
    assert not found.rules and not found.problems
