"""The console in a real headless browser: Debian's chromium driven by chromedriver
through Selenium (both at /usr/bin: Selenium Manager never downloads anything), one
browser for the module. Sign in, read a transcript, mark a message done, download the
month's usage CSV, see the chart; a staff user cannot open another tenant's call; a form
posted without its CSRF token is refused."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import MONTH, PASSWORD, Served

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync")
# A download or a page is waited for this long at most (a poll, not a timing assertion).
WAIT_S = 20.0

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("needs Debian's chromium and chromium-driver (make system-deps installs them)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402 - only once the browser is known to exist
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


def shows(browser: WebDriver, text: str, element_id: str | None = None) -> None:
    """Wait until the page (or one element) shows ``text``: a click that submits a form
    returns before the next page has loaded."""
    def found(driver: WebDriver) -> bool:
        where = driver.find_element(By.ID, element_id).text if element_id else driver.page_source
        return text in where
    # While the next page replaces the document, Chrome may answer "no such element", a
    # stale element, or "Node with given id does not belong to the document" (an unknown
    # error): all mean "not loaded yet"; the wait still times out with a clear error.
    WebDriverWait(browser, WAIT_S, ignored_exceptions=(WebDriverException,)).until(found)


@pytest.fixture(scope="module")
def downloads() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="console-downloads-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def sign_in(browser: WebDriver, served: Served, user: str) -> None:
    browser.delete_all_cookies()
    browser.get(served.url + "/login")
    browser.find_element(By.ID, "user").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    shows(browser, user + " (")


def test_admin_reads_a_transcript_marks_a_message_and_downloads_usage(
        browser: WebDriver, served: Served, downloads: Path) -> None:
    sign_in(browser, served, "admin")
    assert "Indicateurs" in browser.page_source  # French by default
    browser.get(served.url + "/calls")
    rows = browser.find_elements(By.CSS_SELECTOR, "#calls tr")
    assert len(rows) == 4  # header + three calls of both tenants
    browser.get(served.url + "/calls/call-demo-1")
    transcript = browser.find_element(By.ID, "transcript").text
    assert "Je voudrais un rendez-vous jeudi matin" in transcript
    assert "Alice Martin" in browser.page_source
    reads = [e for e in served.store.access_log() if e.action == "transcript_read"
             and e.subject == "call-demo-1" and e.actor == "admin"]
    assert len(reads) == 1 and reads[0].source == "127.0.0.1"

    browser.get(served.url + "/messages")
    row = browser.find_element(By.ID, f"message-{served.ids['message']}")
    row.find_element(By.TAG_NAME, "button").click()
    shows(browser, "Traité par admin", f"message-{served.ids['message']}")
    (mark,) = [m for (kind, _), m in served.store.handled("demo").items() if kind == "message"]
    assert mark.by == "admin"

    browser.get(served.url + f"/usage?month={MONTH}")
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart")
    assert len(chart.find_elements(By.TAG_NAME, "rect")) >= 28
    assert "3" in browser.find_element(By.ID, "usage").text
    browser.find_element(By.ID, "csv").click()
    csv_path = _downloaded(downloads, ".csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("tenant,day,outcome,calls")
    assert {line.split(",")[2] for line in lines[1:]} == {"booked", "message", "transfer"}
    assert any(line.startswith("demo,") and line.endswith(",2.00") for line in lines)


def test_staff_sees_its_tenant_only_and_gets_404_for_another(
        browser: WebDriver, served: Served) -> None:
    sign_in(browser, served, "alice")
    browser.get(served.url + "/calls")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#calls tr")) == 3  # demo's two
    browser.get(served.url + "/calls/call-en-1")
    assert "Introuvable" in browser.page_source
    assert "secret english words" not in browser.page_source
    assert not browser.find_elements(By.LINK_TEXT, "Journal d'accès")


def test_a_user_switches_language_and_a_wrong_password_is_refused(
        browser: WebDriver, served: Served) -> None:
    browser.delete_all_cookies()
    browser.get(served.url + "/login")
    browser.find_element(By.ID, "user").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "sign-in").click()
    shows(browser, "incorrect", "error")
    sign_in(browser, served, "alice")
    browser.find_element(By.XPATH, "//button[text()='English']").click()
    shows(browser, "Indicators")
    assert served.store.user("alice").language == "en"  # type: ignore[union-attr]


def test_a_form_posted_without_its_csrf_token_is_refused(browser: WebDriver, served: Served) -> None:
    """The language form with its hidden token removed (as a forged cross-site post would
    arrive) is refused with the 403 page, and the user's language stays as it was; the
    same form with a wrong token too."""
    sign_in(browser, served, "admin")
    before = served.store.user("admin").language  # type: ignore[union-attr]
    for forge in ("t.remove();", "t.value = 'forged-' + t.value;"):
        browser.get(served.url + "/")
        browser.execute_script("const t = document.querySelector(\"form[action='/language'] "
                               "input[name='csrf']\"); " + forge)
        browser.find_element(By.XPATH, "//form[@action='/language']//button").click()
        shows(browser, "jeton de formulaire manquant")
        assert served.store.user("admin").language == before  # type: ignore[union-attr]
    browser.get(served.url + "/")
    assert "Indicateurs" in browser.page_source  # still signed in, still French


def _downloaded(folder: Path, suffix: str) -> Path:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing ending in {suffix} was downloaded into {folder}")
