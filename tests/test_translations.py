"""The translation catalogues: every German message translated (no empty or fuzzy
entry, the same placeholders), and each committed .mo compiled from its .po.

A fresh clone runs without GNU gettext, so the .mo files are committed; this
test compiles each .po with polib and fails when its .mo says something else
(run ``manage.py compilemessages`` after editing a .po; README "Languages").
Where gettext is installed, it also extracts the messages afresh and fails when
the code has one the catalogues lack (run ``makemessages``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

LOCALE = Path(settings.BASE_DIR) / "academia" / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def entries(catalogue: polib._BaseFile) -> dict[tuple[str, str, str], object]:
    """What a catalogue says: each message (with its context and plural) and its
    translations."""
    said: dict[tuple[str, str, str], object] = {}
    for entry in catalogue:
        if entry.obsolete or "fuzzy" in entry.flags:
            continue
        key = (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")
        if entry.msgid_plural:
            said[key] = tuple(entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural))
        else:
            said[key] = entry.msgstr
    return said


def test_every_language_but_english_has_both_catalogues() -> None:
    languages = {code for code, _name in settings.LANGUAGES} - {"en"}
    assert languages == {"de"}
    for language in languages:
        for domain in ("django", "djangojs"):
            assert (LOCALE / language / "LC_MESSAGES" / f"{domain}.po").is_file()


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda path: str(path.relative_to(LOCALE)))
def test_every_message_is_translated(po_path: Path) -> None:
    catalogue = polib.pofile(str(po_path))
    assert len(catalogue) > 100
    assert not catalogue.metadata_is_fuzzy
    fuzzy = [entry.msgid for entry in catalogue if "fuzzy" in entry.flags]
    assert fuzzy == []
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    assert untranslated == []
    for entry in catalogue:
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
            assert len(forms) == 2, entry.msgid
            assert all(forms), entry.msgid
            assert PLACEHOLDER.findall(forms[0]) == PLACEHOLDER.findall(entry.msgid)
            assert PLACEHOLDER.findall(forms[1]) == PLACEHOLDER.findall(entry.msgid_plural)
        else:
            assert entry.msgstr.strip(), entry.msgid
            assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(
                PLACEHOLDER.findall(entry.msgid)
            ), entry.msgid


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda path: str(path.relative_to(LOCALE)))
def test_the_committed_mo_is_compiled_from_its_po(po_path: Path, tmp_path: Path) -> None:
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.is_file(), f"{mo_path} is missing: run manage.py compilemessages"
    fresh = tmp_path / "fresh.mo"
    polib.pofile(str(po_path)).save_as_mofile(str(fresh))

    committed = entries(polib.mofile(str(mo_path)))
    expected = entries(polib.mofile(str(fresh)))

    stale = sorted(set(expected.items()) ^ set(committed.items()), key=str)
    assert stale == [], f"{mo_path} is out of date with its .po: run manage.py compilemessages"


# As README "Languages" runs makemessages, on a copy of the code: makemessages
# writes next to any `locale` directory it meets, which would be the committed one.
SOURCES = ["academia", "accounts", "chat", "courses", "templates", "static"]
IGNORE = ["node_modules", ".venv", "*/tests/*", "tests/*"]


@pytest.mark.skipif(
    shutil.which("xgettext") is None and os.environ.get("CI") != "true",
    reason="GNU gettext is not installed (CI installs it: there this test must run)",
)
@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_catalogues_hold_every_message_of_the_code(
    domain: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = tmp_path / "code", tmp_path / "locale"
    skip = shutil.ignore_patterns("locale", "tests", "__pycache__", "node_modules")
    for source in SOURCES:
        shutil.copytree(Path(settings.BASE_DIR) / source, code / source, ignore=skip)
    out.mkdir()
    monkeypatch.chdir(code)
    with override_settings(LOCALE_PATHS=[str(out)]):
        call_command(
            "makemessages", locale=["de"], domain=domain, ignore_patterns=IGNORE, verbosity=0
        )
    fresh = polib.pofile(str(out / "de" / "LC_MESSAGES" / f"{domain}.po"))
    committed = polib.pofile(str(LOCALE / "de" / "LC_MESSAGES" / f"{domain}.po"))

    def messages(catalogue: polib.POFile) -> set[tuple[str, str]]:
        return {(entry.msgctxt or "", entry.msgid) for entry in catalogue if not entry.obsolete}

    missing = sorted(messages(fresh) - messages(committed))
    unused = sorted(messages(committed) - messages(fresh))

    assert missing == [], f"run makemessages -d {domain} and translate: {missing}"
    assert unused == [], f"run makemessages -d {domain} --no-obsolete: {unused}"
