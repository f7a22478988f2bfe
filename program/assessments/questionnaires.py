"""The assessment schedule: windows, invitations and reminders, answers, scoring and risk.

Timepoint windows are days relative to the cohort's start, counted in the cohort's time zone.
Invitation links carry a token derived with the app's secret key; the database stores only
its SHA-256, so a copy of the database opens no questionnaire. Reminders go out every
``REMINDER_EVERY_DAYS`` until the questionnaires are done or the window closes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import get_locale
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models import (
    AssessmentInvitation,
    Cohort,
    Group,
    GroupMembership,
    OutboxMessage,
    Participant,
    Response,
    Score,
    Study,
    Timepoint,
    User,
    db,
    utcnow,
    write_transaction,
)
from models.base import is_unique_violation
from program.core import audit
from program.core.audit import AuditAction
from program.core.dates import for_recipient
from program.courses.calendar import course_end_day, course_end_shift
from program.courses.delivery import cohort_calendar
from program.instruments.library import load_library, with_overrides
from program.instruments.model import Instrument, RiskRule
from program.instruments.scoring import risk_flags, score
from program.instruments.wording import stored_wording, with_wording
from program.messaging.outbox import enqueue_email
from program.safety.alerts import raise_alert
from program.safety.scanning import RiskFinding, scan_for_risk

REMINDER_EVERY_DAYS = 3
#: statuses of people who are asked to fill in questionnaires
ASSESSED_STATUSES = ("randomised", "active", "completed")


class AnswerError(ValueError):
    """An answer that is not one of the item's response codes, or an unknown item."""


# --------------------------------------------------------------------------- instruments


@lru_cache(maxsize=1)
def library() -> dict[str, Instrument]:
    return load_library()


def study_instrument(study: Study, key: str, language: str | None = None) -> Instrument:
    """The instrument as the study uses it: its overrides and, if loaded, licensed wording.

    ``Study.instrument_settings[key]`` may hold ``overrides`` (see the instrument README),
    ``metric``, ``risk_rules`` (extra rules) and ``wording`` (path of a file outside the
    repository). Wording the study loaded through its set-up page, in ``language`` (the
    reader's, by default), comes first; without any, or with a file that cannot be read, the
    reader sees the neutral placeholders.
    """
    settings = (study.instrument_settings or {}).get(key, {})
    stored = _stored_wording(study.id, key, language or _reader_language())
    return _configured(key, _freeze(settings.get("overrides")),
                       None if stored else settings.get("wording"), stored or "")


def _reader_language() -> str:
    if has_request_context():
        return str(get_locale() or "en").split("_")[0]
    return "en"


def _stored_wording(study_id: int, key: str, language: str) -> str | None:
    """The study's stored wording, looked up once per request."""
    cache = g.setdefault("hearth_wording", {}) if has_app_context() else {}
    if (study_id, key, language) not in cache:
        cache[study_id, key, language] = stored_wording(study_id, key, language)
    return cache[study_id, key, language]


def _freeze(value) -> str:
    return json.dumps(value, sort_keys=True) if value else ""


@lru_cache(maxsize=64)
def _configured(key: str, overrides_json: str, wording: str | None,
                stored: str = "") -> Instrument:
    instrument = library()[key]
    if overrides_json:
        instrument = with_overrides(instrument, json.loads(overrides_json))
    if wording or stored:
        try:
            instrument = with_wording(instrument, yaml.safe_load(stored) if stored else wording)
        except (OSError, ValueError, AttributeError, yaml.YAMLError) as exc:
            # a missing or broken wording file: placeholders, never an error page
            current_app.logger.warning("wording of %s not loaded: %s", key, exc)
    return instrument


def study_metric(study: Study, key: str) -> str | None:
    return (study.instrument_settings or {}).get(key, {}).get("metric")


def self_report(study: Study, timepoint: Timepoint) -> list[str]:
    """The timepoint's instruments the participant fills in (not the clinician-rated ones)."""
    return [k for k in timepoint.instruments if study_instrument(study, k).rater == "self"]


def clinician_rated(study: Study, timepoint: Timepoint) -> list[str]:
    return [k for k in timepoint.instruments if study_instrument(study, k).rater == "clinician"]


# --------------------------------------------------------------------------- windows


def window(timepoint: Timepoint, cohort: Cohort, end: tuple[int, int] | None = None
           ) -> tuple[datetime, datetime]:
    """When the timepoint opens and closes (aware UTC): from the start of ``opens_day`` to the
    end of ``closes_day`` relative to the cohort's start date, in the cohort's time zone.

    A timepoint tied to the course end (opening on or after the planned last meeting's day)
    moves by as many days as the last meeting moved (``end``: ``course_end(cohort)``, computed
    when not given).
    """
    zone = ZoneInfo(cohort.timezone)
    start = datetime.combine(cohort.start_date, time(0), zone)
    end_day, end_shift = end if end is not None else course_end(cohort)
    moved = end_shift if timepoint.opens_day >= end_day else 0
    opens = start + timedelta(days=timepoint.opens_day + moved)
    closes = start + timedelta(days=timepoint.closes_day + moved + 1)
    # Rebuild in the zone so a DST change between the start and the window keeps midnight.
    opens = datetime.combine(opens.date(), time(0), zone).astimezone(UTC)
    closes = datetime.combine(closes.date(), time(0), zone).astimezone(UTC)
    return opens, closes


def course_end(cohort: Cohort) -> tuple[int, int]:
    """The planned last meeting's day from the cohort's start, and the days it has moved."""
    calendar = cohort_calendar(cohort)
    return (course_end_day(calendar, cohort.start_date), course_end_shift(calendar))


def is_open(timepoint: Timepoint, cohort: Cohort | None, now: datetime) -> bool:
    if cohort is None:
        return False
    opens, closes = window(timepoint, cohort)
    return opens <= now < closes


# --------------------------------------------------------------------------- invitations


def _token(invitation: AssessmentInvitation) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    created = invitation.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    message = f"assessment:{invitation.participant_id}:{invitation.timepoint_id}:{created}"
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:40]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: a queued invitation holds this and the invitation's id where its link goes; the link is
#: made when the message is sent (``program.messaging.links``), so no outbox row opens it
QUESTIONNAIRE_LINK_PREFIX = "hearth-link:questionnaire/"


def invitation_link(invitation: AssessmentInvitation) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/q/t/{_token(invitation)}"


def _assessed(now: datetime):
    """Participants who are asked to fill in questionnaires, with their cohort and account."""
    return db.session.execute(
        select(Participant, Cohort, User)
        .join(Cohort, Participant.cohort_id == Cohort.id)
        .join(User, Participant.user_id == User.id)
        .where(Participant.status.in_(ASSESSED_STATUSES), Participant.arm_id.is_not(None),
               Participant.data_removed_at.is_(None), User.active.is_(True),
               (Participant.withdrawal_kind.is_(None))
               | (Participant.withdrawal_kind == "stop_sessions"))
        .order_by(Participant.id)
    ).all()


def materialise_invitations(now: datetime | None = None) -> int:
    """Create the invitations of every open window and queue invitations and reminders.

    Idempotent: invitations are unique per participant and timepoint and every message has a
    dedup key naming both, so running it again (or from two schedulers) queues nothing twice.
    Returns the number of messages queued.
    """
    now = now or utcnow()
    queued = 0
    with write_transaction():
        timepoints: dict[int, list[Timepoint]] = {}
        ends: dict[int, tuple[int, int]] = {}
        due = []
        for participant, cohort, user in _assessed(now):
            if participant.study_id not in timepoints:
                study = db.session.get(Study, participant.study_id)
                timepoints[study.id] = [tp for tp in db.session.scalars(
                    select(Timepoint).where(Timepoint.study_id == study.id)
                    .order_by(Timepoint.position)) if self_report(study, tp)]
            for tp in timepoints[participant.study_id]:
                if cohort.id not in ends:
                    ends[cohort.id] = course_end(cohort)
                opens, closes = window(tp, cohort, ends[cohort.id])
                if opens <= now < closes:
                    due.append((participant, tp, user, closes))
        existing = _invitations({p.id for p, *_ in due})
        for participant, tp, user, closes in due:
            queued += _invite_or_remind(existing.get((participant.id, tp.id)), participant, tp,
                                        user, now, closes)
    return queued


def _invitations(participant_ids: set[int]) -> dict[tuple[int, int], AssessmentInvitation]:
    found: dict[tuple[int, int], AssessmentInvitation] = {}
    ids = sorted(participant_ids)
    for i in range(0, len(ids), 500):
        for inv in db.session.scalars(select(AssessmentInvitation).where(
                AssessmentInvitation.participant_id.in_(ids[i:i + 500]))):
            found[(inv.participant_id, inv.timepoint_id)] = inv
    return found


def _invite_or_remind(invitation, participant, timepoint, user, now, closes) -> int:
    event = f"{participant.id}:{timepoint.id}"
    if invitation is None:
        invitation = AssessmentInvitation(
            participant_id=participant.id, timepoint_id=timepoint.id,
            created_at=now.replace(microsecond=0), expires_at=closes, token_hash="")
        invitation.token_hash = token_hash(_token(invitation))
        db.session.add(invitation)
        db.session.flush()  # its id goes in the message, in place of the link
        key, kind = f"assessment-invite:{event}", "assessment_invitation"
    elif invitation.completed_at is not None:
        return 0
    else:
        if invitation.expires_at != closes:  # the window moved with the course's end
            invitation.expires_at = closes
        if not user.reminders_enabled:
            return 0
        days = (now - invitation.created_at).days
        if days < REMINDER_EVERY_DAYS:
            return 0
        key = f"assessment-reminder:{event}:{days // REMINDER_EVERY_DAYS}"
        kind = "assessment_reminder"
    # enqueue's own return value is unreliable on PostgreSQL (rowcount), so look first.
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)):
        return 0
    enqueue_email(user, key, kind, "questionnaire_invitation",
                  reminder=kind == "assessment_reminder", label=timepoint.label,
                  closes=for_recipient(closes, user.locale, user.timezone),
                  link=f"{QUESTIONNAIRE_LINK_PREFIX}{invitation.id}")
    return 1


def invitation_for_token(token: str, now: datetime | None = None) -> AssessmentInvitation | None:
    """The unexpired invitation a link's token belongs to, if its holder may still answer."""
    now = now or utcnow()
    invitation = db.session.scalar(
        select(AssessmentInvitation).where(AssessmentInvitation.token_hash == token_hash(token)))
    if invitation is None or invitation.expires_at <= now:
        return None
    participant = db.session.get(Participant, invitation.participant_id)
    if participant is None or participant.data_removed_at is not None or (
            participant.withdrawal_kind not in (None, "stop_sessions")):
        return None
    return invitation


# --------------------------------------------------------------------------- questionnaires


@dataclass
class Questionnaire:
    """One open timepoint on the participant's dashboard."""

    timepoint: Timepoint
    closes_at: datetime
    instruments: list[str]
    submitted: set[str] = field(default_factory=set)

    @property
    def done(self) -> int:
        return len(self.submitted & set(self.instruments))

    @property
    def next_instrument(self) -> str | None:
        return next((k for k in self.instruments if k not in self.submitted), None)


def open_questionnaires(participant: Participant | None, now: datetime | None = None
                        ) -> list[Questionnaire]:
    """The participant's timepoints whose window is open and whose questionnaires are not all
    submitted, soonest deadline first."""
    now = now or utcnow()
    if participant is None or participant.cohort is None or participant.arm_id is None:
        return []
    if participant.data_removed_at is not None or participant.withdrawal_kind not in (
            None, "stop_sessions"):
        return []
    study = participant.study
    out = []
    for tp in db.session.scalars(select(Timepoint).where(Timepoint.study_id == study.id)
                                 .order_by(Timepoint.position)):
        opens, closes = window(tp, participant.cohort)
        keys = self_report(study, tp)
        if not keys or not (opens <= now < closes):
            continue
        q = Questionnaire(tp, closes, keys, _submitted(participant.id, tp.id))
        if q.next_instrument is not None:
            out.append(q)
    return sorted(out, key=lambda q: q.closes_at)


def _submitted(participant_id: int, timepoint_id: int) -> set[str]:
    return set(db.session.scalars(select(Response.instrument_key).where(
        Response.participant_id == participant_id, Response.timepoint_id == timepoint_id,
        Response.status == "submitted")))


def timepoint_progress(participant: Participant, timepoint: Timepoint) -> list[tuple[str, str]]:
    """(instrument key, not_started | in_progress | submitted) for the timepoint's self-report
    instruments, in order."""
    states = dict(db.session.execute(select(Response.instrument_key, Response.status).where(
        Response.participant_id == participant.id,
        Response.timepoint_id == timepoint.id)).all())
    return [(k, states.get(k, "not_started")) for k in self_report(participant.study, timepoint)]


def find_response(participant_id: int, timepoint_id: int, key: str) -> Response | None:
    return db.session.scalar(select(Response).where(
        Response.participant_id == participant_id, Response.timepoint_id == timepoint_id,
        Response.instrument_key == key))


def parse_answers(instrument: Instrument, form: Mapping[str, str]) -> dict[int, int]:
    """Read ``item-N`` fields of a form into {item: code}; blank fields are left out."""
    answers = {}
    for item in instrument.items:
        raw = (form.get(f"item-{item.number}") or "").strip()
        if raw == "":
            continue
        try:
            code = int(raw)
        except ValueError as exc:
            raise AnswerError(f"item {item.number}: {raw!r} is not an answer") from exc
        if code not in item.codes:
            raise AnswerError(f"item {item.number}: {code} is not one of {list(item.codes)}")
        answers[item.number] = code
    return answers


def save_answers(participant_id: int, timepoint_id: int, key: str,
                 answers: Mapping[int, int | None], *, entered_by_id: int | None = None
                 ) -> Response:
    """Store answers as the person goes (merged into what was saved before).

    A submitted response is never changed: saving to it is a no-op.
    """
    participant = db.session.get(Participant, participant_id)
    timepoint = db.session.get(Timepoint, timepoint_id)
    _check_instrument(participant, timepoint, key)
    instrument = study_instrument(participant.study, key)
    codes = {item.number: item.codes for item in instrument.items}
    for number, code in answers.items():
        if number not in codes or (code is not None and code not in codes[number]):
            raise AnswerError(f"{key} item {number}: {code!r} is not an answer")
    for attempt in range(2):
        try:
            with write_transaction():
                response = db.session.scalar(select(Response).where(
                    Response.participant_id == participant_id,
                    Response.timepoint_id == timepoint_id,
                    Response.instrument_key == key).with_for_update()
                    .execution_options(populate_existing=True))
                if response is None:
                    response = Response(participant_id=participant_id, timepoint_id=timepoint_id,
                                        instrument_key=key, answers={}, status="in_progress")
                    db.session.add(response)
                if response.status == "submitted":
                    return response
                merged = dict(response.answers or {})
                for number, code in answers.items():
                    if code is None:
                        merged.pop(str(number), None)
                    else:
                        merged[str(number)] = code
                response.answers = merged
                response.updated_at = utcnow()
                if entered_by_id is not None:
                    response.entered_by_id = entered_by_id
            return response
        except IntegrityError as exc:  # two first answers at once: the other one created it
            if attempt or not is_unique_violation(exc):
                raise
    raise AssertionError("unreachable")


@dataclass
class Submission:
    response: Response
    #: items still unanswered: nothing was submitted
    missing: list[int] = field(default_factory=list)
    #: risk rules the answers triggered (an alert was raised)
    risks: list[RiskRule] = field(default_factory=list)
    #: risk statements found in the free-text answers (an alert was raised)
    finding: RiskFinding | None = None
    #: the response had been submitted before; nothing changed
    already: bool = False

    @property
    def needs_help(self) -> bool:
        """A risk answer or a risk statement: the participant is shown where to get help."""
        return bool(self.risks) or self.finding is not None

    @property
    def submitted(self) -> bool:
        return not self.missing


def submit(participant_id: int, timepoint_id: int, key: str, *, now: datetime | None = None,
           entered_by_id: int | None = None) -> Submission:
    """Score and submit a response once; every item is required.

    Scores go into ``Response.scores`` and tidy ``Score`` rows. Risk rules (the instrument's,
    such as BDI-II item 9 >= 2, and the study's) raise a safety alert at once.
    """
    now = now or utcnow()
    participant = db.session.get(Participant, participant_id)
    timepoint = db.session.get(Timepoint, timepoint_id)
    _check_instrument(participant, timepoint, key)
    study = participant.study
    instrument = study_instrument(study, key)
    with write_transaction():
        response = db.session.scalar(select(Response).where(
            Response.participant_id == participant_id, Response.timepoint_id == timepoint_id,
            Response.instrument_key == key).with_for_update()
            .execution_options(populate_existing=True))
        if response is None:
            response = Response(participant_id=participant_id, timepoint_id=timepoint_id,
                                instrument_key=key, answers={}, status="in_progress")
            db.session.add(response)
            db.session.flush()
        if response.status == "submitted":
            return Submission(response, already=True)
        answers = {int(n): v for n, v in (response.answers or {}).items()}
        missing = [item.number for item in instrument.items if item.number not in answers]
        if missing:
            return Submission(response, missing=missing)
        result = score(instrument, answers, study_metric(study, key))
        response.scores = dict(result.measures)
        response.status = "submitted"
        response.submitted_at = now
        if entered_by_id is not None:
            response.entered_by_id = entered_by_id
            audit.record(AuditAction.RESPONSE_RATED, response, instrument=key)
        db.session.execute(delete(Score).where(Score.response_id == response.id))
        for measure, value in result.measures.items():
            db.session.add(Score(response_id=response.id, participant_id=participant_id,
                                 timepoint_id=timepoint_id, measure=measure, value=value,
                                 prorated=result.prorated))
        extra = (study.instrument_settings or {}).get(key, {}).get("risk_rules", [])
        risks = risk_flags(instrument, answers, extra)
        finding = scan_for_risk("\n".join(str(v) for v in (response.free_text or {}).values()))
        if risks or finding:
            rule = ",".join([r.id for r in risks] + ([finding.rule] if finding else []))
            raise_alert("response", response.id, rule, study_id=study.id,
                        participant_id=participant_id, group_id=_care_group(participant),
                        finding=finding)
        if instrument.rater == "self" and set(self_report(study, timepoint)) <= (
                _submitted(participant_id, timepoint_id) | {key}):
            invitation = db.session.scalar(select(AssessmentInvitation).where(
                AssessmentInvitation.participant_id == participant_id,
                AssessmentInvitation.timepoint_id == timepoint_id))
            if invitation is not None and invitation.completed_at is None:
                invitation.completed_at = now
    return Submission(response, risks=risks, finding=finding)


@dataclass
class Answering:
    """What a page of answers came to: every answer so far and, when asked, the submission."""

    answers: dict[int, int | None]
    #: an answer was not one of the item's choices: nothing was saved
    invalid: bool = False
    submission: Submission | None = None


def stored_answers(response: Response | None) -> dict[int, int | None]:
    return {int(n): v for n, v in ((response.answers if response else None) or {}).items()}


def answer(participant_id: int, timepoint_id: int, key: str, instrument: Instrument,
           form: Mapping[str, str], *, submit_now: bool, entered_by_id: int | None = None
           ) -> Answering:
    """Save the answers of a submitted page, then submit the response when asked."""
    answers = stored_answers(find_response(participant_id, timepoint_id, key))
    try:
        given = parse_answers(instrument, form)
    except AnswerError:
        return Answering(answers, invalid=True)
    answers.update(given)
    save_answers(participant_id, timepoint_id, key, given, entered_by_id=entered_by_id)
    if not submit_now:
        return Answering(answers)
    return Answering(answers, submission=submit(participant_id, timepoint_id, key,
                                                entered_by_id=entered_by_id))


def _care_group(participant: Participant) -> int | None:
    """The therapy or small group whose leaders look after this person, if any."""
    if participant.user_id is None or participant.cohort_id is None:
        return None
    return db.session.scalar(
        select(Group.id).join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.user_id == participant.user_id,
               Group.cohort_id == participant.cohort_id, Group.kind.in_(("therapy", "small")))
        .limit(1))


def _check_instrument(participant: Participant | None, timepoint: Timepoint | None,
                      key: str) -> None:
    if participant is None or timepoint is None or timepoint.study_id != participant.study_id:
        raise LookupError("no such questionnaire")
    if key not in timepoint.instruments:
        raise LookupError(f"{key} is not asked at {timepoint.key}")
