"""Guided-practice recordings: uploaded by the study, heard by its participants, in ranges."""

from __future__ import annotations

import io
import struct
import wave

import pytest
from sqlalchemy import func, select

from models import PracticeRecording, db
from program.courses import recordings
from program.courses.catalogue import get_catalogue
from tests.conftest import csrf_token, sign_in
from tests.factories import gen_staff, gen_user
from tests.factories_delivery import gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A real WAV file: a quiet tone."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", (i % 40) * 50)
                                 for i in range(int(seconds * rate))))
    return buffer.getvalue()


@pytest.fixture
def clock_start():
    return utc(2026, 10, 16, 12)  # MSC session 1 released, session 2 not yet


@pytest.fixture
def course(app):
    return gen_course("msc")


def _practice(number: int) -> str:
    return get_catalogue().program("msc").session(number).practices[0].key


def _client(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _upload(client, study_id: int, practice: str, data: bytes, language: str = "en",
            name: str = "practice.wav"):
    path = f"/research/studies/{study_id}/recordings"
    return client.post(path, data={
        "csrf_token": csrf_token(client, path), "practice": practice, "language": language,
        "audio": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _researcher(app, study):
    user = gen_user("researcher")
    gen_staff(study, user)
    return _client(app, user)


def test_a_researcher_uploads_a_recording_and_a_participant_hears_it_in_ranges(
        app, clock, course):
    researcher = _researcher(app, course.study)
    audio = wav(2.0)
    assert _upload(researcher, course.study.id, _practice(1), audio).status_code == 302
    page = researcher.get(f"/research/studies/{course.study.id}/recordings").get_data(
        as_text=True)
    assert "English" in page and "Remove" in page

    listener = _client(app, course.user)
    session = listener.get("/me/sessions/1").get_data(as_text=True)
    url = f"/me/practices/{_practice(1)}/recording"
    assert f'src="{url}"' in session and "js/recording.js" in session
    whole = listener.get(url)
    assert whole.status_code == 200 and whole.mimetype == "audio/wav"
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.data == audio
    assert "private" in whole.headers["Cache-Control"]
    part = listener.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(audio)}"
    assert part.data == audio[100:200]
    etag = whole.headers["ETag"]
    assert listener.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_only_released_practices_of_ones_own_study_are_served(app, clock, course):
    researcher = _researcher(app, course.study)
    for number in (1, 2):
        assert _upload(researcher, course.study.id, _practice(number), wav()).status_code == 302
    listener = _client(app, course.user)
    assert listener.get(f"/me/practices/{_practice(2)}/recording").status_code == 404
    other = gen_course("msc")
    stranger = _client(app, other.user)
    assert stranger.get(f"/me/practices/{_practice(1)}/recording").status_code == 404
    assert f"/me/practices/{_practice(1)}/recording" not in stranger.get(
        "/me/sessions/1").get_data(as_text=True)


def test_the_readers_language_first_then_english(app, clock, course):
    researcher = _researcher(app, course.study)
    english, japanese = wav(1.0), wav(1.5)
    _upload(researcher, course.study.id, _practice(1), english, "en")
    _upload(researcher, course.study.id, _practice(1), japanese, "ja")
    listener = _client(app, course.user)
    url = f"/me/practices/{_practice(1)}/recording"
    assert listener.get(url, headers={"Accept-Language": "ja"}).data == japanese
    assert listener.get(url, headers={"Accept-Language": "zh"}).data == english
    _upload(researcher, course.study.id, _practice(1), wav(0.5), "ja")  # replaces, not adds
    assert db.session.scalar(select(func.count(PracticeRecording.id))) == 2


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"not audio at all, only text", "practice.mp3", "not an audio file"),
    (b"", "practice.wav", "Choose an audio file"),
    (b"<html><script>alert(1)</script></html>", "practice.wav", "not an audio file"),
])
def test_a_file_that_is_not_audio_is_refused_and_nothing_is_kept(
        app, clock, course, data, name, problem):
    researcher = _researcher(app, course.study)
    response = _upload(researcher, course.study.id, _practice(1), data, name=name)
    assert response.status_code == 200 and problem in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PracticeRecording.id))) == 0


def test_a_recording_over_the_limit_is_refused(app, clock, course, monkeypatch):
    monkeypatch.setattr(recordings, "MAX_BYTES", 1000)
    response = _upload(_researcher(app, course.study), course.study.id, _practice(1), wav())
    assert "larger than" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PracticeRecording.id))) == 0


def test_a_removed_recording_is_gone_and_a_second_click_says_so(app, clock, course):
    researcher = _researcher(app, course.study)
    _upload(researcher, course.study.id, _practice(1), wav())
    row_id = db.session.scalar(select(PracticeRecording.id))
    path = f"/research/studies/{course.study.id}/recordings"
    remove = f"{path}/{row_id}/delete"
    token = csrf_token(researcher, path)
    assert researcher.post(remove, data={"csrf_token": token}).status_code == 302
    again = researcher.post(remove, data={"csrf_token": token}, follow_redirects=True)
    assert "already removed" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PracticeRecording.id))) == 0
    listener = _client(app, course.user)
    assert listener.get(f"/me/practices/{_practice(1)}/recording").status_code == 404


def test_the_practice_form_takes_the_minutes_listened(app, clock, course):
    _upload(_researcher(app, course.study), course.study.id, _practice(1), wav())
    listener = _client(app, course.user)
    page = listener.get(f"/me/practice/new?practice={_practice(1)}&minutes=17").get_data(
        as_text=True)
    assert 'name="minutes"' in page and 'value="17"' in page
    assert f"/me/practices/{_practice(1)}/recording" in page
    for wrong in ("0", "9999", "ten"):
        page = listener.get(f"/me/practice/new?practice={_practice(1)}&minutes={wrong}")
        assert f'value="{wrong}"' not in page.get_data(as_text=True)
