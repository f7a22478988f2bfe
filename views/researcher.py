"""The researcher area: study setup, screening, consent, randomisation, cohorts, withdrawal,
adverse events and the CONSORT flow.

Every page is scoped to the studies the researcher is staff of (another study's objects are
404). The randomisation seed and the allocation list are never shown: allocation concealment.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from models import (
    AdverseEvent,
    AllocationSlot,
    Arm,
    Cohort,
    Participant,
    SafetyAlert,
    Screening,
    Timepoint,
    db,
    utcnow,
)
from models.safety import AeOutcome, AeRelatedness, AeSeverity
from program.accounts import invitations
from program.core.dates import shortdate
from program.reports import study_flow
from program.safety import alerts as safety_alerts
from program.safety import detector
from program.trial import adverse_events as ae_register
from program.trial import allocation, applications, eligibility, enrolment, records, withdrawal
from program.trial import studies as trial_studies
from program.trial.records import TrialError
from views import navigation
from views.access import researcher_participant, researcher_study, role_required, staff_studies
from views.forms import LANGUAGES, options, plausible_date
from views.study_setup.randomisation import generate_allocation_list

bp = Blueprint("researcher", __name__, url_prefix="/research")
navigation.add("researcher", "researcher.home", "Studies", order=10)

WITHDRAWAL_LABELS = {
    "stop_sessions": _l("Stop the sessions (still asked to fill in questionnaires)"),
    "stop_contact": _l("Stop all contact (no more messages or questionnaires)"),
    "leave_study": _l("Leave the study (no further data collected)"),
}


# --------------------------------------------------------------------------- forms


class ConsentForm(FlaskForm):
    version = StringField(_l("Information sheet version"), validators=[DataRequired(),
                                                                       Length(max=40)])
    on = DateField(_l("Date of consent"), validators=[DataRequired(), plausible_date])


class WithdrawalForm(FlaskForm):
    kind = SelectField(_l("What the person stops"), choices=options(WITHDRAWAL_LABELS.items()))
    reason = StringField(_l("Reason (short, no names)"), validators=[Optional(), Length(max=200)])
    on = DateField(_l("Date"), validators=[DataRequired(), plausible_date])


class AdverseEventForm(FlaskForm):
    alert_id = SelectField(_l("From safety alert"), coerce=int, choices=[])
    description = TextAreaField(_l("What happened"), validators=[DataRequired(),
                                                                  Length(max=4000)])
    onset_on = DateField(_l("Onset"), validators=[DataRequired(), plausible_date])
    severity = SelectField(_l("Severity"), choices=options(AeSeverity.choices()))
    serious = BooleanField(_l("Serious (hospitalisation, life-threatening, death, disability)"))
    relatedness = SelectField(_l("Related to the intervention"),
                              choices=options(AeRelatedness.choices()))
    action_taken = TextAreaField(_l("Action taken"), validators=[Optional(), Length(max=2000)])
    outcome = SelectField(_l("Outcome"), choices=options(AeOutcome.choices()))
    #: one event per form, however often it is sent
    submission_token = HiddenField(validators=[Optional(), Length(max=64)])


class ParticipantInviteForm(FlaskForm):
    email = EmailField(_l("The participant's email"),
                       validators=[DataRequired(), Email(), Length(max=254)])
    language = SelectField(_l("Language of the invitation"), choices=options(LANGUAGES))


# --------------------------------------------------------------------------- scope


def _done(message: str, participant: Participant):
    flash(message, "success")
    return redirect(url_for("researcher.participant", participant_id=participant.id))


def _refused(exc: Exception, participant: Participant):
    flash(str(exc), "error")
    return redirect(url_for("researcher.participant", participant_id=participant.id))


# --------------------------------------------------------------------------- studies


@bp.get("/")
@role_required("researcher")
def home():
    """The researcher's studies with their participants per arm and status."""
    studies = staff_studies()
    counts = db.session.execute(
        select(Participant.study_id, Arm.key, Participant.status, func.count())
        .outerjoin(Arm, Participant.arm_id == Arm.id)
        .where(Participant.study_id.in_([s.id for s in studies]))
        .group_by(Participant.study_id, Arm.key, Participant.status)
    ).all()
    by_study: dict[int, list] = {}
    for study_id, arm, status, n in counts:
        by_study.setdefault(study_id, []).append((arm or "—", status, n))
    return render_template("researcher/home.html", studies=studies, counts=by_study)


@bp.get("/studies/<int:study_id>")
@role_required("researcher")
def study(study_id: int):
    """A study: setup summary, CONSORT flow and participants by code."""
    s = researcher_study(study_id)
    slots = db.session.execute(
        select(func.count(), func.count(AllocationSlot.participant_id))
        .where(AllocationSlot.study_id == s.id)).one()
    cohorts = db.session.scalars(select(Cohort).where(Cohort.study_id == s.id)
                                 .order_by(Cohort.start_date)).all()
    timepoints = db.session.scalars(select(Timepoint).where(Timepoint.study_id == s.id)
                                    .order_by(Timepoint.position)).all()
    return render_template("researcher/study.html", study=s, flow=study_flow(s.id),
                           participants=records.study_participants(s.id), slots=slots,
                           cohorts=cohorts, timepoints=timepoints)


@bp.get("/studies/<int:study_id>/setup")
@role_required("researcher")
def setup(study_id: int):
    """The set-up is a series of step pages; its old address leads to their checklist."""
    s = researcher_study(study_id)
    return redirect(url_for("study_setup.checklist", study_id=s.id))


def _shown_rules(rules) -> list[dict]:
    """Eligibility rules as pages list them, each label in the reader's language where the
    rule is a built-in one (:func:`program.trial.enrolment.rule_label`)."""
    return [{**rule, "label": eligibility.rule_label(rule)} for rule in rules or []
            if isinstance(rule, dict)]


@bp.post("/studies/<int:study_id>/allocation-list")
@role_required("researcher")
def generate_list(study_id: int):
    """Generate the concealed allocation list from the study's seed (once)."""
    s = researcher_study(study_id)
    generate_allocation_list(s)
    return redirect(url_for("researcher.study", study_id=s.id))


@bp.post("/studies/<int:study_id>/applicants")
@role_required("researcher")
def add_applicant(study_id: int):
    """Add a person who applied, under the next pseudonymous code."""
    participant = applications.add_applicant(researcher_study(study_id))
    return _done(_("Applicant %(code)s added.", code=participant.code), participant)


@bp.post("/cohorts/<int:cohort_id>/groups")
@role_required("researcher")
def assign_groups(cohort_id: int):
    """Fill the cohort's groups by size with its program participants."""
    cohort = db.session.get(Cohort, cohort_id) or abort(404)
    researcher_study(cohort.study_id)
    added = enrolment.assign_groups(cohort.id, actor=current_user)
    flash(_("%(n)d group places filled.", n=added), "success")
    return redirect(url_for("researcher.study", study_id=cohort.study_id))


@bp.get("/studies/<int:study_id>/adverse-events")
@role_required("researcher")
def adverse_events(study_id: int):
    """The adverse events register and the safety alerts not yet turned into events."""
    s = researcher_study(study_id)
    events = db.session.execute(
        select(AdverseEvent, Participant.code).join(Participant)
        .where(AdverseEvent.study_id == s.id).order_by(AdverseEvent.onset_on.desc())).all()
    alerts = db.session.execute(
        select(SafetyAlert, Participant.code).outerjoin(Participant)
        .outerjoin(AdverseEvent, AdverseEvent.alert_id == SafetyAlert.id)
        .where(SafetyAlert.study_id == s.id, AdverseEvent.id.is_(None))
        .order_by(SafetyAlert.created_at.desc())).all()
    return render_template("researcher/adverse_events.html", study=s, events=events,
                           alerts=alerts, counts=safety_alerts.study_alerts(s.id))


@bp.get("/studies/<int:study_id>/risk-patterns")
@role_required("researcher")
def risk_patterns(study_id: int):
    """The risk-language patterns that screen the study's posts, notes and comments."""
    s = researcher_study(study_id)
    return render_template("researcher/risk_patterns.html", study=s,
                           shelves=detector.catalogue())


# --------------------------------------------------------------------------- participants


@bp.get("/participants/<int:participant_id>")
@role_required("researcher")
def participant(participant_id: int):
    """One participant by code: screening, consent, allocation, cohort, withdrawal, events."""
    p = researcher_participant(participant_id)
    return _participant_page(p)


def _participant_page(p: Participant, *, consent=None, withdrawal=None, event=None,
                      screening_errors=None, invite=None, status=200):
    study = p.study
    consent = consent or ConsentForm(data={"version": study.consent_version,
                                           "on": utcnow().date()})
    withdrawal = withdrawal or WithdrawalForm(data={"on": utcnow().date()})
    event = event or AdverseEventForm(data={"onset_on": utcnow().date(),
                                            "submission_token": secrets.token_urlsafe(16)})
    event.alert_id.choices = options([(0, _("— none —"))] + [
        (a.id, f"#{a.id} {a.rule} ({shortdate(a.created_at)})")
        for a in db.session.scalars(select(SafetyAlert).where(SafetyAlert.participant_id == p.id))
    ])
    screening = db.session.scalar(select(Screening).where(Screening.participant_id == p.id))
    cohorts = db.session.scalars(select(Cohort).where(Cohort.study_id == study.id)).all()
    return render_template(
        "researcher/participant.html", participant=p, study=study, screening=screening,
        rules=_shown_rules(study.eligibility_rules), consent=consent, withdrawal=withdrawal,
        event=event, cohorts=cohorts, screening_errors=screening_errors or {},
        withdrawal_labels=WITHDRAWAL_LABELS, invite=invite or _invite_form(p),
        invitation=invitations.for_participant(p.id)), status


def _invite_form(p: Participant) -> ParticipantInviteForm:
    """The invitation form, filled in with the address and language an online applicant gave."""
    contact = applications.applicant_contact(p.id)
    if contact is None:
        return ParticipantInviteForm(formdata=None)
    email, locale = contact
    return ParticipantInviteForm(formdata=None, data={
        "email": email, **({"language": locale} if locale in dict(LANGUAGES) else {})})


@bp.post("/participants/<int:participant_id>/screening")
@role_required("researcher")
def screen(participant_id: int):
    """Record the screening against the study's rules."""
    p = researcher_participant(participant_id)
    answers, errors = eligibility.parse_screening_answers(p.study.eligibility_rules or [],
                                                    request.form)
    if errors:
        return _participant_page(p, screening_errors=errors, status=400)
    try:
        enrolment.screen(p.id, answers, on=utcnow().date(), actor=current_user)
    except TrialError as exc:
        return _refused(exc, p)
    db.session.refresh(p)
    return _done(_("Eligible.") if p.eligible else _("Not eligible; the reasons are recorded."),
                 p)


@bp.post("/participants/<int:participant_id>/consent")
@role_required("researcher")
def consent(participant_id: int):
    """Record consent with the information sheet version and date."""
    p = researcher_participant(participant_id)
    form = ConsentForm()
    valid = form.validate_on_submit()
    known = {v.version for v in trial_studies.consent_versions(p.study_id)}
    if valid and known and form.version.data.strip() not in known:
        form.version.errors.append(_("Not a version of this study's information sheet."))
        valid = False
    if not valid:
        return _participant_page(p, consent=form, status=400)
    try:
        enrolment.record_consent(p.id, form.version.data.strip(), on=form.on.data,
                             actor=current_user)
    except TrialError as exc:
        return _refused(exc, p)
    return _done(_("Consent recorded."), p)


@bp.post("/participants/<int:participant_id>/randomise")
@role_required("researcher")
def randomise(participant_id: int):
    """Allocate the person (concealed until this moment)."""
    p = researcher_participant(participant_id)
    try:
        arm = allocation.randomise(p.id, actor=current_user)
    except TrialError as exc:
        return _refused(exc, p)
    return _done(_("Allocated to %(arm)s.", arm=arm.name), p)


@bp.post("/participants/<int:participant_id>/cohort")
@role_required("researcher")
def cohort(participant_id: int):
    """Place the person in a cohort of the study."""
    p = researcher_participant(participant_id)
    try:
        cohort_id = int(request.form.get("cohort_id", "0"))
        # an id no database holds is simply not a cohort of this study
        enrolment.assign_cohort(p.id, cohort_id if 0 < cohort_id < 2**31 else 0,
                            actor=current_user)
    except (TrialError, ValueError) as exc:
        return _refused(exc, p)
    return _done(_("Cohort assigned."), p)


@bp.post("/participants/<int:participant_id>/withdrawal")
@role_required("researcher")
def withdraw(participant_id: int):
    """Record a withdrawal of one of the three kinds."""
    p = researcher_participant(participant_id)
    form = WithdrawalForm()
    if not form.validate_on_submit():
        return _participant_page(p, withdrawal=form, status=400)
    try:
        withdrawal.withdraw(p.id, form.kind.data, reason=form.reason.data or "", on=form.on.data,
                       actor=current_user)
    except TrialError as exc:
        return _refused(exc, p)
    return _done(_("Withdrawal recorded."), p)


@bp.post("/participants/<int:participant_id>/removal-request")
@role_required("researcher")
def request_removal(participant_id: int):
    """Record the person's request that their data be removed (an admin carries it out), once
    the researcher has ticked that the person asked for it: the step cannot be undone."""
    p = researcher_participant(participant_id)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm that the person asked for their data to be removed; "
                "nothing was recorded."), "error")
        return redirect(url_for("researcher.participant", participant_id=p.id) + "#withdrawal")
    withdrawal.request_data_removal(p.id, on=utcnow().date(), actor=current_user)
    return _done(_("Removal request recorded; an administrator will process it."), p)


@bp.post("/participants/<int:participant_id>/adverse-events")
@role_required("researcher")
def add_adverse_event(participant_id: int):
    """Add an adverse event, optionally turning one of the person's safety alerts into it."""
    p = researcher_participant(participant_id)
    form = AdverseEventForm()
    form.alert_id.choices = options([(0, "")] + [
        (a, str(a)) for a in db.session.scalars(
            select(SafetyAlert.id).where(SafetyAlert.participant_id == p.id))])
    if not form.validate_on_submit():
        return _participant_page(p, event=form, status=400)
    try:
        ae_register.record_adverse_event(
            p.id, description=form.description.data, onset_on=form.onset_on.data,
            severity=form.severity.data, serious=form.serious.data,
            relatedness=form.relatedness.data, action_taken=form.action_taken.data or None,
            outcome=form.outcome.data, alert_id=form.alert_id.data or None, actor=current_user,
            submission_token=form.submission_token.data or None)
    except TrialError as exc:
        return _refused(exc, p)
    return _done(_("Adverse event recorded."), p)


@bp.post("/participants/<int:participant_id>/invitation")
@role_required("researcher")
def invite_participant(participant_id: int):
    """Invite an enrolled participant to create their account, linked to this record."""
    p = researcher_participant(participant_id)
    form = ParticipantInviteForm()
    if not form.validate_on_submit():
        return _participant_page(p, invite=form, status=400)
    try:
        invitations.invite_participant(p, form.email.data, form.language.data, current_user)
    except invitations.InvitationError as exc:
        form.form_errors.append(str(exc))
        return _participant_page(p, invite=form, status=400)
    return _done(_("The invitation is on its way."), p)
