"""The program catalogue: shipped content loads, and broken content stops start-up clearly."""

from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path

import pytest
import yaml

from program.courses import catalogue
from program.courses.calendar import CohortPlan, build_calendar
from program.courses.catalogue import (
    CONTENT_ROOT,
    get_catalogue,
    load_catalogue,
    load_practices,
    parse_practice_file,
    parse_session_file,
)
from program.courses.content import CatalogueError

FIXTURES = Path(__file__).parent / "program_fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"

SHIPPED_PRACTICES = sorted((CONTENT_ROOT / "practices").glob("*.md"))
SHIPPED_SESSIONS = sorted(CONTENT_ROOT.glob("*/[0-9]*-*.md"))


def _shipped_cadence(session_file: Path) -> int:
    return yaml.safe_load((session_file.parent / "program.yaml").read_text())["cadence_days"]


# --- shipped content -------------------------------------------------------------------------


def test_content_is_present():
    # Guards the per-file tests below against passing vacuously on an empty folder.
    assert SHIPPED_PRACTICES, "no practice files under program/courses/content/practices"
    assert SHIPPED_SESSIONS, "no session files under program/courses/content/<program>/"


@pytest.mark.parametrize("path", SHIPPED_PRACTICES, ids=lambda p: p.stem)
def test_shipped_practice_file_is_valid(path):
    practice = parse_practice_file(path)
    assert practice.key == path.stem
    assert "<ol>" in practice.steps.html


@pytest.mark.parametrize("path", SHIPPED_SESSIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_session_file_is_valid(path):
    practices = load_practices(CONTENT_ROOT / "practices")
    session = parse_session_file(path, practices, cadence_days=_shipped_cadence(path))
    for section in (session.aims, session.ideas, session.in_session, session.facilitator_guide):
        assert section.markdown.strip() and section.html.strip()
    assert session.timings
    assert session.checklist


def test_shipped_catalogue_has_both_programs_in_full():
    loaded = load_catalogue()
    cft, msc = loaded.program("cft"), loaded.program("msc")

    assert [s.number for s in cft.sessions] == list(range(1, 13))
    assert [s.number for s in msc.sessions] == list(range(1, 9))
    assert (cft.session_minutes, msc.session_minutes) == (90, 120)
    assert cft.cadence_days == msc.cadence_days == 7


def test_shipped_msc_retreat_falls_between_weeks_six_and_seven():
    msc = load_catalogue().program("msc")
    (retreat,) = msc.extra_events
    plan = CohortPlan(
        start_date=date(2026, 9, 7),
        meeting_weekday=1,
        meeting_time=time(19, 0),
        timezone="Asia/Taipei",
        session_count=msc.session_count,
        cadence_days=msc.cadence_days,
    )
    calendar = build_calendar(plan, msc.extra_events)
    (event,) = calendar.events
    week6 = calendar.local(calendar.meeting(6).planned_start).date()
    week7 = calendar.local(calendar.meeting(7).planned_start).date()
    assert event.key == retreat.key
    assert week6 < event.date < week7


def test_shipped_practices_are_shared_not_copied():
    loaded = load_catalogue()
    for program in loaded.programs.values():
        for session in program.sessions:
            for practice in session.practices:
                assert practice is loaded.practice(practice.key)


def test_shipped_html_never_contains_raw_html_from_the_content():
    loaded = load_catalogue()
    for program in loaded.programs.values():
        for session in program.sessions:
            for section in session.sections:
                assert "<script" not in section.html
                assert "<iframe" not in section.html


# --- a valid sample tree ---------------------------------------------------------------------


@pytest.fixture
def demo():
    return load_catalogue(VALID)


def test_sessions_split_into_their_sections(demo):
    first = demo.session("demo", 1)
    assert first.title == "First steps"
    assert first.slug == "first-steps"
    assert [s.heading for s in first.sections] == [
        "Aims",
        "This week's ideas",
        "In the session",
        "Facilitator guide",
    ]
    assert first.aims.markdown.startswith("- Meet each other.")
    assert "<li>Meet each other.</li>" in first.aims.html
    # The title line before the first section belongs to no section.
    assert "# First steps" not in first.aims.markdown


def test_headings_match_despite_case_and_typographic_apostrophe(demo):
    second = demo.session("demo", 2)
    assert second.ideas.heading == "This Week’s Ideas"
    assert second.ideas.markdown == "Small steps count.\n"
    assert second.section("Extra reading").markdown == "An optional section kept as it is.\n"


def test_raw_html_in_content_is_shown_as_text(demo):
    html = demo.session("demo", 1).ideas.html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_facilitator_timings_are_the_items_of_the_timings_list(demo):
    assert demo.session("demo", 1).timings == (
        "0:00–0:20 Welcome",
        "0:20–0:60 Ideas and discussion",
        "0:60–0:90 Practice and homework",
    )
    assert demo.session("demo", 2).timings == ("0:00–0:45 Review", "0:45–0:90 Kind words")


def test_a_practice_is_defined_once_and_reused(demo):
    first, second = demo.program("demo").sessions
    breathing = demo.practice("calm-breathing")
    assert first.practices == (breathing,)
    assert second.practices[0] is breathing
    assert second.practice_keys == ("calm-breathing", "kind-words")
    assert breathing.if_difficult is not None
    assert demo.practice("kind-words").if_difficult is None


def test_program_settings_and_extra_events(demo):
    program = demo.program("demo")
    assert (program.cadence_days, program.session_minutes, program.session_count) == (7, 90, 2)
    (gathering,) = program.extra_events
    assert (gathering.key, gathering.after_session, gathering.offset_days) == ("gathering", 1, 3)
    assert program.session(2).checklist == ("Review the week's practice",)


def test_catalogue_is_read_only(demo):
    with pytest.raises(TypeError):
        demo.programs["other"] = demo.program("demo")  # type: ignore[index]


@pytest.mark.parametrize(
    "lookup",
    [
        lambda c: c.program("nope"),
        lambda c: c.session("demo", 3),
        lambda c: c.session("demo", 0),
        lambda c: c.practice("nope"),
    ],
)
def test_unknown_lookups_raise_key_error(demo, lookup):
    with pytest.raises(KeyError):
        lookup(demo)


def test_get_catalogue_reads_files_only_once(monkeypatch):
    monkeypatch.setattr(catalogue, "CONTENT_ROOT", VALID)
    get_catalogue.cache_clear()
    try:
        first = get_catalogue()

        def no_reading(*args, **kwargs):
            raise AssertionError("content read again after start-up")

        monkeypatch.setattr(Path, "read_text", no_reading)
        assert get_catalogue() is first
        assert first.session("demo", 1).title == "First steps"
    finally:
        get_catalogue.cache_clear()


# --- broken files ----------------------------------------------------------------------------

# (broken fixture, where it goes in the valid tree, field named in the error, words of the error)
BROKEN_CASES = [
    ("missing-title.md", "demo/01-first-steps.md", "title", "missing field"),
    ("number-not-integer.md", "demo/01-first-steps.md", "number", "must be an integer"),
    ("number-boolean.md", "demo/01-first-steps.md", "number", "got a boolean"),
    ("practices-not-list.md", "demo/01-first-steps.md", "practices", "must be a list"),
    ("checklist-empty.md", "demo/01-first-steps.md", "checklist", "at least one item"),
    ("unknown-field.md", "demo/01-first-steps.md", "homework", "unknown field"),
    ("duplicate-number.md", "demo/01-repeat.md", "number", "duplicate session number 1"),
    ("number-out-of-range.md", "demo/03-third.md", "number", "outside 1..2"),
    ("number-mismatches-file-name.md", "demo/01-first-steps.md", "number", "file name"),
    ("week-offset-disagrees.md", "demo/02-second-steps.md", "week_offset", "expected 1"),
    ("unknown-practice.md", "demo/01-first-steps.md", "practices", "'no-such-practice'"),
    ("bad-yaml.md", "demo/01-first-steps.md", "YAML", "line"),
    ("no-front-matter.md", "demo/01-first-steps.md", "front matter", "must start with"),
    ("front-matter-not-closed.md", "demo/01-first-steps.md", "front matter", "closing"),
    ("missing-section.md", "demo/01-first-steps.md", "## In the session", "heading missing"),
    ("missing-timings.md", "demo/01-first-steps.md", "### Timings", "heading missing"),
    ("timings-not-a-list.md", "demo/01-first-steps.md", "### Timings", "must contain a list"),
    ("duplicate-section.md", "demo/01-first-steps.md", "## Aims", "appears twice"),
    ("text-before-first-section.md", "demo/01-first-steps.md", "line 10", "no section"),
    ("practice-key-mismatch.md", "practices/calm-breathing.md", "key", "'calm-breath'"),
    ("practice-steps-not-numbered.md", "practices/calm-breathing.md", "## Steps", "numbered"),
    ("practice-missing-minutes.md", "practices/calm-breathing.md", "minutes", "missing field"),
    ("program-too-many-sessions.yaml", "demo/program.yaml", "session_count", "no file for [3]"),
    ("program-key-mismatch.yaml", "demo/program.yaml", "key", "does not match its folder"),
    (
        "program-event-after-last-session.yaml",
        "demo/program.yaml",
        "extra_events[0].after_session",
        "after the last session",
    ),
    (
        "program-event-missing-offset.yaml",
        "demo/program.yaml",
        "extra_events[0].offset_days",
        "missing field",
    ),
    ("program-not-a-mapping.yaml", "demo/program.yaml", "YAML", "must be a mapping"),
]


@pytest.mark.parametrize(
    ("broken", "target", "field", "words"), BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES]
)
def test_broken_file_stops_loading_naming_file_and_field(tmp_path, broken, target, field, words):
    root = tmp_path / "content"
    shutil.copytree(VALID, root)
    shutil.copyfile(BROKEN / broken, root / target)

    with pytest.raises(CatalogueError) as raised:
        load_catalogue(root)

    error = raised.value
    assert error.path == root / target
    assert field in error.field
    assert words in error.problem
    assert str(root / target) in str(error) and field in str(error)


def test_every_broken_fixture_is_exercised():
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(c[0] for c in BROKEN_CASES)


def test_bad_yaml_error_points_at_the_file_line(tmp_path):
    # The unclosed list opens on line 6 of the file; YAML notices where the flow breaks.
    with pytest.raises(CatalogueError, match=r"line [67]\b"):
        parse_session_file(BROKEN / "bad-yaml.md", load_practices(VALID / "practices"))


def test_missing_content_folder_is_reported(tmp_path):
    with pytest.raises(CatalogueError, match="directory not found"):
        load_catalogue(tmp_path / "nowhere")


def test_a_program_folder_without_program_yaml_is_reported(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(VALID, root)
    (root / "demo" / "program.yaml").unlink()
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(root)
    assert raised.value.path == root / "demo" / "program.yaml"


def test_every_shipped_practice_is_assigned_by_some_session():
    # An unassigned practice file usually means a misspelt key in a session's front matter.
    loaded = load_catalogue()
    assigned = {
        practice.key
        for program in loaded.programs.values()
        for session in program.sessions
        for practice in session.practices
    }
    assert set(loaded.practices) == assigned
