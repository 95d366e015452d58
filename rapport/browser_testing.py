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
from pathlib import Path

import pytest

from rapport.env import env_bool, env_str

CHROMIUM = env_str("RAPPORT_CHROMIUM", "/usr/bin/chromium")
REPOSITORY = Path(__file__).resolve().parents[1]
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


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
