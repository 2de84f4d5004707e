"""What the moderation queue reads in a domain, a website and a name: free mail, the registrable
domain, homographs (mixed scripts, Latin look-alikes) and accented names that are plain Latin."""

import pytest

from app.domains import is_free_mail, is_homograph, registrable_domain, shown_host, shown_website


@pytest.mark.parametrize(
    ("host", "registered"),
    [
        ("amnesty.ca", "amnesty.ca"),
        ("mail.amnesty.ca", "amnesty.ca"),
        ("Mail.Amnesty.CA.", "amnesty.ca"),
        ("www.tbs-sct.gc.ca", "tbs-sct.gc.ca"),
        ("courriel.mrc.gouv.qc.ca", "gouv.qc.ca"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("café.ca", "xn--caf-dma.ca"),
    ],
)
def test_the_registrable_domain_is_the_last_two_labels_or_three_under_a_two_level_suffix(host, registered):
    assert registrable_domain(host) == registered


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "googlemail.com", "hotmail.fr", "live.ca", "yahoo.co.uk", "gmx.de", "videotron.ca"],
)
def test_free_mail_and_personal_providers_are_known_in_every_country(domain):
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", ["amnesty.ca", "mail.amnesty.ca", "liguedesdroits.ca", "tbs-sct.gc.ca"])
def test_an_organizations_own_domain_is_not_free_mail(domain):
    assert not is_free_mail(domain)


@pytest.mark.parametrize(
    "name",
    [
        "Amnеsty International Canada",  # a Cyrillic е
        "Αmnesty International",  # a Greek capital alpha
        "Internatіonal Civil Liberties",  # a Ukrainian і
        "Ｌigue des droits",  # a fullwidth L
        "𝐀𝐦𝐧𝐞𝐬𝐭𝐲",  # mathematical bold letters
        "АВС",  # Cyrillic letters that all read as Latin: "ABC"
        "Ligue des droits — Ελλάδα",  # Latin and Greek side by side
    ],
)
def test_names_that_mix_scripts_or_pass_for_latin_are_homographs(name):
    assert is_homograph(name)


@pytest.mark.parametrize(
    "name",
    [
        "Zoé Lefrançois-Œuvray",
        "Ligue des droits et libertés du Québec",
        "Hélène d'Aragon-Müller",
        "Ana Oʼ Brien",  # a modifier letter apostrophe is every script's
        "Sœur Cécile, coeur de l'Œuvre",
        "Nehiyaw ᓀᐦᐃᔭᐤ",  # Latin with Syllabics, which has no Latin look-alike to hide
        "Андрей Сахаров",  # one script, not Latin
        "東京の ひらがな カタカナ",  # Japanese: one writing system
    ],
)
def test_accented_latin_names_and_names_in_one_writing_system_are_not_homographs(name):
    assert not is_homograph(name)


def test_a_website_whose_host_mixes_scripts_shows_in_its_xn_form():
    assert shown_website("https://аmnesty.ca/") == "https://xn--mnesty-2nf.ca/"
    assert shown_website("https://www.аmnesty.ca:8443/fr/") == "https://www.xn--mnesty-2nf.ca:8443/fr/"
    assert shown_host("xn--mnesty-2nf.ca") == "xn--mnesty-2nf.ca"
    for kept in ("https://amnesty.ca/", "https://café.ca/nous", "https://пример.рф/"):
        assert shown_website(kept) == kept
    assert shown_host("xn--caf-dma.ca") == "café.ca"
