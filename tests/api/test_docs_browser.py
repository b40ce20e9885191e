"""/docs in a real browser: the real app under uvicorn, Debian's headless Chromium driven by
selenium through /usr/bin/chromedriver (never selenium-manager), and the contract's schema shown
in Swagger UI's Schemas section with its columns once expanded (SPEC §5 "OpenAPI")."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from app.config import Settings
from tests.builders.live import WAIT_SECONDS, LiveServer, running_server
from tests.conftest import ADMIN_KEY, bearer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CONTRACTS = Path(__file__).parents[2] / "contracts"
COMPONENT = "contract.search_events"
SCREENSHOT_COPY = Path("/tmp/docs.png")
COLUMNS = (
    "event_id",
    "ts",
    "user_id",
    "session_id",
    "query",
    "position",
    "item_id",
    "price",
    "device",
    "country",
    "clicked",
    "dwell_seconds",
    "score",
)


@pytest.fixture(scope="module")
def browser_binaries() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        reason = f"headless Chromium not installed ({', '.join(missing)} missing; "
        reason += "apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with running_server(settings) as server:
        yield server


@pytest.fixture
def chromium(browser_binaries: None, tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,2400",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def test_docs_shows_the_contract_schema(
    live_server: LiveServer, chromium: WebDriver, tmp_path: Path
) -> None:
    driver = chromium

    with httpx.Client(base_url=live_server.url, timeout=WAIT_SECONDS) as http:
        response = http.post(
            "/v1/contracts",
            content=(CONTRACTS / "search_events.yaml").read_bytes(),
            headers={**bearer(ADMIN_KEY), "Content-Type": "application/yaml"},
        )
        assert response.status_code == 201, response.text
        assert COMPONENT in http.get("/openapi.json").json()["components"]["schemas"]

    driver.get(f"{live_server.url}/docs")
    wait = WebDriverWait(driver, WAIT_SECONDS)

    # Swagger UI loaded the document (from the local assets) and rendered the Schemas section.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
    # Swagger UI collapses the Schemas section under docExpansion "none": open it as a reader would.
    section = wait.until(
        ec.element_to_be_clickable(
            (By.CSS_SELECTOR, ".swagger-ui section.models h4 button.models-control")
        )
    )
    if section.get_attribute("aria-expanded") != "true":
        section.click()
    # Swagger UI lists an OpenAPI 3.1 schema under its component name (the schema has no title).
    title = f"div[contains(@class,'json-schema-2020-12__title') and text()='{COMPONENT}']"
    model = (
        By.XPATH,
        "//section[contains(@class,'models')]//article[@data-json-schema-level='0']"
        f"[./div[contains(@class,'json-schema-2020-12-head')]//{title}]",
    )
    article = wait.until(ec.visibility_of_element_located(model))
    assert "Failed to load API definition" not in driver.page_source
    # Everything came from the app itself: the Swagger UI assets are local, not from a CDN.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources, "no resources recorded"
    assert [r for r in resources if not r.startswith(live_server.url + "/")] == []

    # "Expand all" on the schema: its columns appear, with their types, constraints, descriptions.
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", article)
    head = article.find_element(By.CSS_SELECTOR, ":scope > .json-schema-2020-12-head")
    head.find_element(By.CSS_SELECTOR, "button.json-schema-2020-12-expand-deep-button").click()
    wait.until(lambda _: "Device class." in article.text)
    shown = article.text
    for text in (
        *COLUMNS,
        "Search result impressions.",
        "Unique id of the impression (UUID v4).",
        "Device class.",
        "desktop",
        "tablet",
        "^(?:[A-Z]{2})$",
        "[1, 100]",
        "[1, 200] characters",
        "string | null",
        "date-time",
    ):
        assert text in shown, f"{text!r} not shown in the expanded {COMPONENT}:\n{shown}"

    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", article)
    screenshot = tmp_path / "docs.png"
    assert driver.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    assert screenshot.stat().st_size > 10_000
