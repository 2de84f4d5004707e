"""An organization signs the open letter in a real browser (Debian's headless Chromium), with
JavaScript (only its fields show) and without (both sets show, the other type's are ignored)."""

import pytest
from selenium.webdriver.common.by import By

from browser import PHONE, require_browser, serve, start_browser, wait_until
from helpers import (
    OPEN_LETTER,
    ORGANIZER_EMAIL,
    ORGANIZER_PASSWORD,
    add_organizer,
    last_message_to,
    link_in,
    make_signature,
    signature_rows,
)

require_browser()


@pytest.fixture
def live(make_app):
    yield from serve(make_app, CAMPAIGN_FILE=str(OPEN_LETTER))


def shown(driver, field_id: str) -> bool:
    return driver.find_element(By.ID, field_id).is_displayed()


def sign_as_organization(driver, server, smtp, email: str, fill_individual_fields: bool):
    """Choose "organization", fill in its fields, send, and confirm from the email."""
    driver.get(server.url)
    driver.find_element(By.CSS_SELECTOR, "input[name=signatory_type][value=organization]").click()
    driver.find_element(By.ID, "name").send_keys("Réseau <i>Visages</i>")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "contact_name").send_keys("Noor Haddad")
    driver.find_element(By.ID, "website").send_keys("reseau.example")
    if fill_individual_fields:
        driver.find_element(By.ID, "title").send_keys("Typed before choosing")
    driver.find_element(By.CSS_SELECTOR, "form[action^='/sign'] button[type=submit]").click()
    wait_until(lambda: "/check-inbox" in driver.current_url)
    message = wait_until(lambda: [m for m in smtp.messages if m["To"] == email])[-1]
    driver.get(server.url + link_in(message, "/confirm/", base=server.url))
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(lambda: driver.current_url.endswith("/thanks"))


def test_with_javascript_only_the_chosen_types_fields_show(live, smtp):
    server, app = live
    driver = start_browser()
    try:
        driver.get(server.url)
        assert shown(driver, "title") and not shown(driver, "contact_name"), "an individual by default"
        assert driver.find_element(By.CSS_SELECTOR, "label[for=name]").text == "Full name"
        driver.find_element(By.CSS_SELECTOR, "input[name=signatory_type][value=organization]").click()
        wait_until(lambda: shown(driver, "contact_name") and not shown(driver, "title"))
        assert driver.find_element(By.CSS_SELECTOR, "label[for=name]").text == "Name of the organization"
        sign_as_organization(driver, server, smtp, "js@reseau.example", fill_individual_fields=False)
    finally:
        driver.quit()
    [row] = signature_rows(app)
    assert (row.signatory_type, row.name, row.contact_name, row.website) == (
        "organization",
        "Réseau <i>Visages</i>",
        "Noor Haddad",
        "https://reseau.example/",
    )
    assert row.confirmed_at is not None and row.approved_at is None


def test_without_javascript_both_sets_show_and_the_other_types_fields_are_ignored(live, smtp):
    server, app = live
    driver = start_browser(size=PHONE, javascript=False)
    try:
        driver.get(server.url)
        assert shown(driver, "title") and shown(driver, "contact_name") and shown(driver, "website")
        sign_as_organization(driver, server, smtp, "nojs@reseau.example", fill_individual_fields=True)
    finally:
        driver.quit()
    [row] = signature_rows(app)
    assert (row.signatory_type, row.title, row.contact_name) == ("organization", "", "Noor Haddad")
    assert row.confirmed_at is not None
    assert last_message_to(smtp, "nojs@reseau.example")["To"] == "nojs@reseau.example"


def test_the_moderation_queue_fits_a_phone_and_its_flags_show(live, smtp):
    """Long names, websites and domains wrap in their card: nothing wider than a phone's screen."""
    server, app = live
    add_organizer(app)
    long_domain = "secretariat-general-des-organismes-communautaires-autonomes.example"
    rows = [
        (
            "Amnesty International Canada (section anglophone et francophone réunies)",
            "amnesty.international.canada.section@gmail.com",
            "https://\u0430mnesty.ca/fr/campagnes/reconnaissance-faciale-et-police-au-canada/",
        ),
        ("Regroupement", f"info@{long_domain}", f"https://www.{long_domain}/"),
    ]
    for number, (name, email, website) in enumerate(rows):
        domain = email.partition("@")[2]
        make_signature(
            app,
            number,
            signatory_type="organization",
            public=True,
            contact_name="Noor Haddad",
            name=name,
            email=email,
            email_domain=domain,
            website=website,
        )
    driver = start_browser(PHONE, javascript=False)
    try:
        driver.get(server.url + "/admin/login")
        driver.find_element(By.ID, "email").send_keys(ORGANIZER_EMAIL)
        driver.find_element(By.ID, "password").send_keys(ORGANIZER_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_until(lambda: "Signatories waiting for approval" in driver.page_source)
        flagged = driver.find_element(By.CSS_SELECTOR, ".queue li.flagged")
        assert "xn--mnesty-2nf.ca" in flagged.text and "gmail.com" in flagged.text
        widths = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        wide = driver.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            "document.documentElement.clientWidth + 1).map(e => e.tagName + '.' + e.className + ' ' + "
            "Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.slice(0, 40))"
        )
        assert widths[0] <= widths[1], f"{widths[0]}px wide on a {widths[1]}px screen: {wide}"
    finally:
        driver.quit()
