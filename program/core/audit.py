"""The audit log: every action it records is named in ``AuditAction`` (with the label the
admin's audit page shows), and ``record`` writes an entry inside the caller's transaction."""

from __future__ import annotations

from flask import has_request_context, request
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import select

from models import AuditEntry, Cohort, Group, Participant, Study, User, db
from models._types import Vocabulary


class AuditAction(Vocabulary):
    """Every action the audit log records; the stored code is the value."""

    SIGN_IN = "auth.sign_in", lazy_pgettext("audit action", "signed in")
    SIGN_OUT = "auth.sign_out", lazy_pgettext("audit action", "signed out")
    SESSIONS_ENDED = "auth.sessions_ended", lazy_pgettext("audit action", "signed out everywhere")
    RESET_REQUESTED = ("auth.reset_requested",
                       lazy_pgettext("audit action", "asked for a password reset"))
    PASSWORD_RESET = "auth.password_reset", lazy_pgettext("audit action", "reset the password")
    SECOND_FACTOR_FAILED = ("auth.second_factor_failed",
                            lazy_pgettext("audit action", "wrong two-factor code"))
    TWO_FACTOR_ENABLED = ("auth.two_factor_enabled",
                          lazy_pgettext("audit action", "turned two-factor sign-in on"))
    TWO_FACTOR_DISABLED = ("auth.two_factor_disabled",
                           lazy_pgettext("audit action", "turned two-factor sign-in off"))
    RECOVERY_CODES_REPLACED = ("auth.recovery_codes_replaced",
                               lazy_pgettext("audit action", "made new recovery codes"))
    CALENDAR_LINK_RENEWED = ("auth.calendar_link_renewed",
                             lazy_pgettext("audit action", "made a new calendar address"))
    ACCOUNT_ENABLED = "admin.account_enabled", lazy_pgettext("audit action", "enabled an account")
    ACCOUNT_DISABLED = ("admin.account_disabled",
                        lazy_pgettext("audit action", "disabled an account"))
    TWO_FACTOR_RESET = ("admin.two_factor_reset",
                        lazy_pgettext("audit action", "reset someone's two-factor sign-in"))
    ACCOUNT_CREATED = ("admin.account_created",
                       lazy_pgettext("audit action", "created an account"))
    ROLE_CHANGED = "admin.role_changed", lazy_pgettext("audit action", "changed a role")
    INVITATION_SENT = ("invitation.sent",
                       lazy_pgettext("audit action", "invited someone to create an account"))
    INVITATION_RESENT = ("invitation.resent",
                         lazy_pgettext("audit action", "sent an invitation again"))
    INVITATION_REVOKED = ("invitation.revoked",
                          lazy_pgettext("audit action", "revoked an invitation"))
    INVITATION_ACCEPTED = ("invitation.accepted",
                           lazy_pgettext("audit action", "accepted an invitation"))
    STUDY_SETUP_CHANGED = ("study.setup_changed",
                           lazy_pgettext("audit action", "changed a study's set-up"))
    ARM_CREATED = "arm.created", lazy_pgettext("audit action", "added an arm")
    ARM_SAVED = "arm.saved", lazy_pgettext("audit action", "changed an arm")
    COHORT_CREATED = "cohort.created", lazy_pgettext("audit action", "added a cohort")
    COHORT_SAVED = "cohort.saved", lazy_pgettext("audit action", "changed a cohort")
    TIMEPOINT_CREATED = "timepoint.created", lazy_pgettext("audit action", "added a timepoint")
    TIMEPOINT_SAVED = "timepoint.saved", lazy_pgettext("audit action", "changed a timepoint")
    GROUP_STAFF_SET = ("group.staff_set",
                       lazy_pgettext("audit action", "set a group's leaders and assistants"))
    STUDY_CREATED = "study.created", lazy_pgettext("audit action", "created a study")
    ELIGIBILITY_SAVED = ("study.eligibility_saved",
                         lazy_pgettext("audit action", "changed a study's eligibility rules"))
    CHARACTERISTICS_SAVED = ("study.characteristics_saved",
                             lazy_pgettext("audit action",
                                           "chose a study's baseline characteristics"))
    RANDOMISATION_SAVED = ("study.randomisation_saved",
                           lazy_pgettext("audit action", "changed a study's randomisation"))
    CONSENT_VERSION_ADDED = ("study.consent_version_added",
                             lazy_pgettext("audit action", "added an information sheet version"))
    CONSENT_VERSION_CURRENT = ("study.consent_version_current",
                               lazy_pgettext("audit action",
                                             "made an information sheet version current"))
    STUDY_STAFF_SET = ("study.staff_set",
                       lazy_pgettext("audit action", "added or changed a study's staff member"))
    STUDY_STAFF_REMOVED = ("study.staff_removed",
                           lazy_pgettext("audit action", "removed a study's staff member"))
    CRISIS_CONTACTS_CONFIRMED = ("study.crisis_contacts_confirmed",
                                 lazy_pgettext("audit action",
                                               "confirmed a country's crisis contacts"))
    CRISIS_CONTACT_SAVED = ("study.crisis_contact_saved",
                            lazy_pgettext("audit action", "added or changed a crisis contact"))
    CRISIS_CONTACT_REMOVED = ("study.crisis_contact_removed",
                              lazy_pgettext("audit action", "removed a crisis contact"))
    WORDING_UPLOADED = ("study.wording_uploaded",
                        lazy_pgettext("audit action", "uploaded licensed item wording"))
    RECORDING_UPLOADED = ("study.recording_uploaded",
                          lazy_pgettext("audit action", "uploaded a practice recording"))
    RECORDING_REMOVED = ("study.recording_removed",
                         lazy_pgettext("audit action", "removed a practice recording"))
    BASELINE_RECORDED = ("participant.baseline_recorded",
                         lazy_pgettext("audit action", "entered baseline characteristics"))
    ALLOCATION_LIST_GENERATED = ("allocation_list.generated",
                                 lazy_pgettext("audit action", "generated the allocation list"))
    PARTICIPANT_APPLIED = "participant.applied", lazy_pgettext("audit action", "added an applicant")
    PARTICIPANT_SCREENED = ("participant.screened",
                            lazy_pgettext("audit action", "recorded screening"))
    PARTICIPANT_CONSENTED = ("participant.consented",
                             lazy_pgettext("audit action", "recorded consent"))
    PARTICIPANT_RANDOMISED = ("participant.randomised",
                              lazy_pgettext("audit action", "randomised a participant"))
    COHORT_ASSIGNED = ("participant.cohort_assigned",
                       lazy_pgettext("audit action", "assigned a participant to a cohort"))
    GROUPS_ASSIGNED = ("cohort.groups_assigned",
                       lazy_pgettext("audit action", "assigned a cohort's groups"))
    FACILITATOR_ADDED = ("cohort.facilitator_added",
                         lazy_pgettext("audit action", "gave a staff member a part in a cohort"))
    FACILITATOR_REMOVED = ("cohort.facilitator_removed",
                           lazy_pgettext("audit action", "removed a staff member from a cohort"))
    GROUPS_FORMED = ("cohort.groups_formed",
                     lazy_pgettext("audit action", "formed a cohort's groups"))
    GROUP_MEMBER_MOVED = ("group.member_moved",
                          lazy_pgettext("audit action", "moved a participant to another group"))
    GROUP_LEADER_CHANGED = ("group.leader_changed",
                            lazy_pgettext("audit action", "changed a group's leader"))
    APPLICATIONS_TOGGLED = ("study.applications_toggled",
                            lazy_pgettext("audit action", "opened or closed online applications"))
    APPLIED_ONLINE = "participant.applied_online", lazy_pgettext("audit action", "applied online")
    SCREENED_ONLINE = ("participant.screened_online",
                       lazy_pgettext("audit action", "answered the screening questionnaire"))
    CONSENTED_ONLINE = ("participant.consented_online",
                        lazy_pgettext("audit action", "gave consent online"))
    PARTICIPANT_WITHDRAWN = ("participant.withdrawn",
                             lazy_pgettext("audit action", "recorded a withdrawal"))
    PARTICIPANT_LOST = ("participant.lost",
                        lazy_pgettext("audit action", "recorded loss to follow-up"))
    REMOVAL_REQUESTED = ("participant.removal_requested",
                         lazy_pgettext("audit action", "recorded a data removal request"))
    DATA_REMOVED = ("participant.data_removed",
                    lazy_pgettext("audit action", "removed a participant's data"))
    ADVERSE_EVENT_RECORDED = ("adverse_event.recorded",
                              lazy_pgettext("audit action", "recorded an adverse event"))
    CONTACT_LOGGED = ("contact.logged",
                      lazy_pgettext("audit action", "logged a contact with a participant"))
    CONTACT_LOG_EXPORTED = ("contact.exported",
                            lazy_pgettext("audit action", "exported the contact log"))
    MEETING_RECORDED = "meeting.record", lazy_pgettext("audit action", "recorded a meeting")
    MEETING_MOVED = "meeting.moved", lazy_pgettext("audit action", "moved a meeting")
    COURSE_SHIFTED = ("meeting.shifted",
                      lazy_pgettext("audit action", "moved a meeting and every later one"))
    MAKEUP_ADDED = ("meeting.makeup",
                    lazy_pgettext("audit action", "cancelled a meeting and added a make-up"))
    MEETING_CANCELLED = "meeting.cancelled", lazy_pgettext("audit action", "cancelled a meeting")
    ATTENDANCE_RECORDED = "attendance.record", lazy_pgettext("audit action", "recorded attendance")
    RESPONSE_RATED = "response.rated", lazy_pgettext("audit action", "entered a clinician rating")
    ALERT_RAISED = "alert.raise", lazy_pgettext("audit action", "raised a safety alert")
    ALERT_OWNED = "alert.own", lazy_pgettext("audit action", "took on a safety alert")
    ALERT_ACKNOWLEDGED = ("alert.acknowledge",
                          lazy_pgettext("audit action", "acknowledged a safety alert"))
    ALERT_NOTE = "alert.note", lazy_pgettext("audit action", "wrote a note on a safety alert")
    ALERT_CLOSED = "alert.close", lazy_pgettext("audit action", "closed a safety alert")
    STUDY_SAFETY_SET = ("study.safety_set",
                        lazy_pgettext("audit action", "changed the study's safety settings"))
    ALERT_ESCALATED = ("alert.escalate",
                       lazy_pgettext("audit action", "escalated an unacknowledged safety alert"))
    POST_PINNED = "post.pin", lazy_pgettext("audit action", "pinned a post")
    POST_UNPINNED = "post.unpin", lazy_pgettext("audit action", "unpinned a post")
    POST_LOCKED = "post.lock", lazy_pgettext("audit action", "locked a thread")
    POST_UNLOCKED = "post.unlock", lazy_pgettext("audit action", "unlocked a thread")
    POST_HIDDEN = "post.hide", lazy_pgettext("audit action", "hid a post")
    POST_RESTORED = "post.restore", lazy_pgettext("audit action", "restored a post")
    POST_HELD = "post.hold", lazy_pgettext("audit action", "held a post for review")
    POST_RELEASED = ("post.release",
                     lazy_pgettext("audit action", "released a post held for review"))
    FLAGS_RESOLVED = "post.resolve_flags", lazy_pgettext("audit action", "resolved a post's flags")
    REPORT_DOWNLOADED = "report.downloaded", lazy_pgettext("audit action", "downloaded a report")
    DATA_EXPORTED = "report.exported", lazy_pgettext("audit action", "exported study data")


def record(action: AuditAction | str, obj=None, *, actor=None, **details) -> AuditEntry:
    """Add an audit entry to the current transaction (committed with the change it records).

    ``action`` must be an ``AuditAction`` (an unknown name is a programming error);
    ``details`` must never carry health data or free text written by participants.
    """
    action = AuditAction(action)
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action.value,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def latest(action: str | None = None, limit: int = 50, *,
           actor: int | None = None) -> list[tuple[AuditEntry, str | None]]:
    """The newest entries (of one action, by one actor's id, when given), each with its
    actor's display name."""
    query = (select(AuditEntry, User.display_name)
             .outerjoin(User, User.id == AuditEntry.actor_id)
             .order_by(AuditEntry.id.desc()).limit(limit))
    if action in AuditAction:
        query = query.where(AuditEntry.action == action)
    if actor is not None:
        query = query.where(AuditEntry.actor_id == actor)
    return [(entry, name) for entry, name in db.session.execute(query)]


#: audited objects that people know by a name: the model and the column that names it (a
#: participant by their pseudonymous code, never by an id)
_NAMED_BY = {"Participant": Participant.code, "User": User.display_name, "Study": Study.title,
             "Cohort": Cohort.name, "Group": Group.name}


def object_names(entries) -> dict[tuple[str, int], str]:
    """The names of the objects of ``entries`` (one query per kind of object on the page)."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        if entry.object_type in _NAMED_BY and entry.object_id is not None:
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
    names = {}
    for kind, ids in wanted.items():
        column = _NAMED_BY[kind]
        model = column.class_
        for object_id, name in db.session.execute(
                select(model.id, column).where(model.id.in_(ids))):
            names[(kind, object_id)] = name
    return names


def actors() -> list[tuple[int, str]]:
    """Everyone who appears in the log as the one who acted, by name (the log's filter)."""
    return [(user_id, name) for user_id, name in db.session.execute(
        select(User.id, User.display_name)
        .where(User.id.in_(select(AuditEntry.actor_id).distinct()))
        .order_by(User.display_name, User.id))]
