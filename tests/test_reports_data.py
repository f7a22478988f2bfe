"""analysis.data: the database read as the tidy tables of the data contract."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from analysis import data as study_data
from analysis.consort import flow_counts as consort_counts
from models import Post, SessionProgress, db
from program.courses.catalogue import get_catalogue
from program.reports import load_tables, study_flow
from program.trial import eligibility, removal, withdrawal
from tests.factories import (
    gen_cohort,
    gen_group,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)
from tests.factories_reports import (
    gen_allocated,
    gen_meeting,
    gen_practice,
    gen_response,
    gen_scored_trial,
)


def test_scores_are_submitted_scores_of_the_study_by_code_arm_and_timepoint(app):
    study = gen_scored_trial()
    other = gen_scored_trial()
    pre = db.session.scalars(db.select(study_data.Timepoint).filter_by(
        study_id=study.id, key="pre")).one()
    first = db.session.scalars(db.select(study_data.Participant).filter_by(
        study_id=study.id).order_by(study_data.Participant.code)).first()
    gen_response(first, pre, "SCS-SF", {"SCS-SF": 3.5}, status="in_progress")

    scores = study_data.scores(db.session, study.id)

    assert list(scores.columns) == ["participant_id", "arm", "timepoint", "measure", "score"]
    assert len(scores) == 9 + 8  # 9 pre, 8 post; the unsubmitted SCS-SF is left out
    assert set(scores["measure"]) == {"BDI-II"}
    assert not scores["participant_id"].isin(
        study_data.scores(db.session, other.id)["participant_id"]).any()
    row = scores.iloc[0]
    assert (row.participant_id, row.arm, row.timepoint, row.score) == (first.code, "CFT", "pre",
                                                                      34.0)
    assert study_data.timepoints(db.session, study.id) == ["pre", "post"]


def test_participants_map_status_age_and_baseline_covariates(app):
    study = gen_study()
    active = gen_allocated(study, "CFT", birth_year=1990, gender="female",
                           baseline={"site": "Tokyo", "severity": 31})
    stopped = gen_allocated(study, "CFT", withdrawal_kind="stop_sessions")
    lost = gen_allocated(study, "UC", status="lost")
    done = gen_allocated(study, "UC", status="completed")
    gen_participant(study, arm=None, status="applied")  # not allocated: not in the table

    table = study_data.participants(db.session, study.id).set_index("participant_id")

    assert list(table.columns) == ["arm", "status", "gender", "age", "randomised_on",
                                   "therapy_group", "sessions_attended", "severity", "site"]
    assert table.loc[active.code, "age"] == 2026 - 1990
    assert table.loc[active.code, "site"] == "Tokyo"
    assert table.loc[stopped.code, "status"] == "withdrawn"
    assert table.loc[lost.code, "status"] == "lost"
    assert table.loc[done.code, "status"] == "completed"
    assert table.loc[active.code, "status"] == "active"
    assert len(table) == 4


def test_attendance_has_a_row_per_meeting_held_and_absent_without_register(app):
    study = gen_study()
    cohort = gen_cohort(study)
    a = gen_allocated(study, "CFT", cohort)
    b = gen_allocated(study, "CFT", cohort)
    gen_allocated(study, "UC")  # usual care: no meetings
    gen_meeting(cohort, 1, register=[(a, "present", 90), (b, "late", 60)])
    gen_meeting(cohort, 2, register=[(a, "absent", 0)])
    gen_meeting(cohort, 3, "cancelled")
    gen_meeting(cohort, 4, "truncated", register=[(b, "present", 45)])

    table = study_data.attendance(db.session, study.id)

    assert sorted(set(table["meeting"])) == [1, 2, 4]
    by = {(r.participant_id, r.meeting): r for r in table.itertuples()}
    assert len(by) == 6
    assert by[(a.code, 1)].present == 1 and by[(b.code, 1)].present == 1  # late is present
    assert by[(a.code, 2)].present == 0
    assert by[(b.code, 2)].present == 0  # no register entry
    assert by[(b.code, 4)].minutes == 45
    assert set(table["arm"]) == {"CFT"}


def test_sessions_report_outcomes_and_checklist_share(app):
    study = gen_study()
    cohort = gen_cohort(study)
    checklist = get_catalogue().session("cft", 1).checklist
    gen_meeting(cohort, 1, checklist=checklist[:1])
    gen_meeting(cohort, 2, "postponed")
    gen_meeting(cohort, 3, "scheduled")

    table = load_tables(study.id).sessions

    assert list(table["status"]) == ["held", "postponed"]
    assert table.loc[0, "adherence"] == pytest.approx(1 / len(checklist))
    assert table["adherence"].isna().iloc[1]


def test_practice_logs_carry_week_and_no_note(app):
    study = gen_study()
    cohort = gen_cohort(study, start_date=date(2026, 3, 9))
    p = gen_allocated(study, "CFT", cohort)
    gen_practice(p, date(2026, 3, 10), 15, note="my private thoughts")
    gen_practice(p, date(2026, 3, 17), 20)

    table = study_data.practice_logs(db.session, study.id)

    assert "note" not in table.columns
    assert list(table["week"]) == [1, 2]
    assert list(table["minutes"]) == [15, 20]
    assert "my private thoughts" not in table.to_csv()


def test_engagement_counts_materials_practice_and_posts_per_week(app):
    study = gen_study()
    cohort = gen_cohort(study, start_date=date(2026, 3, 9), timezone="UTC")
    p = gen_allocated(study, "CFT", cohort)
    group = gen_group(cohort, members=[p.user])
    gen_practice(p, date(2026, 3, 11), 10)
    gen_practice(p, date(2026, 3, 12), 5)
    db.session.add(SessionProgress(participant_id=p.id, session_number=2,
                                   opened_at=datetime(2026, 3, 16, 8, tzinfo=UTC)))
    db.session.add(Post(group_id=group.id, author_id=p.user_id, body="hi", body_html="hi",
                        created_at=datetime(2026, 3, 17, 8, tzinfo=UTC)))
    db.session.commit()

    table = study_data.engagement(db.session, study.id,
                                  now=datetime(2026, 3, 25, tzinfo=UTC)).set_index("week")

    assert list(table.index) == [1, 2, 3]  # up to the current week
    assert table.loc[1, "practice_minutes"] == 15
    assert table.loc[2, "materials_opened"] == 1
    assert table.loc[2, "posts"] == 1
    assert table.loc[3].tolist()[-3:] == [0, 0, 0]


def test_satisfaction_takes_csq_item_ratings(app):
    study = gen_study()
    post = gen_timepoint(study, "post", 2)
    p = gen_allocated(study, "CFT")
    gen_response(p, post, "CSQ-8", {"CSQ-8": 27},
                 answers={str(i): r for i, r in enumerate([4, 3, 3, 4, 3, 3, 4, 3], start=1)})

    table = study_data.satisfaction(db.session, study.id)

    assert table.iloc[0].tolist() == [p.code, 4.0, 3.0, 3.0, 4.0, 3.0, 3.0, 4.0, 3.0]


def _mixed_flow_study():
    study = gen_study(eligibility_rules=eligibility.CFT_ELIGIBILITY)
    ineligible = gen_participant(study, arm=None, status="ineligible", eligible=False,
                                 exclusion_reasons=["bdi_ii"])
    excluded = gen_participant(study, arm=None, status="ineligible", eligible=False,
                               exclusion_reasons=["psychosis", "substance"])
    waiting = gen_participant(study, status="consented", eligible=True)
    waiting.arm_id = None  # eligible and consented, waiting for randomisation
    db.session.commit()
    people = [gen_allocated(study, arm) for arm in ["CFT"] * 4 + ["UC"] * 3]
    withdrawal.withdraw(people[0].id, "leave_study", reason="moved away", on=date(2026, 4, 1))
    withdrawal.mark_lost(people[4].id, reason="no reply", on=date(2026, 4, 2))
    withdrawal.request_data_removal(people[5].id, on=date(2026, 4, 3))
    removal.remove_participant_data(people[5].id)
    return study, people, (ineligible, excluded, waiting)


def test_flow_counts_agree_with_the_trial_records(app):
    """The study page's flow (with the trial's own records) adds to the diagram's counts of
    flow.csv and changes none of them."""
    study, _people, _others = _mixed_flow_study()

    counts = consort_counts(study_data.flow(db.session, study.id))
    reference = study_flow(study.id)

    assert counts["assessed"] == reference["assessed"] == 10
    assert counts["excluded"]["n"] == (reference["excluded"]["ineligible"]
                                       + reference["eligible_not_allocated"]) == 3
    assert counts["randomised"] == reference["randomised"] == 7
    assert counts["excluded"] == {k: reference["excluded"][k] for k in counts["excluded"]}
    assert counts["arms"].keys() == reference["arms"].keys()
    for arm, mine in counts["arms"].items():
        assert mine == {k: reference["arms"][arm][k] for k in mine}
    assert reference["arms"]["CFT"]["withdrawal_kinds"] == {"leave_study": 1}
    assert reference["arms"]["UC"]["data_removed"] == 1
    assert reference["excluded"]["rules"] == {"bdi_ii": 1, "psychosis": 1, "substance": 1}
    assert counts["arms"]["UC"]["analysed"] == 2
    reasons = {r["reason"]: r["n"] for r in counts["excluded"]["reasons"]}
    assert reasons["meeting exclusion: Psychosis"] == 1
    assert reasons["not meeting inclusion: BDI-II total at screening (20 or more)"] == 1
    uc_reasons = {r["reason"] for r in counts["arms"]["UC"]["withdrawn"]["reasons"]}
    assert uc_reasons == {"asked for data removal"}


def test_the_study_page_shows_the_flow_of_the_trial_records(app, as_user):
    study, people, _others = _mixed_flow_study()
    people[1].started_on = date(2026, 3, 9)
    db.session.commit()
    researcher = gen_user("researcher")
    gen_staff(study, researcher)

    page = as_user(researcher).get(f"/research/studies/{study.id}").get_data(as_text=True)

    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert facts["Applied"] == facts["Screened"] == "10"
    assert facts["Excluded"].startswith("2 (not meeting inclusion 1, meeting exclusion 1)")
    assert ("BDI-II total at screening (20 or more) 1, Psychosis 1, "
            "Substance abuse or dependence 1") in page
    assert facts["Consented"] == "7" and facts["Eligible, not allocated"] == "1"
    assert facts["Allocated"] == "7" and facts["Analysed"] == "6"
    rows = {row[0]: row[1:] for row in re.findall(
        r'<th scope="row">(\w+)</th><td>(\d+)</td><td>(\d+)</td>\s*<td>(\d+)', page)}
    assert rows == {"CFT": ("4", "1", "1"), "UC": ("3", "3", "1")}  # allocated, started, withdrew
    assert "moved away: 1" in page and "asked for data removal: 1" in page and "no reply: 1" in page


def test_a_pending_removal_is_not_analysed_on_the_study_page_as_in_the_reports(app):
    """From the request on, not only once an admin has removed the data (the reports have
    always left the person out from then)."""
    study, people, _others = _mixed_flow_study()
    withdrawal.request_data_removal(people[6].id, on=date(2026, 4, 5))

    flow = study_flow(study.id)
    diagram = consort_counts(load_tables(study.id).flow)

    assert flow["arms"]["UC"]["analysed"] == diagram["arms"]["UC"]["analysed"] == 1
    assert flow["arms"]["UC"]["data_removed"] == 1  # removed by an admin: only the first
    assert flow["arms"]["UC"]["withdrawn"]["reasons"] == [
        {"reason": "asked for data removal", "n": 2}]


def test_a_removed_participant_contributes_only_a_flow_record(app):
    study = gen_scored_trial()
    cohort = gen_cohort(study)
    people = db.session.scalars(db.select(study_data.Participant).filter_by(
        study_id=study.id).order_by(study_data.Participant.code)).all()
    gone = people[0]
    gone.cohort_id = cohort.id
    db.session.commit()
    gen_meeting(cohort, 1, register=[(gone, "present", 90)])
    gen_practice(gone, date(2026, 3, 10))
    withdrawal.request_data_removal(gone.id, on=date(2026, 4, 3))
    removal.remove_participant_data(gone.id)

    tables = load_tables(study.id)

    for name in ("scores", "participants", "attendance", "practice_logs", "engagement",
                 "satisfaction"):
        assert gone.code not in set(getattr(tables, name)["participant_id"]), name
    assert gone.code not in set(tables.wide()["participant_id"])
    stages = set(tables.flow.loc[tables.flow["participant_id"] == gone.code, "stage"])
    assert stages == {"screened", "randomised", "withdrawn"}


def test_a_pending_removal_request_already_keeps_data_out(app):
    study = gen_scored_trial()
    first = db.session.scalars(db.select(study_data.Participant).filter_by(
        study_id=study.id).order_by(study_data.Participant.code)).first()
    withdrawal.request_data_removal(first.id, on=date(2026, 4, 3))

    assert first.code not in set(study_data.scores(db.session, study.id)["participant_id"])


def test_recruitment_per_month_spans_first_to_last_allocation(app):
    study = gen_study()
    for day in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC),
                datetime(2026, 3, 2, tzinfo=UTC)):
        gen_allocated(study, "CFT", randomised_at=day)
    assert study_data.recruitment_per_month(db.session, study.id) == pytest.approx(
        3 / (60 / (365.25 / 12)))
    assert study_data.recruitment_per_month(db.session, gen_study().id) is None


def test_participants_carry_therapy_group_sessions_attended_and_allocation_date(app):
    """The partially nested design from the database: program participants are in their
    cohort's therapy group with the meetings they attended; usual care is in none."""
    study = gen_study()
    cohort = gen_cohort(study, name="Tuesday group")
    came = gen_allocated(study, "CFT", cohort)
    absent = gen_allocated(study, "CFT", cohort)
    usual = gen_allocated(study, "UC", cohort)  # in the cohort for its assessment dates
    gen_meeting(cohort, 1, register=[(came, "present", 90), (absent, "absent", None)])
    gen_meeting(cohort, 2, register=[(came, "late", 60)])
    gen_meeting(cohort, 3, "cancelled", register=[(came, "present", 90)])

    table = study_data.participants(db.session, study.id).set_index("participant_id")

    assert table.loc[came.code, "therapy_group"] == "Tuesday group"
    assert table.loc[came.code, "sessions_attended"] == 2  # the cancelled meeting not counted
    assert table.loc[absent.code, "sessions_attended"] == 0
    assert pd.isna(table.loc[usual.code, "therapy_group"])
    assert pd.isna(table.loc[usual.code, "sessions_attended"])
    assert table.loc[came.code, "randomised_on"] == date(2026, 3, 2)


def test_flow_tells_stopping_sessions_from_leaving_and_who_received_the_intervention(app):
    study = gen_study()
    cohort = gen_cohort(study)
    came = gen_allocated(study, "CFT", cohort)
    never = gen_allocated(study, "CFT", cohort)
    stopped = gen_allocated(study, "CFT", cohort)
    left = gen_allocated(study, "UC")
    gen_meeting(cohort, 1, register=[(came, "present", 90), (stopped, "present", 90)])
    withdrawal.withdraw(stopped.id, "stop_sessions", reason="too busy", on=date(2026, 4, 1))
    withdrawal.withdraw(left.id, "leave_study", reason="moved away", on=date(2026, 4, 1))

    counts = consort_counts(study_data.flow(db.session, study.id))

    cft, uc = counts["arms"]["CFT"], counts["arms"]["UC"]
    assert counts["intervention_recorded"]
    assert (cft["received"], cft["not_received"]["n"], uc["received"]) == (2, 1, 1)
    assert never.code not in set(study_data.flow(db.session, study.id).query(
        "stage == 'received'")["participant_id"])
    assert cft["stopped_sessions"] == {"n": 1, "reasons": [{"reason": "too busy", "n": 1}]}
    assert cft["withdrawn"]["n"] == 0
    assert uc["withdrawn"] == {"n": 1, "reasons": [{"reason": "moved away", "n": 1}]}
    assert cft["analysed"] == 3  # stopping the sessions keeps a person in the analysis


def test_the_study_page_counts_who_stopped_sessions_apart_from_who_left(app, as_user):
    study = gen_study()
    stopped = gen_allocated(study, "CFT")
    left = gen_allocated(study, "CFT")
    withdrawal.withdraw(stopped.id, "stop_sessions", reason="too busy", on=date(2026, 4, 1))
    withdrawal.withdraw(left.id, "leave_study", reason="moved away", on=date(2026, 4, 1))
    researcher = gen_user("researcher")
    gen_staff(study, researcher)

    page = as_user(researcher).get(f"/research/studies/{study.id}").get_data(as_text=True)

    assert "Stopped sessions, stayed in the study" in page
    row = re.search(r'<th scope="row">CFT</th>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td>(\d+)", row)
    assert cells[:4] == ["2", "0", "1", "1"]  # allocated, started, withdrew, stopped sessions
    assert "moved away: 1" in row and "too busy: 1" in row
