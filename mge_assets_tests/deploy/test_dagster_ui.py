"""The Dagster UI in a real browser (Debian's headless chromium through Playwright), served by the
multi-process topology on PostgreSQL: open request_pipeline's asset graph, pick the `notes` partition,
launch the materialization, follow the toast to the run's page, and once the run has ended see it
succeeded there, with Gate S (`acceptance_results_gate_s`) passed in its log and on the asset's
Checks tab."""

from __future__ import annotations

import re
from collections.abc import Iterator

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from mge_assets.defs.tags import MODEL_CALLS_TAG
from mge_assets_tests.browser import CHROMIUM_ARGS
from mge_assets_tests.conftest import require_tool
from mge_assets_tests.deploy.conftest import Topology

pytestmark = [pytest.mark.slow, pytest.mark.services]
PARTITION = "notes"  # one of the topology's requests
RUN_TIMEOUT_S = 300  # a run takes about 20 s here; only to fail instead of hanging
UI_TIMEOUT_MS = 30_000


@pytest.fixture
def page(topology: Topology) -> Iterator[Page]:
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)  # the UI answers slowly while runs use both cores
            # The newsletter dialog a new browser on localhost gets, a second after any page opens,
            # over whatever is open: dismissed beforehand, as the UI stores it.
            page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
            yield page
        finally:
            browser.close()


def _finished(topology: Topology, run_id: str) -> bool | None:
    run = topology.instance.get_run_by_id(run_id)
    return True if run is not None and run.is_finished else None


def test_the_ui_launches_a_partition_and_shows_its_run_succeed_with_gate_s(topology: Topology, page: Page) -> None:
    screenshot = topology.root / "ui-failure.png"
    try:
        page.goto(f"{topology.url}/locations/mge/jobs/request_pipeline")
        page.get_by_role("button", name="Materialize all…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Select a partition or create one").click()
        page.get_by_placeholder("Filter partitions").fill(PARTITION)
        page.get_by_role("menuitem").filter(has=page.get_by_title(PARTITION, exact=True)).click()
        dialog.get_by_text("Launch runs to materialize").click()  # closes the partition list
        dialog.get_by_role("button", name="Launch 1 run").click()

        # The toast's link to the launched run (read at once: the toast fades after a few seconds).
        view = page.get_by_role("link", name="View").filter(has_text=re.compile("^View$"))
        expect(view).to_have_attribute("href", re.compile(r"^/runs/[0-9a-f-]{36}$"))
        link = view.get_attribute("href") or ""
        run_id = link.removeprefix("/runs/")
        page.goto(f"{topology.url}{link}")
        expect(page.get_by_text(f"partition: {PARTITION}")).to_be_visible()
        # A run page left open streams every event to the browser: on two cores that doubles the run.
        page.goto("about:blank")
        topology.wait_for(lambda: _finished(topology, run_id), f"run {run_id} finished", RUN_TIMEOUT_S)
        page.goto(f"{topology.url}/runs/{run_id}")
        expect(page.get_by_text(re.compile("^(Success|Failure|Canceled)$")).first).to_have_text("Success")
        page.get_by_placeholder("Filter…").fill("acceptance_results_gate_s")
        expect(
            page.get_by_text("Check acceptance_results_gate_s succeeded for materialization of acceptance_results.")
        ).to_be_visible()

        # Where a user reads the gate: the asset's Checks tab, its latest evaluation.
        page.goto(f"{topology.url}/assets/acceptance_results?view=checks")
        expect(page.get_by_text("acceptance_results_gate_s").first).to_be_visible()
        expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    except Exception as error:  # an assertion, or one of Playwright's timeouts: the page as it was
        page.screenshot(path=str(screenshot), full_page=True)
        raise AssertionError(f"{type(error).__name__}: {error}\nscreenshot: {screenshot}{topology.tail()}") from error

    # What the UI showed is what the instance recorded: a queued, tagged run of the partition.
    run = topology.instance.get_run_by_id(run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS, run
    assert run.job_name == "request_pipeline" and run.tags["dagster/partition"] == PARTITION, run.tags
    assert run.tags[MODEL_CALLS_TAG] == "true", run.tags  # the job's run tag, on a run launched from the UI
    assert topology.instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED), "not queued"
