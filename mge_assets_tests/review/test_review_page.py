"""The reviewer's page, `mge review serve`, in a real browser (Debian's headless chromium through
Playwright) on a finished run whose bound rule slipped: a reviewer opens the queue, filters it, opens
the item, has a broken edit refused and kept, puts the AI suggestion's fix in the edit box and edits
it, regenerates another item (not without a comment) and approves a third; applying the decisions
changes the generated project. The screenshot of the README is taken here. Then the token rule:
served off loopback only with MGE_REVIEW_TOKEN, and every request without it refused."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from mge_assets.commands.review_app import review_server, serve
from mge_assets.commands.review_desk import ReviewDesk
from mge_assets.errors import MgeError, ModelOutputError
from mge_assets_tests.browser import CHROMIUM_ARGS
from mge_assets_tests.conftest import require_tool
from mge_assets_tests.processes import free_port
from mge_assets_tests.review.conftest import BOUND_ATOM, MOVED

pytestmark = pytest.mark.slow
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "review.png"
DOC = '"""MUST-02: A Note\'s rating is between 1 and 5."""'
REVIEWED_DOC = '"""MUST-02: A Note\'s rating is between 1 and 5 (reviewed)."""'
BROKEN = "def broken(:\n    pass\n"
HOSTILE = "<script>document.title = 'owned'</script> looks right"


@contextlib.contextmanager
def serving(server: uvicorn.Server) -> Iterator[str]:
    """The page's server in a thread of this process, stopped when the block ends."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review page did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def http(url: str, data: bytes | None = None, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post(page: Page, button: str) -> int:
    """Click a form's button and return the status of the POST it sends."""
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.locator(button).click()
    page.wait_for_load_state()
    return sent.value.status


def test_a_reviewer_edits_regenerates_and_approves_in_the_browser_and_the_project_changes(notes_copy: Path) -> None:
    chromium = require_tool("chromium")
    desk = ReviewDesk()
    items = desk.items()
    bound = next(i for i in items if i.atom == BOUND_ATOM)
    approved, regenerated = [i for i in items if i.atom != BOUND_ATOM and not i.spot_check][:2]
    with serving(review_server("127.0.0.1", free_port())) as url:
        with sync_playwright() as playwright:  # its loop must be gone before applying runs Dagster's
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(20_000)
                _the_queue(page, url, len(items))
                _the_bound_item_edited(page, bound.id, desk)
                _regenerated_with_a_comment_only(page, url, regenerated.id, desk)
                _approved_with_a_hostile_comment(page, url, approved.id)
                page.goto(f"{url}/?status=edited")
                expect(page.locator("#queue tbody tr")).to_have_count(1)
                expect(page.locator("#queue tbody")).to_contain_text(bound.id)
            finally:
                browser.close()

        # A page elsewhere cannot post to it, nor reach it under another name (DNS rebinding).
        form = f"action=approve&seen_sha={bound.code_sha}".encode()
        assert http(f"{url}/items/{bound.id}/decide", form, Origin="http://evil.example")[0] == 403
        assert http(f"{url}/items/{bound.id}/decide", form)[0] == 403
        assert http(f"{url}/health", Host="evil.example")[0] == 403
        assert len(desk.store.decisions("notes")) == 3

        applied = ReviewDesk().apply()
        assert [(a.request, a.success) for a in applied] == [("notes", True)]
        written = (notes_copy / "mge_workspace" / "notes" / "notes" / "rules" / "note.py").read_text()
        assert REVIEWED_DOC in written and MOVED[1] not in written
        statuses = {i.atom: i.status for i in desk.items()}
        assert statuses[BOUND_ATOM] == statuses[approved.atom] == "applied"
        assert all(d.applied for d in desk.store.decisions("notes"))
        status, body = http(f"{url}/api/items/{bound.id}")  # the page reads the applied run too
        shown = json.loads(body)
        assert status == 200 and shown["status"] == "applied" and shown["suggestion"]["available"]
        assert REVIEWED_DOC in shown["code"]


def _the_queue(page: Page, url: str, count: int) -> None:
    page.goto(url)
    expect(page.locator("#sla")).to_contain_text("Oldest pending item:")
    expect(page.locator("#queue tbody tr")).to_have_count(count)
    page.get_by_label("reviewing as").fill("ana")
    page.get_by_role("button", name="save").click()
    expect(page.get_by_label("reviewing as")).to_have_value("ana")  # remembered in a cookie
    page.locator("#filters select[name=status]").select_option("approved")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#queue")).to_have_count(0)
    page.locator("#filters select[name=status]").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#queue tbody tr")).to_have_count(count)


def _the_bound_item_edited(page: Page, item_id: str, desk: ReviewDesk) -> None:
    page.get_by_role("link", name=item_id).click()
    expect(page.locator("#traces")).to_contain_text("MUST-02")
    expect(page.locator("#traces .fail").first).to_have_text("FAIL")
    expect(page.locator("#diff .hl")).to_contain_text(MOVED[1])
    expect(page.locator("#confidence")).to_contain_text("complexity")
    expect(page.locator("#suggestion")).to_contain_text("spec-driven draft")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.locator("#edit textarea").fill(BROKEN)
    assert post(page, "#edit button") == 400
    expect(page.locator("#notice")).to_contain_text("refused")
    expect(page.locator("#edit textarea")).to_have_value(BROKEN)
    draft = desk.store.latest_draft("notes", BOUND_ATOM)
    assert draft is not None and draft["code"] == BROKEN and not desk.store.decisions("notes")

    page.get_by_role("button", name="Put the fix in the edit box").click()
    fix = page.locator("#edit textarea").input_value()
    assert MOVED[0] in fix and DOC in fix
    page.locator("#edit textarea").fill(fix.replace(DOC, REVIEWED_DOC))
    assert post(page, "#edit button") == 303  # then the item, with what happened
    expect(page.locator("#done")).to_contain_text("edited")
    expect(page.locator("#done")).to_contain_text("mge review apply notes")
    expect(page.locator("#status")).to_have_text("edited")
    (decision,) = desk.store.decisions("notes")
    assert decision.reviewer == "ana" and decision.suggestion_id is not None and REVIEWED_DOC in decision.code_after


def _regenerated_with_a_comment_only(page: Page, url: str, item_id: str, desk: ReviewDesk) -> None:
    page.goto(f"{url}/items/{item_id}")
    assert post(page, "#regenerate button") == 400
    expect(page.locator("#notice")).to_contain_text("regenerate needs a comment")
    assert len(desk.store.decisions("notes")) == 1
    page.locator("#regenerate input[name=comment]").fill("write it again from the spec")
    post(page, "#regenerate button")
    expect(page.locator("#done")).to_contain_text("sent back")
    expect(page.locator("#status")).to_have_text("regenerated")


def _approved_with_a_hostile_comment(page: Page, url: str, item_id: str) -> None:
    page.goto(f"{url}/items/{item_id}")
    page.locator("#approve input[name=comment]").fill(HOSTILE)
    post(page, "#approve button")
    expect(page.locator("#done")).to_contain_text("approved")
    expect(page.locator("#decisions")).to_contain_text(HOSTILE)  # shown as text, never run
    assert page.locator("script").count() == 0 and "owned" not in page.title()


def test_off_loopback_the_page_needs_a_token_and_every_request_carries_it(notes_copy: Path) -> None:
    with pytest.raises(MgeError, match="MGE_REVIEW_TOKEN"):
        serve("0.0.0.0", free_port())
    token = "a-long-random-review-token"
    with serving(review_server("127.0.0.1", free_port(), token)) as url:
        assert http(f"{url}/health")[0] == 401
        assert http(f"{url}/api/items", Authorization="Bearer wrong")[0] == 401
        status, body = http(f"{url}/api/items", Authorization=f"Bearer {token}")
        assert status == 200 and len(json.loads(body)) > 0
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(f"{url}/?token={token}") as response:  # the cookie, then the queue
            assert response.status == 200 and response.url == f"{url}/" and "review queue" in response.read().decode()
        with opener.open(f"{url}/health") as response:
            assert response.status == 200


def test_a_garbled_suggestion_is_shown_unavailable_and_a_changed_item_is_a_conflict(
    notes_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def garbled(text: str) -> None:
        raise ModelOutputError("the suggestion's 'issues' is not a list of strings")

    monkeypatch.setattr("mge_assets.review.suggest.parse_suggestion", garbled)
    item = ReviewDesk().items()[0]
    with serving(review_server("127.0.0.1", free_port())) as url:
        status, page = http(f"{url}/items/{item.id}")
        assert status == 200 and "unavailable: the suggestion&#39;s &#39;issues&#39; is not a list" in page
        assert json.loads(http(f"{url}/api/items/{item.id}")[1])["suggestion"]["available"] is False
        form = b"action=approve&seen_sha=0123456789abcdef&comment=%3Cb%3Eok%3C%2Fb%3E"
        status, page = http(f"{url}/items/{item.id}/decide", form, Origin=url)
        assert status == 409 and "changed while you looked at it" in page and "&lt;b&gt;ok&lt;/b&gt;" in page
        assert http(f"{url}/items/nothing-like-it")[0] == 404
