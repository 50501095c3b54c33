"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.
Never `playwright install`: the browser is the distribution's package at /usr/bin/chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Sync Playwright runs an event loop in this thread; Django's ORM calls in fixtures are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("IBMS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"浏览器测试需要 Debian 的 Chromium：{CHROMIUM} 不存在。请以 root 运行 "
                    "`apt-get install -y chromium`（不要运行 `playwright install`）。", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server, committed_db):
    """A fresh browser context (no cookies) per test, on a live server whose database holds the committed
    demo base."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked (an inline script, handler or style)
    pg.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert refused == [], "the page broke the Content-Security-Policy"


@pytest.fixture
def login(page, password):
    def do(username: str):
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("#login-submit")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return do
