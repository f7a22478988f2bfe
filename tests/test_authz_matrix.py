"""The authorisation matrix: every route of the URL map, every kind of visitor.

Each route is called with its URL parameters pointing at the home study's objects (see
``tests.factories_world``), by someone signed out, by outsiders of every role (a participant
of another cohort, a usual-care participant, a facilitator of another cohort and group, a rater
and a researcher of another study, an admin) and by the rightful owner. GET and POST (with a
valid CSRF token and no other fields) are tried for every method the rule accepts.

``EXPECTED`` holds the status each of them must get. A route missing from it fails the test by
name, so a new route cannot ship without deciding who may use it. No request may answer 5xx,
and a refused request (sign-in redirect for the signed-out, 400, 403, 404, 405) must leave
every table exactly as it was.
"""

from __future__ import annotations

import itertools
import re

import pytest
from flask import url_for
from flask_migrate import stamp
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from models import OutboxMessage, db
from tests.conftest import PASSWORD, make_app, sign_in
from tests.factories_world import (
    CALENDAR_TOKEN,
    LINK_TOKEN,
    RECORDED_PRACTICE,
    RESET_TOKEN,
    World,
    gen_world,
)

#: who calls each route, in the order of the status tuples below
COLUMNS = ("anon", "other_participant", "control_participant", "other_facilitator", "rater",
           "researcher", "admin", "owner")

#: the rightful owner of each blueprint's routes (a key of ``World.users``)
OWNER = {
    "participant": "member", "questionnaires": "member", "auth": "member",
    "settings": "member", "groups": "member", "facilitator": "leader", "alerts": "leader",
    "rater": "home_rater", "researcher": "home_researcher", "reports": "home_researcher",
    "study_setup": "home_researcher", "cohort_staff": "home_researcher",
    "contacts": "home_researcher",
    "apply": "home_researcher", "applications": "home_researcher",
    "admin": "admin", "calendar": "member", "two_factor": "member", "home": "member",
    "invitations": "member", "": "member", "pwa": "member", "notifications": "member",
}
#: group routes only the group's leaders and assistants use
MODERATOR_ENDPOINTS = {"groups.moderate", "groups.hide", "groups.flags", "groups.overview"}

S = 302  # a redirect: for the signed-out, to sign-in
# fmt: off
#: endpoint method -> status per column:
#:        anon other ctrl ofac rater rsch admin owner
EXPECTED: dict[str, tuple[int, ...]] = {
    "home.index GET":                    (S, S, S, S, S, S, S, S),
    "home.healthz GET":                  (200, 200, 200, 200, 200, 200, 200, 200),
    "home.readyz GET":                   (200, 200, 200, 200, 200, 200, 200, 200),
    "static GET":                        (200, 200, 200, 200, 200, 200, 200, 200),
    # signing in and out, password, language
    "auth.sign_in GET":                  (200, S, S, S, S, S, S, S),
    "auth.sign_in POST":                 (200, S, S, S, S, S, S, S),
    "auth.sign_out POST":                (S, S, S, S, S, S, S, S),
    "auth.sign_out_everywhere POST":     (S, S, S, S, S, S, S, S),
    "auth.request_reset GET":            (200, 200, 200, 200, 200, 200, 200, 200),
    "auth.request_reset POST":           (200, 200, 200, 200, 200, 200, 200, 200),
    "auth.reset_password GET":           (200, 200, 200, 200, 200, 200, 200, 200),
    "auth.reset_password POST":          (200, 200, 200, 200, 200, 200, 200, 200),
    "auth.change_password GET":          (S, 200, 200, 200, 200, 200, 200, 200),
    "auth.change_password POST":         (S, 200, 200, 200, 200, 200, 200, 200),
    "auth.set_language POST":            (400, 400, 400, 400, 400, 400, 400, 400),
    # the second sign-in step: without a half sign-in back to sign-in, signed in to home
    "auth.two_factor_step GET":          (S, S, S, S, S, S, S, S),
    "auth.two_factor_step POST":         (S, S, S, S, S, S, S, S),
    # two-factor settings: everyone's own (not enrolled: start makes a secret, the rest
    # go back to the settings page)
    "two_factor.manage GET":             (S, 200, 200, 200, 200, 200, 200, 200),
    "two_factor.start POST":             (S, S, S, S, S, S, S, S),
    "two_factor.confirm POST":           (S, S, S, S, S, S, S, S),
    "two_factor.disable POST":           (S, S, S, S, S, S, S, S),
    "two_factor.regenerate POST":        (S, S, S, S, S, S, S, S),
    "settings.edit GET":                 (S, 200, 200, 200, 200, 200, 200, 200),
    "settings.edit POST":                (S, 200, 200, 200, 200, 200, 200, 200),
    "settings.renew_calendar_link POST": (S, S, S, S, S, S, S, S),
    # installing the app, and notifications: everyone's own settings and devices
    "pwa.service_worker GET":            (200, 200, 200, 200, 200, 200, 200, 200),
    "pwa.manifest GET":                  (200, 200, 200, 200, 200, 200, 200, 200),
    "notifications.edit GET":            (S, 200, 200, 200, 200, 200, 200, 200),
    "notifications.edit POST":           (S, 200, 200, 200, 200, 200, 200, 200),
    "notifications.subscribe POST":      (S, 400, 400, 400, 400, 400, 400, 400),
    "notifications.unsubscribe POST":    (S, 200, 200, 200, 200, 200, 200, 200),
    "calendar.feed GET":                 (200, 200, 200, 200, 200, 200, 200, 200),
    # the participant's own pages: the usual-care participant has no material (404)
    "participant.dashboard GET":         (S, 200, 200, 403, 403, 403, 403, 200),
    "participant.sessions GET":          (S, 200, 404, 403, 403, 403, 403, 200),
    "participant.session GET":           (S, 200, 404, 403, 403, 403, 403, 200),
    # the retreat page: MSC only (the matrix cohort runs CFT, so 404 even with material)
    "participant.retreat GET":           (S, 404, 404, 403, 403, 403, 403, 404),
    "participant.session_done POST":     (S, S, 404, 403, 403, 403, 403, S),
    "participant.session_opened POST":   (S, 204, 404, 403, 403, 403, 403, 204),
    "participant.practice_history GET":  (S, 200, 404, 403, 403, 403, 403, 200),
    "participant.practice_new GET":      (S, 200, 404, 403, 403, 403, 403, 200),
    # a released practice's recording: the other study has none of its own
    "participant.recording GET":         (S, 404, 404, 403, 403, 403, 403, 200),
    "participant.practice_new POST":     (S, 200, 404, 403, 403, 403, 403, 200),
    "participant.practice_edit GET":     (S, 404, 404, 403, 403, 403, 403, 200),
    "participant.practice_edit POST":    (S, 404, 404, 403, 403, 403, 403, 200),
    "participant.practice_delete POST":  (S, 404, 404, 403, 403, 403, 403, S),
    # questionnaires: a participant's own open timepoint; another study's is not found
    "questionnaires.index GET":          (S, 200, 200, 403, 403, 403, 403, 200),
    "questionnaires.timepoint GET":      (S, 404, 403, 403, 403, 403, 403, 200),
    "questionnaires.instrument GET":     (S, 404, 403, 403, 403, 403, 403, 200),
    "questionnaires.instrument POST":    (S, 404, 403, 403, 403, 403, 403, S),
    "questionnaires.save_one POST":      (S, 404, 403, 403, 403, 403, 403, 400),
    "questionnaires.from_link GET":      (S, 403, 403, 403, 403, 403, 403, S),
    # groups: membership decides; moderation needs the group's leaders
    "groups.index GET":                  (S, 200, 200, 200, 200, 200, 200, 200),
    "groups.feed GET":                   (S, 404, 404, 404, 404, 404, 404, 200),
    "groups.create POST":                (S, 404, 404, 404, 404, 404, 404, 400),
    "groups.thread GET":                 (S, 404, 404, 404, 404, 404, 404, 200),
    "groups.reply POST":                 (S, 404, 404, 404, 404, 404, 404, 400),
    "groups.edit GET":                   (S, 404, 404, 404, 404, 404, 404, 200),
    "groups.edit POST":                  (S, 404, 404, 404, 404, 404, 404, 400),
    "groups.delete POST":                (S, 404, 404, 404, 404, 404, 404, S),
    "groups.flag POST":                  (S, 404, 404, 404, 404, 404, 404, S),
    "groups.moderate POST":              (S, 404, 404, 404, 404, 404, 404, S),
    "groups.hide POST":                  (S, 404, 404, 404, 404, 404, 404, S),
    "groups.flags GET":                  (S, 404, 404, 404, 404, 404, 404, 200),
    "groups.overview GET":               (S, 404, 404, 404, 404, 404, 404, 200),
    # facilitators: only the cohort's own
    "facilitator.home GET":              (S, 403, 403, 200, 403, 403, 403, 200),
    "facilitator.cohort GET":            (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.meeting GET":           (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.meeting POST":          (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.reschedule GET":        (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.reschedule POST":       (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.register GET":          (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.register POST":         (S, 403, 403, 404, 403, 403, 403, S),
    "facilitator.attendance_import_upload GET":
                                         (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.attendance_import_upload POST":
                                         (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.attendance_import_confirm POST":
                                         (S, 403, 403, 404, 403, 403, 403, S),
    "facilitator.roster GET":            (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.participant_progress GET":
                                         (S, 403, 403, 404, 403, 403, 403, 200),
    "facilitator.calendar GET":          (S, 403, 403, 200, 403, 403, 403, 200),
    # safety alerts: the group's leaders and the study's clinicians
    "alerts.index GET":                  (S, 403, 403, 200, 403, 200, 200, 200),
    "alerts.show GET":                   (S, 403, 403, 404, 403, 404, 404, 200),
    "alerts.act POST":                   (S, 403, 403, 404, 403, 404, 404, S),
    "alerts.note POST":                  (S, 403, 403, 404, 403, 404, 404, S),
    "alerts.release POST":               (S, 403, 403, 404, 403, 404, 404, S),
    "alerts.hide_post POST":             (S, 403, 403, 404, 403, 404, 404, 400),
    # raters: the study's own
    "rater.home GET":                    (S, 403, 403, 403, 200, 403, 403, 200),
    "rater.rate GET":                    (S, 403, 403, 403, 404, 403, 403, 200),
    "rater.rate POST":                   (S, 403, 403, 403, 404, 403, 403, S),
    # researchers: the study's own
    "researcher.home GET":               (S, 403, 403, 403, 403, 200, 403, 200),
    "researcher.study GET":              (S, 403, 403, 403, 403, 404, 403, 200),
    "researcher.setup GET":              (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.generate_list POST":     (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.add_applicant POST":     (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.assign_groups POST":     (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.adverse_events GET":     (S, 403, 403, 403, 403, 404, 403, 200),
    "researcher.risk_patterns GET":      (S, 403, 403, 403, 403, 404, 403, 200),
    "researcher.participant GET":        (S, 403, 403, 403, 403, 404, 403, 200),
    "researcher.add_adverse_event POST": (S, 403, 403, 403, 403, 404, 403, 400),
    "researcher.cohort POST":            (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.consent POST":           (S, 403, 403, 403, 403, 404, 403, 400),
    "researcher.randomise POST":         (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.request_removal POST":   (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.screen POST":            (S, 403, 403, 403, 403, 404, 403, S),
    "researcher.withdraw POST":          (S, 403, 403, 403, 403, 404, 403, 400),
    # study setup (arms, cohorts, timepoints, group leaders): the study's researchers
    "study_setup.arms GET":              (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.arms POST":             (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.new_cohort GET":        (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.new_cohort POST":       (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.edit_cohort GET":       (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.edit_cohort POST":      (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.new_timepoint GET":     (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.new_timepoint POST":    (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.edit_timepoint GET":    (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.edit_timepoint POST":   (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.group_staff GET":       (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.group_staff POST":      (S, 403, 403, 403, 403, 404, 403, S),
    # the set-up steps of a new study (anyone researcher or admin may start one)
    "study_setup.new_study GET":         (S, 403, 403, 403, 403, 200, 200, 200),
    "study_setup.new_study POST":        (S, 403, 403, 403, 403, 200, 200, 200),
    "study_setup.checklist GET":         (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.eligibility GET":       (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.eligibility POST":      (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.characteristics GET":   (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.characteristics POST":  (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.baseline GET":          (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.baseline POST":         (S, 403, 403, 403, 403, 404, 403, 400),
    "study_setup.randomisation GET":     (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.randomisation POST":    (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.generate_list POST":    (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.consent GET":           (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.consent POST":          (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.current_version POST":  (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.consent_sheet GET":     (S, 403, 403, 403, 403, 404, 403, 404),
    "study_setup.staff GET":             (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.staff POST":            (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.safety GET":            (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.safety POST":           (S, 403, 403, 403, 403, 404, 403, 400),
    "study_setup.remove_staff POST":     (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.crisis_contacts GET":   (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.crisis_contacts POST":  (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.confirm_crisis_contacts POST": (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.remove_crisis_contact POST": (S, 403, 403, 403, 403, 404, 403, S),
    "study_setup.wording GET":           (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.wording POST":          (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.recordings_page GET":   (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.recordings_page POST":  (S, 403, 403, 403, 403, 404, 403, 200),
    "study_setup.remove_recording POST": (S, 403, 403, 403, 403, 404, 403, 302),
    # a cohort's facilitators, participants and groups: the study's researchers
    "cohort_staff.page GET":             (S, 403, 403, 403, 403, 404, 403, 200),
    "cohort_staff.add_facilitator POST": (S, 403, 403, 403, 403, 404, 403, 400),
    "cohort_staff.remove_facilitator POST":
                                         (S, 403, 403, 403, 403, 404, 403, 404),
    "cohort_staff.assign_participants POST":
                                         (S, 403, 403, 403, 403, 404, 403, 400),
    "cohort_staff.form_groups POST":     (S, 403, 403, 403, 403, 404, 403, S),
    "cohort_staff.move_member POST":     (S, 403, 403, 403, 403, 404, 403, 400),
    "cohort_staff.change_leader POST":   (S, 403, 403, 403, 403, 404, 403, 400),
    # online applications: the researcher opens them; the public page is 404 while closed
    # (the home study is), a link that is not an application's is 404 for everyone
    "applications.settings GET":         (S, 403, 403, 403, 403, 404, 403, 200),
    "applications.settings POST":        (S, 403, 403, 403, 403, 404, 403, S),
    "apply.start GET":                   (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.start POST":                  (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.status GET":                  (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.screening GET":               (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.screening POST":              (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.consent GET":                 (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.consent POST":                (404, 404, 404, 404, 404, 404, 404, 404),
    "apply.consent_copy GET":            (404, 404, 404, 404, 404, 404, 404, 404),
    "reports.index GET":                 (S, 403, 403, 403, 403, 200, 403, 200),
    "reports.data GET":                  (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.data_download GET":         (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.efficacy GET":              (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.efficacy_download GET":     (S, 403, 403, 403, 403, 404, 403, 400),
    "reports.feasibility GET":           (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.feasibility_download GET":  (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.baseline GET":              (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.flow_png GET":              (S, 403, 403, 403, 403, 404, 403, 200),
    "reports.reliable_change_download GET":
                                         (S, 403, 403, 403, 403, 404, 403, 400),
    # administration
    "admin.home GET":                    (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.set_user_active POST":        (S, 403, 403, 403, 403, 403, S, S),
    "admin.reset_two_factor POST":       (S, 403, 403, 403, 403, 403, S, S),
    "admin.process_removal POST":        (S, 403, 403, 403, 403, 403, S, S),
    "admin.set_role POST":               (S, 403, 403, 403, 403, 403, S, S),
    # invitations: admins invite staff; a bad or unknown invitation goes back with a message
    "admin.invite GET":                  (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.invite POST":                 (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.resend_invitation POST":      (S, 403, 403, 403, 403, 403, S, S),
    "admin.revoke_invitation POST":      (S, 403, 403, 403, 403, 403, S, S),
    "admin.bulk_upload GET":             (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.bulk_upload POST":            (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.bulk_confirm POST":           (S, 403, 403, 403, 403, 403, S, S),
    # the outbox: admins read what Hearth queued and sent
    "admin.outbox GET":                  (S, 403, 403, 403, 403, 403, 200, 200),
    "admin.outbox_message GET":          (S, 403, 403, 403, 403, 403, 200, 200),
    # the contact log: the study's researchers (no fields given: 400)
    "contacts.log GET":                  (S, 403, 403, 403, 403, 404, 403, 200),
    "contacts.log POST":                 (S, 403, 403, 403, 403, 404, 403, 400),
    "contacts.export GET":               (S, 403, 403, 403, 403, 404, 403, 200),
    # a researcher invites a participant of their own study (no email given: 400)
    "researcher.invite_participant POST": (S, 403, 403, 403, 403, 404, 403, 400),
    # the invitation link: public, and an unknown token is refused for everyone
    "invitations.accept GET":            (400, 400, 400, 400, 400, 400, 400, 400),
    "invitations.accept POST":           (400, 400, 400, 400, 400, 400, 400, 400),
}
# fmt: on


def _parameters(world: World, endpoint: str) -> dict:
    """URL values pointing at the home study's objects."""
    home = world.home
    token = {"auth.reset_password": RESET_TOKEN, "calendar.feed": CALENDAR_TOKEN,
             "questionnaires.from_link": LINK_TOKEN}.get(endpoint, "x")
    participant = (world.control_participant.id if endpoint == "admin.process_removal"
                   else home.participant.id)
    return {
        "cohort_id": home.cohort.id, "number": 1, "group_id": home.group.id,
        "post_id": world.post.id, "log_id": world.log.id, "participant_id": participant,
        "study_id": home.study.id, "timepoint_id": home.timepoint.id,
        "key": "GRID-HAMD" if endpoint == "rater.rate" else "BDI-II", "token": token,
        "alert_id": world.alert.id, "user_id": home.member.id, "fmt": "html",
        "name": "scores.csv", "filename": "css/hearth.css", "invitation_id": 1,
        "study_key": home.study.key, "practice_key": RECORDED_PRACTICE,
        "recording_id": world.recording.id,
        "message_id": db.session.scalar(select(OutboxMessage.id).limit(1)),
    }


def _routes():
    """(case id, endpoint, method, URL values that come from the rule) for every route."""
    app = make_app("sqlite://")
    cases = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        choices = {name: sorted(conv.items) if hasattr(conv, "items") else conv.args
                   for name, conv in rule._converters.items() if isinstance(conv, AnyConverter)}
        variants = [dict(zip(choices, values, strict=True))
                    for values in itertools.product(*choices.values())] or [{}]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for fixed in variants:
                suffix = "".join(f"[{v}]" for v in fixed.values())
                cases.append(pytest.param(rule.endpoint, rule.rule, sorted(rule.arguments),
                                          method, fixed, id=f"{rule.endpoint} {method}{suffix}"))
    return cases


def _snapshot() -> dict[str, list]:
    """Every row of every table (the world is small), to show nothing changed."""
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


def _client_for(app, world: World, column: str, endpoint: str):
    client = app.test_client()
    if column == "anon":
        return client, None
    key = column
    if column == "owner":
        key = OWNER[endpoint.split(".")[0] if "." in endpoint else ""]
        if endpoint in MODERATOR_ENDPOINTS:
            key = "leader"
    user = world.users[key]
    sign_in(client, user, PASSWORD)
    return client, user


_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _csrf(client, signed_in: bool) -> str:
    page = client.get("/auth/password" if signed_in else "/auth/sign-in").get_data(as_text=True)
    return _TOKEN.search(page).group(1)


#: responses meant to be cached by the browser or a calendar app: no personal page (a
#: practice recording is the study's audio, the same for everyone, kept privately to replay)
CACHEABLE = {"static", "calendar.feed", "participant.recording", "pwa.service_worker"}


def _check_headers(response, endpoint: str, signed_in: bool) -> None:
    """The security headers every response carries, whatever its status."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert "frame-ancestors 'none'" in csp
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"
    if signed_in and endpoint not in CACHEABLE:
        assert headers.get("Cache-Control") == "no-store", (endpoint, headers.get("Cache-Control"))


def _is_refusal(column: str, response) -> bool:
    if response.status_code in (400, 403, 404, 405):
        return True
    return (column == "anon" and response.status_code == 302
            and response.headers["Location"].startswith("/auth/sign-in"))


@pytest.mark.parametrize(("endpoint", "rule", "arguments", "method", "fixed"), _routes())
def test_route_answers_each_visitor_as_expected(app, endpoint, rule, arguments, method, fixed):
    key = f"{endpoint} {method}"
    assert key in EXPECTED, (
        f"{rule} ({key}) has no entry in EXPECTED: decide who may use it and add it")
    world = gen_world()
    if endpoint == "home.readyz":
        stamp()  # the test schema comes from the models: mark it as at the migrations' head
    values = {**_parameters(world, endpoint), **fixed}
    with app.test_request_context():
        path = url_for(endpoint, **{name: values[name] for name in arguments})
    public = getattr(app.view_functions[endpoint], "allowed_roles", None) == ("*",)
    got = {}
    for column, expected in zip(COLUMNS, EXPECTED[key], strict=True):
        client, user = _client_for(app, world, column, endpoint)
        data = {"csrf_token": _csrf(client, user is not None)} if method == "POST" else None
        before = _snapshot() if method == "POST" or expected != 200 else None
        response = client.open(path, method=method, data=data)
        assert response.status_code < 500, f"{column} {method} {path}: {response.status_code}"
        got[column] = response.status_code
        _check_headers(response, endpoint, user is not None and not response.headers.get(
            "Location", "").startswith("/auth/sign-in"))
        if before is not None and _is_refusal(column, response):
            assert _snapshot() == before, f"refused {method} {path} by {column} changed data"
        if column == "anon" and not public and response.status_code == 302:
            assert response.headers["Location"].startswith("/auth/sign-in"), path
    observed = tuple(got[c] for c in COLUMNS)
    assert observed == EXPECTED[key], f"{key}: expected {EXPECTED[key]}, got {observed}"


def test_expectations_name_only_routes_that_exist():
    """A route removed or renamed takes its row out of the table (no stale rules)."""
    app = make_app("sqlite://")
    routes = {f"{rule.endpoint} {method}" for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert sorted(set(EXPECTED) - routes) == []
    assert all(endpoint.split(".")[0] in OWNER or "." not in endpoint
               for endpoint in {key.split()[0] for key in EXPECTED}), "a blueprint has no owner"
