"""A writer in a real browser (Debian's headless Chromium), JavaScript off, on a phone, in French:
postal code, untick a representative, add a personal note, confirm, and the letter arrives."""

import pytest
from selenium.webdriver.common.by import By

from browser import PHONE, require_browser, serve, start_browser, wait_until
from helpers import LETTER_CAMPAIGN, link_in, press_button, write_letter

require_browser()

NOTE = "J'ai grandi dans le Vieux-Port et je veux que mes enfants y marchent sans être fichés."


@pytest.fixture
def served(make_app):
    """The demo council letter served on a free port: (server, app)."""
    yield from serve(make_app, CAMPAIGN_FILE=str(LETTER_CAMPAIGN))


@pytest.fixture
def live(served):
    return served[0]


@pytest.fixture
def browser():
    driver = start_browser(size=PHONE, javascript=False, language="fr-CA")
    yield driver
    driver.quit()


def test_writing_to_a_councillor_without_javascript(live, browser, smtp):
    browser.get(live.url + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    browser.find_element(By.ID, "postal_code").send_keys("k1a 0b1")
    browser.find_element(By.CSS_SELECTOR, "form[action='/write'] button[type=submit]").click()
    wait_until(lambda: "/write" in browser.current_url)

    legend = browser.find_element(By.CSS_SELECTOR, "fieldset#targets legend")
    assert legend.text
    mayor = browser.find_element(By.CSS_SELECTOR, "input[name=targets][value=mayor]")
    assert mayor.is_selected()
    mayor.click()  # this writer writes to their councillor alone
    message = browser.find_element(By.ID, "message")
    assert "Madame la Mairesse" in message.get_attribute("value")
    message.send_keys(NOTE)
    browser.find_element(By.ID, "name").send_keys("Léa Gagnon")
    browser.find_element(By.ID, "email").send_keys("lea@example.ca")
    browser.find_element(By.CSS_SELECTOR, "form[action^='/sign'] button[type=submit]").click()
    wait_until(lambda: "/check-inbox" in browser.current_url)

    [confirmation] = smtp.wait_for(1, timeout=20)
    assert confirmation["To"] == "lea@example.ca"
    browser.get(live.url + link_in(confirmation, "/confirm/", base=live.url))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(lambda: browser.current_url.endswith("/thanks"))
    thanks = browser.find_element(By.TAG_NAME, "main").text
    assert "Daniel Okonkwo" in thanks and "Alexandra Brightwater" not in thanks

    messages = smtp.wait_for(2, timeout=20)
    [letter] = [message for message in messages if message["To"] == "ward1@example.org"]
    assert NOTE in letter.get_content()
    assert letter["Reply-To"] == "lea@example.ca"
    assert len(messages) == 2


def test_the_letters_sent_go_up_on_an_open_page(served, smtp):
    server, app = served
    driver = start_browser(language="fr-CA")
    try:
        driver.get(server.url + "/")
        sent = driver.find_element(By.CSS_SELECTOR, "[data-count-part=letters]")
        assert sent.text.startswith("0 ")
        writer = app.test_client()
        write_letter(writer)
        [confirmation] = smtp.wait_for(1, timeout=20)
        press_button(writer, link_in(confirmation, "/confirm/", base=server.url))
        wait_until(lambda: sent.text.startswith("2 "), timeout=40)
    finally:
        driver.quit()
