"""Shared pieces of the real-browser tests: Debian's Chromium driven by Playwright.

Loaded as a pytest plugin from rapport/conftest.py. A browser test module calls
:func:`require_browser_tools` at import; without Chromium, Playwright or axe-core the
module is skipped with the install step to take — unless ``RAPPORT_REQUIRE_BROWSER=1``
(set by CI), where a missing tool fails the run instead of hiding the tests.

Playwright must launch the system's Chromium (``executable_path``); it never downloads
a browser of its own (``playwright install`` is not used anywhere).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from rapport.env import env_bool, env_str

CHROMIUM = env_str("RAPPORT_CHROMIUM", "/usr/bin/chromium")
REPOSITORY = Path(__file__).resolve().parents[1]
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# How long a closed page's last requests (a draft saved on closing) may take to reach the
# live server; after that the test waits only for requests the server is still handling.
CLOSING_REQUESTS_ARRIVE_SECONDS = 0.1


def missing_browser_tools() -> list[str]:
    """What is missing for browser tests, each with the step that installs it."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright (make install)")
    if not shutil.which(CHROMIUM):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        missing.append("axe-core (npm ci)")
    return missing


def require_browser_tools() -> None:
    missing = missing_browser_tools()
    if not missing:
        return
    message = "browser tests need " + "; ".join(missing)
    if env_bool("RAPPORT_REQUIRE_BROWSER", False):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture
def plain_http_cookies(settings):
    """The live server speaks plain HTTP, as the demo does (RAPPORT_INSECURE_COOKIES=1)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME = "rapport_session", "rapport_csrf"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
    # make between browser steps are ordinary synchronous code, so Django may allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_context_args() -> dict:
    """Options of the ``page`` fixture's browser context; a module overrides this fixture
    for another screen (``viewport=PHONE``, ``is_mobile=True``, ...)."""
    return {"viewport": DESKTOP}


@pytest.fixture
def new_page(browser):
    """Opens a page in a browser context of its own (a client's phone, a therapist's
    desktop, a second person); ``options`` are Playwright's context options (default: a
    desktop screen). Every context is closed after the test, even one that failed."""
    contexts = []

    def open_page(**options):
        options.setdefault("viewport", DESKTOP)
        # bypass_csp only lets the test inject axe-core; the pages themselves keep their CSP.
        contexts.append(browser.new_context(bypass_csp=True, **options))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page, browser_context_args):
    """A page in a fresh browser context (``browser_context_args``), closed after the test."""
    return new_page(**browser_context_args)


class RequestsInFlight:
    """WSGI wrapper counting the requests the live server is handling."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.count -= 1
                self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


@pytest.fixture(autouse=True)
def _live_server_settles(request):
    """Let the live server finish the requests a test's pages sent last before the test
    database is emptied.

    A check-in page that is closed saves its draft on the way out; emptying the database
    while that request writes deadlocked on PostgreSQL. Requesting ``_live_server_helper``
    (which sets up the transactional database) makes this fixture's teardown run before
    the database is emptied.
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("_live_server_helper")
    httpd = request.getfixturevalue("live_server").thread.httpd
    in_flight = httpd.get_app()
    if not isinstance(in_flight, RequestsInFlight):
        in_flight = RequestsInFlight(in_flight)
        httpd.set_app(in_flight)
    yield
    time.sleep(CLOSING_REQUESTS_ARRIVE_SECONDS)
    if not in_flight.wait_until_idle(timeout=30):
        pytest.fail("the live server was still handling a request 30 s after the test")


def check_accessibility(page, tags: tuple[str, ...] = WCAG_21_AA) -> None:
    """axe-core on the current page: no serious or critical violation of ``tags``."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""",
        list(tags),
    )
    if violations:
        raise AssertionError(f"{page.url}: {violations}")


def save_screenshot(page, directory: str | None, name: str, *, full_page: bool) -> None:
    """Write a documentation screenshot when a screenshot folder was asked for."""
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=full_page)


def sign_in(page, base_url: str, user) -> None:
    """Sign ``user`` in as staff do: password, then the code of their authenticator app.

    ``user`` needs one confirmed TOTP device and the test password of rapport.testing.
    """
    from rapport.testing import PASSWORD, totp_code

    page.goto(base_url + "/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", totp_code(user.totpdevice_set.get()))
    page.click("main form button[type=submit]")
    # Each role's start page: "/" (the caseload), or Staff or Insights it sends them on to.
    page.wait_for_url(lambda url: url.startswith(base_url + "/") and "/mfa/" not in url)
    page.wait_for_load_state()


def can_sign_in(user):
    """Give ``user`` the test password and a confirmed authenticator, for :func:`sign_in`."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from rapport.testing import PASSWORD

    user.set_password(PASSWORD)
    user.save()
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def horizontal_overflow(page) -> str:
    """'' when the page fits the screen's width; else its width and the widest culprits."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return '';
            const culprits = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 0.5)
                .filter(el => !el.parentElement.closest('.table-scroll'))
                .slice(0, 5)
                .map(el => el.tagName.toLowerCase() + '.' + el.className + ' '
                     + Math.round(el.getBoundingClientRect().right) + 'px');
            return document.documentElement.scrollWidth + 'px wide: ' + culprits.join('; ');
        }"""
    )
