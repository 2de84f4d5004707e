"""A person in a real browser (Debian's headless Chromium): French signing with the live
counter, signing with JavaScript off, signing by keyboard alone, and the error summary."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import PHONE, require_browser, serve, start_browser, wait_until
from helpers import link_in, signature_rows, text_part

require_browser()


@pytest.fixture
def live(make_app):
    yield from serve(make_app)


@pytest.fixture
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


def fill_sign_form(driver, name: str, email: str, postal_code: str = "H2X 1Y4"):
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "postal_code").send_keys(postal_code)


def shown_count(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "[data-count]").text


def test_signing_in_french_confirms_by_email_and_an_open_page_counts_without_reload(live, browser, smtp):
    server, app = live
    browser.get(f"{server.url}/?lang=fr")
    watching = browser.current_window_handle
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert shown_count(browser) == "0"

    browser.switch_to.new_window("tab")
    browser.get(f"{server.url}/?lang=fr")
    fill_sign_form(browser, "Léa Gagnon", "lea@example.ca")
    browser.find_element(By.ID, "updates").click()
    browser.find_element(By.CSS_SELECTOR, "form[action^='/sign'] button[type=submit]").click()
    wait_until(lambda: "/check-inbox" in browser.current_url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"

    [message] = smtp.wait_for(1, timeout=20)
    assert message["Content-Language"] == "fr"
    assert text_part(message).startswith("Bonjour,"), "the name typed is shown on the page, not mailed"
    assert "Vous acceptez que" in text_part(message), "the box ticked, in words"
    browser.get(server.url + link_in(message, "/confirm/", base=server.url))
    assert "Léa Gagnon" in browser.find_element(By.CSS_SELECTOR, ".submitted").text
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(lambda: browser.current_url.endswith("/thanks"))
    assert "/confirm/" not in browser.current_url
    assert browser.find_element(By.CSS_SELECTOR, "[data-copy]").is_displayed(), "share.js adds Copy the link"

    browser.switch_to.window(watching)
    wait_until(lambda: shown_count(browser) == "1", timeout=30)
    status = browser.find_element(By.CSS_SELECTOR, "[role=status][data-announce]").get_attribute(
        "textContent"
    )
    assert status.startswith("1 signature")
    assert browser.find_element(By.CSS_SELECTOR, "progress").get_attribute("value") == "1"
    assert [row.language for row in signature_rows(app)] == ["fr"]


def test_signing_and_confirming_work_with_javascript_turned_off(live, smtp):
    server, app = live
    driver = start_browser(size=PHONE, javascript=False)
    try:
        driver.get(server.url)
        fill_sign_form(driver, "No Script", "noscript@example.ca", "M5V 2T6")
        driver.find_element(By.CSS_SELECTOR, "form[action^='/sign'] button[type=submit]").click()
        wait_until(lambda: "/check-inbox" in driver.current_url)
        [message] = smtp.wait_for(1, timeout=20)
        driver.get(server.url + link_in(message, "/confirm/", base=server.url))
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_until(lambda: driver.current_url.endswith("/thanks"))
        driver.get(server.url)
        assert shown_count(driver) == "1", "the server-rendered count is right without JavaScript"
        copy = driver.find_element(By.CSS_SELECTOR, "[data-copy]")
        assert not copy.is_displayed(), "JavaScript really is off: share.js never revealed the button"
    finally:
        driver.quit()
    assert signature_rows(app)[0].confirmed_at is not None


def test_a_keyboard_alone_can_sign(live, browser, smtp):
    server, app = live
    browser.get(server.url)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = []
    for _ in range(40):
        element = browser.switch_to.active_element
        focused.append(element.get_attribute("id") or element.tag_name)
        if element.get_attribute("id") == "name":
            break
        element.send_keys(Keys.TAB)
    assert focused[0] == "a", "the first Tab reaches the skip link"
    assert focused[-1] == "name", f"Tab never reached the name field: {focused}"

    typed = {"name": "Kim Keyboard", "email": "kim@example.ca", "postal_code": "V5K 0A1"}
    order = []
    element = browser.switch_to.active_element
    for _ in range(12):
        field = element.get_attribute("id")
        order.append(field)
        if field in typed:
            element.send_keys(typed[field])
        if field == "public":
            element.send_keys(Keys.SPACE)
        if element.tag_name == "button":
            element.send_keys(Keys.ENTER)
            break
        element.send_keys(Keys.TAB)
        element = browser.switch_to.active_element
    assert order[:7] == ["name", "email", "postal_code", "country", "comment", "public", "updates"]
    assert "homepage" not in order, "the honeypot is never reached by keyboard"
    wait_until(lambda: "/check-inbox" in browser.current_url)
    [row] = signature_rows(app)
    assert (row.name, row.public, row.updates) == ("Kim Keyboard", True, False)


def test_the_error_summary_takes_focus_and_links_to_the_fields(live, browser):
    server, _app = live
    browser.get(server.url)
    browser.find_element(By.CSS_SELECTOR, "form[action^='/sign'] button[type=submit]").click()
    summary = wait_until(
        lambda: (
            (element := browser.switch_to.active_element)
            and "error-summary" in (element.get_attribute("class") or "")
            and element
        )
    )
    link = summary.find_element(By.CSS_SELECTOR, "a[href='#name']")
    link.click()
    assert browser.switch_to.active_element.get_attribute("id") == "name"
    assert browser.find_element(By.ID, "name").get_attribute("aria-invalid") == "true"


def test_the_embed_widget_can_be_framed_by_another_site_and_counts(live, browser):
    server, _app = live
    browser.get(f"{server.url}/embed?lang=fr")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert shown_count(browser) == "0"
    assert browser.find_element(By.CSS_SELECTOR, "a.button").get_attribute("href").startswith(server.url)
