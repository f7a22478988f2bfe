"""Practices that follow a published script say where they come from, in every language, and
their distinctive images are in our own words."""

from __future__ import annotations

import pytest

from program.courses.catalogue import get_catalogue

ADAPTED = {
    "compassionate-friend": "Neff",
    "soften-soothe-allow": "Neff",
    "affectionate-breathing": "Neff",
    "giving-and-receiving-compassion": "Neff",
    "self-compassion-break": "Neff",
    "compassionate-colour": "Gilbert",
}
#: Images and phrases that belong to the published scripts, in each language.
SCRIPT_PHRASES = {
    "en": ["in for me, out for you", "sore muscle", "rock a child", "a visitor is coming",
           "one intention", "May I be kind to myself", "May I be gentle with myself"],
    "ja": ["吸う息は私に", "こった筋肉", "子どもをあやす", "誰かがやってくる", "たった一つの意図",
           "自分にやさしくできますように"],
    "zh": ["吸气给我，呼气给你", "酸痛的肌肉", "摇着怀里的孩子", "访客", "只有一个心意",
           "愿我温柔地对待自己"],
}


@pytest.mark.parametrize("locale", ["en", "ja", "zh"])
@pytest.mark.parametrize("key", sorted(ADAPTED))
def test_a_scripted_practice_names_its_source_in_every_language(locale, key):
    practice = get_catalogue(locale).practice(key)
    assert practice.locale == locale  # the translation loaded, not the English fallback
    assert practice.adapted_from is not None
    # the section names the script in the reader's language; the reference is as published
    programs = (("MSC", "Mindful Self-Compassion") if ADAPTED[key] == "Neff"
                else ("CFT", "Compassion Focused Therapy"))
    assert any(name in practice.adapted_from.markdown for name in programs)
    assert practice.reference.startswith(f"{ADAPTED[key]}, ")
    assert "(2018)" in practice.reference or "(2009)" in practice.reference


@pytest.mark.parametrize("locale", ["en", "ja", "zh"])
def test_the_scripts_distinctive_images_are_reworded(locale):
    catalogue = get_catalogue(locale)
    for key in ADAPTED:
        text = "\n".join(section.markdown for section in catalogue.practice(key).sections)
        found = [phrase for phrase in SCRIPT_PHRASES[locale] if phrase in text]
        assert found == [], (key, found)


def test_practices_of_our_own_carry_no_adapted_from_line():
    assert get_catalogue("en").practice("soothing-touch").adapted_from is None


def test_an_adapted_from_section_without_a_reference_stops_loading(tmp_path):
    import shutil

    from program.courses.catalogue import CONTENT_ROOT, load_catalogue
    from program.courses.content import CatalogueError
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    path = root / "practices/compassionate-colour.md"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(line for line in text.splitlines()
                              if not line.startswith("reference:")) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="reference"):
        load_catalogue(root)
