"""Guided-practice recordings: a study uploads its licensed audio per practice and language
(none ship with Hearth); participants listen on the session and practice pages.

The bytes live in the database (``practice_recordings``), so two app servers without a shared
disk serve the same files; at a few dozen recordings of a few MB each that is well within what
either database handles. An upload is checked by its first bytes, not by the name or the type
the browser claims.
"""

from __future__ import annotations

import hashlib

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from models import PracticeRecording, Study, User, db, write_transaction
from program.core import audit
from program.courses.catalogue import get_catalogue
from program.instruments.wording import LANGUAGES

#: the largest recording accepted (a 45-minute practice at 96 kbit/s is about 32 MB)
MAX_BYTES = 40 * 1024 * 1024


class RecordingError(ValueError):
    """An upload that cannot be kept, with the reason in words."""


def sniff(data: bytes) -> str | None:
    """The audio type of ``data`` by its signature: MP3, AAC/M4A, Ogg, WebM, WAV or FLAC."""
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"fLaC":
        return "audio/flac"
    return None


def practice_titles(study: Study, locale=None) -> dict[str, str]:
    """The practices of the study's course, by key, in course order."""
    program = get_catalogue(locale).program(study.program)
    titles: dict[str, str] = {}
    for session in program.sessions:
        for practice in session.practices:
            titles.setdefault(practice.key, practice.title)
    return titles


def save(study: Study, practice_key: str, language: str, data: bytes, user: User) -> bool:
    """Keep ``data`` as the study's recording of a practice in ``language`` (replacing one);
    False when that very file was already kept."""
    if practice_key not in practice_titles(study):
        raise RecordingError(_l("That practice is not part of this course."))
    if language not in LANGUAGES:
        raise RecordingError(_l("Choose one of the listed languages."))
    if not data:
        raise RecordingError(_l("Choose an audio file to upload."))
    if len(data) > MAX_BYTES:
        raise RecordingError(_l("The file is larger than %(mb)d MB.",
                                mb=MAX_BYTES // (1024 * 1024)))
    content_type = sniff(data)
    if content_type is None:
        raise RecordingError(_l("That is not an audio file Hearth can play (MP3, M4A, Ogg, "
                                "WebM, WAV or FLAC)."))
    digest = hashlib.sha256(data).hexdigest()
    with write_transaction():
        # one upload of a study at a time decides: the same file sent twice is kept once
        db.session.execute(select(Study.id).where(Study.id == study.id).with_for_update())
        kept = db.session.scalar(select(PracticeRecording.sha256).where(
            PracticeRecording.study_id == study.id,
            PracticeRecording.practice_key == practice_key,
            PracticeRecording.language == language))
        if kept == digest:
            return False
        db.session.execute(delete(PracticeRecording).where(
            PracticeRecording.study_id == study.id,
            PracticeRecording.practice_key == practice_key,
            PracticeRecording.language == language))
        db.session.flush()
        row = PracticeRecording(
            study_id=study.id, practice_key=practice_key, language=language,
            content_type=content_type, size=len(data),
            sha256=digest, data=data, uploaded_by=user.id)
        db.session.add(row)
        db.session.flush()
        audit.record(audit.AuditAction.RECORDING_UPLOADED, study, actor=user,
                     practice=practice_key, language=language, bytes=len(data))
    return True


def remove(study: Study, recording_id: int, user: User) -> bool:
    """Delete one of the study's recordings; False when it was already gone."""
    with write_transaction():
        row = db.session.get(PracticeRecording, recording_id, with_for_update=True)
        if row is None or row.study_id != study.id:
            return False
        audit.record(audit.AuditAction.RECORDING_REMOVED, study, actor=user,
                     practice=row.practice_key, language=row.language)
        db.session.delete(row)
    return True


def listing(study: Study) -> list[PracticeRecording]:
    """The study's recordings (without their bytes), by practice and language."""
    return list(db.session.scalars(
        select(PracticeRecording).where(PracticeRecording.study_id == study.id)
        .order_by(PracticeRecording.practice_key, PracticeRecording.language)))


def for_practice(study_id: int, practice_key: str, locale: str) -> PracticeRecording | None:
    """The recording to play for a reader of ``locale``: theirs, else English, else any."""
    rows = {row.language: row for row in db.session.scalars(
        select(PracticeRecording).where(PracticeRecording.study_id == study_id,
                                        PracticeRecording.practice_key == practice_key))}
    language = str(locale or "en").split("_")[0]
    return rows.get(language) or rows.get("en") or next(iter(rows.values()), None)


def available(study_id: int) -> set[str]:
    """The practice keys the study has any recording of (one query for a whole page)."""
    return set(db.session.scalars(select(PracticeRecording.practice_key).distinct().where(
        PracticeRecording.study_id == study_id)))
