"""Helpers of the dashboard tests: the App's sign-in settings for the GitHub fake, a signed-in
`requests` session, and a headless Chromium (Debian's, with its driver) through Selenium.

The fake's OAuth web flow (`/login/oauth/authorize`, `/login/oauth/access_token`) is GitHub's
web host, not its REST API, so those two are outside the REST description the fake's other
routes are held to; the user-to-server calls (`/user`, `/user/installations`, ...) are REST.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_github import FakeGitHub

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def dashboard_env(fake: FakeGitHub, **extra: str) -> dict[str, str]:
    """What the App needs, beyond its usual settings, to sign users in against the fake."""
    client_id, client_secret = fake.oauth_client
    return {"INFRAR_GITHUB_CLIENT_ID": client_id, "INFRAR_GITHUB_CLIENT_SECRET": client_secret,
            "INFRAR_GITHUB_WEB_URL": fake.url, "INFRAR_INSECURE_COOKIES": "1", **extra}


def sign_in(fake: FakeGitHub, url: str, login: str) -> requests.Session:
    """A `requests` session signed in as `login` through the whole OAuth redirect dance."""
    fake.browser_login = login
    session = requests.Session()
    answer = session.get(f"{url}/sign-in/github", timeout=30)
    assert answer.ok and answer.url.rstrip("/") == url, (answer.status_code, answer.url)
    return session


def csrf_of(session: requests.Session, url: str, page: str = "/settings") -> str:
    found = CSRF.search(session.get(url + page, timeout=30).text)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def chromium(folder: Path) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile under `folder`), driven by Selenium."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("chromium and chromium-driver are not installed (make install-test)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={folder / 'chromium-profile'}")
    options.add_argument("--window-size=1100,900")
    service = Service(executable_path=str(CHROMEDRIVER),
                      log_output=str(folder / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
