"""node's own test runner: the command for one compiled test file, and its JUnit report read per test."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ElementTree

NODE = shutil.which("node") or "/usr/bin/node"
Outcome = tuple[str, str, float]  # (outcome, message, seconds), as for pytest


FILE_LEVEL = "*"  # prefixes the path of a file node reports a failure for as a whole (did not load, timed out)


def node_test_command(paths: list[str], test_timeout_s: float) -> list[str]:
    """`node --test` on compiled files, a JUnit report in junit.xml and a readable one on stdout.
    node 20 applies `--test-timeout` to each file's run as a whole: tests it cut short are not reported,
    and the file's own entry says it timed out."""
    return [
        NODE,
        "--test",
        f"--test-timeout={int(test_timeout_s * 1000)}",
        "--test-reporter=junit",
        "--test-reporter-destination=junit.xml",
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        *paths,
    ]


def parse_node_junit(xml: bytes) -> dict[str, Outcome]:
    """Test name → (outcome, message, seconds). node names no file in its report; the caller knows which
    file ran. A failure reported for a whole file (node names it by its absolute path) is under FILE_LEVEL
    followed by that path."""
    outcomes: dict[str, Outcome] = {}
    for case in ElementTree.fromstring(xml).iter("testcase"):
        outcome, message = "passed", ""
        failure = case.find("failure")
        skipped = case.find("skipped")
        if failure is not None:
            kind = failure.get("type") or ""
            outcome = "timeout" if kind == "testTimeoutFailure" else "failed" if kind == "testCodeFailure" else "error"
            message = (failure.get("message") or failure.text or "").strip()[:2000]
        elif skipped is not None:
            outcome = "skipped"
        name = case.get("name") or ""
        if name.startswith("/") and outcome == "passed":
            continue
        outcomes[FILE_LEVEL + name if name.startswith("/") else name] = (
            outcome,
            message,
            float(case.get("time") or 0.0),
        )
    return outcomes


def file_failure(outcomes: dict[str, Outcome], compiled: str) -> Outcome | None:
    """The failure node reported for the whole of `compiled` (a path relative to where it ran), if any."""
    return next((o for k, o in outcomes.items() if k.startswith(FILE_LEVEL) and k.endswith("/" + compiled)), None)
