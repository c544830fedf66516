"""The demo page in real Chromium against a real ``otpgate serve`` process.

Codes are read from the page's own sandbox inbox panel, as a user without a phone would.
In the sandbox ``000000`` is always wrong and any other well-formed code is right.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import launch_chromium, results_dir
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def _server(tmp: Path, **env: str) -> ServerProcess:
    return ServerProcess(
        {
            "OTPGATE_DATABASE_URL": f"sqlite:///{tmp}/otpgate.db",
            "OTPGATE_LOG_JSON": "true",
            # Every page test writes from 127.0.0.1: lift the per-address demo throttle.
            "OTPGATE_DEMO_WRITES_PER_MINUTE": "1000",
            **env,
        },
        log_path=tmp / "server.log",
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[ServerProcess]:
    with _server(tmp_path_factory.mktemp("demo")) as srv:
        yield srv


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    return results_dir(request)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def open_page(page: Any, server: ServerProcess) -> None:
    page.goto(f"{server.url}/")
    page.get_by_role("heading", name="Verify it's you").wait_for()


def start(page: Any, destination: str, onboarding: bool = False) -> None:
    page.get_by_label("Phone number or email").fill(destination)
    if onboarding:
        page.get_by_label(re.compile("Onboarding")).check()
    page.get_by_role("button", name="Send code").click()
    page.get_by_role("heading", name="Enter your code").wait_for()


def inbox_codes(page: Any, count: int = 1) -> list[str]:
    """The codes shown in the sandbox inbox panel, newest first, once ``count`` are there."""
    messages = page.locator("#inbox-list .inbox-message:not(.earlier) .body")
    messages.nth(count - 1).wait_for()
    return [CODE.search(text).group(1) for text in messages.all_inner_texts()]


def eval_id(page: Any) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('otpgate-demo')).eval_id")


def evaluation(server: ServerProcess, eid: str) -> dict[str, Any]:
    """The evaluation as the API has it (through the demo backend: no key in the test)."""
    r = httpx.get(f"{server.url}/demo/api/evaluation/{eid}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def alert(page: Any) -> Any:
    return page.get_by_role("alert")


def test_happy_path_by_keyboard_with_the_inbox_panel(page, server, shots):
    open_page(page, server)
    assert page.evaluate("document.activeElement.id") == "destination"
    page.keyboard.type("+1 415 555 0101")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Enter your code").wait_for()
    assert page.evaluate("document.activeElement.id") == "code"
    code_field = page.get_by_label("6-digit code")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    assert "+1 415 *** ** 01" in page.locator("#sent-dest").inner_text()
    [code] = inbox_codes(page)
    assert "+14155550101" in page.locator("#inbox-dest").inner_text()
    shot(page, shots, "1-code-entry")

    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="You're verified").wait_for()
    assert page.locator("#done-decision").inner_text() == "ACCEPT"
    assert page.locator("#done-status").inner_text() == "CLOSED · Approve"
    assert evaluation(server, eval_id(page))["decision"] == "ACCEPT"
    shot(page, shots, "2-verified")


def test_a_wrong_code_then_the_right_one(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0102")
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    alert(page).filter(has_text="Incorrect code, 4 attempts left.").wait_for()
    assert page.get_by_label("6-digit code").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "code"
    assert page.get_by_label("6-digit code").input_value() == ""
    assert page.locator("#attempts").inner_text() == "4 attempts left"
    shot(page, shots, "1-incorrect-code")

    [code] = inbox_codes(page)
    page.get_by_role("button", name=f"Use code {code}").click()
    assert page.get_by_label("6-digit code").input_value() == code
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="You're verified").wait_for()
    assert page.locator("#error").inner_text() == ""
    shot(page, shots, "2-verified")


def test_a_double_click_on_verify_spends_one_attempt(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0103")
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Verify").dblclick()
    alert(page).filter(has_text="Incorrect code, 4 attempts left.").wait_for()
    page.wait_for_timeout(500)
    assert evaluation(server, eval_id(page))["attempts_remaining"] == 4
    shot(page, shots, "after-double-click")


def test_pasting_a_whole_message_keeps_the_code(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0104")
    page.get_by_label("6-digit code").dispatch_event("focus")
    page.evaluate(
        """() => {
            const data = new DataTransfer();
            data.setData('text', 'Your code is 482 913, it expires in 10 min');
            document.getElementById('code').dispatchEvent(new ClipboardEvent('paste',
                {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )
    assert page.get_by_label("6-digit code").input_value() == "482913"
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="You're verified").wait_for()
    shot(page, shots, "verified-after-paste")


def test_resend_keeps_the_code_and_the_expiry(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0105")
    [first] = inbox_codes(page)
    expires = page.locator("#expires-at").inner_text()
    page.get_by_role("button", name="Resend the code").click()
    notice = page.get_by_role("status")
    notice.filter(has_text="A new message was sent.").wait_for()
    assert notice.inner_text() == f"A new message was sent. The code still expires at {expires}."
    assert page.locator("#expires-at").inner_text() == expires
    assert inbox_codes(page, 2) == [first, first]
    assert page.locator("#attempts").inner_text() == "5 attempts left"
    assert re.fullmatch(r"\d+:\d\d", page.locator("#countdown").inner_text())
    shot(page, shots, "1-resent")

    page.get_by_label("6-digit code").fill(first)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="You're verified").wait_for()


def test_switch_from_sms_to_email(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0106")
    sms_eval = eval_id(page)
    page.get_by_role("button", name="Send it by email instead").click()
    assert page.evaluate("document.activeElement.id") == "switch-destination"
    page.get_by_label("Email address").fill("jane.switch@example.com")
    page.get_by_role("button", name="Send a code there").click()
    page.get_by_role("status").filter(has_text="We sent a new code by email.").wait_for()
    assert page.locator("#sent-channel").inner_text() == "email"
    assert page.locator("#sent-dest").inner_text() == "j***h@example.com"
    email_eval = eval_id(page)
    assert email_eval != sms_eval
    old = evaluation(server, sms_eval)
    assert (old["status"], old["tags"]) == ("CLOSED", ["OTP Not Verified"])
    [code] = inbox_codes(page)
    assert "jane.switch@example.com" in page.locator("#inbox-dest").inner_text()
    assert page.locator("#inbox-list .chan").first.inner_text() == "Email"
    assert page.get_by_role("button", name="Send it by SMS instead").is_visible()
    shot(page, shots, "1-code-by-email")

    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="You're verified").wait_for()
    assert evaluation(server, email_eval)["decision"] == "ACCEPT"


def test_a_reload_resumes_the_same_session_without_a_new_code(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0107")
    before = eval_id(page)
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    alert(page).filter(has_text="4 attempts left").wait_for()

    page.reload()
    page.get_by_role("status").filter(has_text="Welcome back.").wait_for()
    page.get_by_role("heading", name="Enter your code").wait_for()
    assert eval_id(page) == before
    assert page.locator("#attempts").inner_text() == "4 attempts left"
    [code] = inbox_codes(page)
    page.wait_for_timeout(500)
    assert page.locator("#inbox-list .inbox-message").count() == 1
    sends = [
        e
        for e in evaluation(server, before)["data_enrichments"]
        if e["enrichment_name"].startswith("Deliver OTP")
    ]
    assert len(sends) == 1
    shot(page, shots, "1-resumed")

    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="You're verified").wait_for()


def _countdown_seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def test_five_wrong_codes_lock_out_with_a_countdown(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0108")
    field = page.get_by_label("6-digit code")
    for left in (4, 3, 2, 1):
        field.fill("000000")
        page.get_by_role("button", name="Verify").click()
        attempts = "1 attempt" if left == 1 else f"{left} attempts"
        alert(page).filter(has_text=f"Incorrect code, {attempts} left.").wait_for()
    field.fill("000000")
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Too many incorrect codes").wait_for()
    timer = page.get_by_role("timer").filter(visible=True)
    first = _countdown_seconds(timer.inner_text())
    assert 590 <= first <= 600
    page.wait_for_timeout(2100)
    assert _countdown_seconds(timer.inner_text()) < first
    assert not page.get_by_label("6-digit code").is_visible()
    shot(page, shots, "1-locked")

    # A refreshed page still shows the lockout; a new send to that number is refused.
    page.reload()
    page.get_by_role("heading", name="Too many incorrect codes").wait_for()
    page.get_by_role("button", name="Use a different phone or email").click()
    page.get_by_label("Phone number or email").fill("+1 415 555 0108")
    page.get_by_role("button", name="Send code").click()
    page.get_by_role("heading", name="Please wait before trying again").wait_for()
    assert "too many failed attempts" in page.locator("#locked-text").inner_text()
    assert _countdown_seconds(timer.inner_text()) > 580
    shot(page, shots, "2-send-refused")


VALID_DETAILS = {
    "Given name": "Jane",
    "Family name": "Doe",
    "Date of birth": "1990-04-12",
    "National ID (SSN in the US)": "123-45-6789",
    "Street address": "1 Market St",
    "City": "San Francisco",
    "State or region": "CA",
    "Postal code": "94105",
    "Country (2-letter code)": "us",
}


def test_the_details_form_leads_to_accept(page, server, shots):
    open_page(page, server)
    start(page, "+1 415 555 0109", onboarding=True)
    [code] = inbox_codes(page)
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Almost done: a few details").wait_for()
    assert page.evaluate("document.activeElement.id") == "given_name"
    assert evaluation(server, eval_id(page))["sub_status"] == "More information needed"

    page.get_by_role("button", name="Continue").click()
    alert(page).filter(has_text="Given name is required.").wait_for()
    assert page.get_by_label("Given name").get_attribute("aria-invalid") == "true"
    for label, value in VALID_DETAILS.items():
        page.get_by_label(label, exact=True).fill(value)
    assert page.get_by_label("Given name").get_attribute("aria-invalid") is None
    shot(page, shots, "1-details-form")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="You're verified").wait_for()
    assert page.locator("#done-decision").inner_text() == "ACCEPT"
    assert "PII Verified" in page.locator("#done-tags").inner_text()
    final = evaluation(server, eval_id(page))
    assert (final["status"], final["sub_status"], final["decision"]) == (
        "CLOSED",
        "Approve",
        "ACCEPT",
    )
    shot(page, shots, "2-accepted")


def test_narrow_phone_screen_has_no_sideways_scrolling(browser, server, shots):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_page(page, server)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        start(page, "+1 415 555 0110")
        inbox_codes(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.get_by_label("6-digit code").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        shot(page, shots, "code-entry-360px")
    finally:
        context.close()


def test_an_expired_code_shows_the_expired_screen(browser, tmp_path, shots):
    with _server(tmp_path, OTPGATE_OTP_TTL_SECONDS="30") as srv:
        context = browser.new_context()
        try:
            page = context.new_page()
            open_page(page, srv)
            start(page, "+1 415 555 0111")
            page.get_by_role("heading", name="Your code has expired").wait_for(timeout=45_000)
            ev = evaluation(srv, eval_id(page))
            assert (ev["status"], ev["sub_status"], ev["decision"]) == (
                "CLOSED",
                "Decline",
                "REJECT",
            )
            shot(page, shots, "expired")
            page.get_by_role("button", name="Start again").click()
            page.get_by_role("heading", name="Verify it's you").wait_for()
            assert page.evaluate("localStorage.getItem('otpgate-demo')") is None
        finally:
            context.close()
