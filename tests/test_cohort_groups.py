"""A cohort's people through the pages: facilitators with roles, participants placed in the
cohort, the whole-cohort group and balanced small groups with leaders, moved and swapped by
hand. The balancing itself is pure and tested on its own."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import AuditEntry, CohortFacilitator, Group, GroupMembership, Participant, db
from program.groups.formation import balanced_sizes, deal, share_staff
from tests.conftest import post_form
from tests.factories import gen_cohort, gen_participant, gen_staff, gen_study, gen_user

# --------------------------------------------------------------------------- pure


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=40))
def test_balanced_sizes_hold_everyone_evenly_within_the_size(n, size):
    sizes = balanced_sizes(n, size)
    assert sum(sizes) == n
    assert all(1 <= s <= size for s in sizes)
    assert not sizes or max(sizes) - min(sizes) <= 1
    assert len(sizes) == -(-n // size)  # the fewest groups that fit


def test_deal_spreads_neighbours_and_balances():
    assert balanced_sizes(10, 4) == [4, 3, 3]
    groups = deal(list(range(10)), 4)
    assert [len(g) for g in groups] == [4, 3, 3]
    assert groups[0] == [0, 3, 6, 9]
    assert sorted(sum(groups, [])) == list(range(10))
    with pytest.raises(ValueError):
        balanced_sizes(3, 0)


def test_share_staff_gives_every_group_a_leader_and_deals_assistants():
    assert share_staff(3, ["A", "B"], ["x", "y", "z", "w"]) == [
        ("A", ["x", "w"]), ("B", ["y"]), ("A", ["z"])]
    assert share_staff(2, [], ["x"]) == [(None, ["x"]), (None, [])]
    assert share_staff(0, ["A"], ["x"]) == []


# --------------------------------------------------------------------------- pages


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _msc_course(n_people: int = 10):
    """An MSC study with a researcher, a cohort and ``n_people`` allocated participants with
    accounts who are in no cohort yet, plus one without an account."""
    study = gen_study("single_arm", "msc")
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    cohort = gen_cohort(study, name="Spring course")
    people = [gen_participant(study, arm="MSC", status="randomised") for _ in range(n_people)]
    no_account = gen_participant(study, arm="MSC", status="randomised")
    no_account.user_id = None
    db.session.commit()
    return study, researcher, cohort, people, no_account


def _roles(group_id: int) -> dict[int, str]:
    return dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)
                                   .where(GroupMembership.group_id == group_id)).all())


def test_facilitators_are_given_roles_and_removed(app, as_user):
    study, researcher, cohort, _people, _ = _msc_course(0)
    teacher, coach = gen_user("facilitator"), gen_user("facilitator")
    client = as_user(researcher)
    page = f"/research/cohorts/{cohort.id}/people"
    html = client.get(page).get_data(as_text=True)
    assert "assistant coach" in html and "lead therapist" not in html  # the MSC roles only
    add = f"/research/cohorts/{cohort.id}/facilitators"
    assert post_form(client, add, {"user_id": teacher.id, "role": "teacher"},
                     token_from=page).status_code == 302
    assert post_form(client, add, {"user_id": coach.id, "role": "assistant_coach"},
                     token_from=page).status_code == 302
    rows = {f.user_id: (f.role, f.is_lead) for f in db.session.scalars(select(CohortFacilitator))}
    assert rows == {teacher.id: ("teacher", True), coach.id: ("assistant_coach", False)}
    assert "assistant coach" in client.get(page).get_data(as_text=True)

    # bad input re-renders with the error and writes nothing
    before = (_count(CohortFacilitator), _count(AuditEntry))
    for bad in ({"user_id": researcher.id, "role": "teacher"},  # not a facilitator account
                {"user_id": coach.id, "role": "lead_therapist"},  # a CFT role
                {"user_id": "x", "role": "teacher"}, {}):
        response = post_form(client, add, bad, token_from=page)
        assert response.status_code == 400, bad
        assert "error" in response.get_data(as_text=True)
    assert (_count(CohortFacilitator), _count(AuditEntry)) == before

    remove = f"/research/cohorts/{cohort.id}/facilitators/{coach.id}/remove"
    assert post_form(client, remove, token_from=page).status_code == 302
    assert [f.user_id for f in db.session.scalars(select(CohortFacilitator))] == [teacher.id]
    entries = _count(AuditEntry)
    # a second click is told the person is off the cohort already; nothing more is recorded
    again = post_form(client, remove, token_from=page, follow_redirects=True)
    assert "is not a facilitator of the cohort (any more)" in again.get_data(as_text=True)
    assert _count(AuditEntry) == entries
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == \
        "cohort.facilitator_removed"
    # an account that is no facilitator at all is not found
    not_staff = f"/research/cohorts/{cohort.id}/facilitators/{researcher.id}/remove"
    assert post_form(client, not_staff, token_from=page).status_code == 404


def test_a_cft_cohort_has_a_lead_therapist_and_a_co_therapist(app, as_user):
    study = gen_study("rct", "cft")
    researcher, lead, co = gen_user("researcher"), gen_user("facilitator"), gen_user("facilitator")
    gen_staff(study, researcher)
    cohort = gen_cohort(study)
    client = as_user(researcher)
    page = f"/research/cohorts/{cohort.id}/people"
    add = f"/research/cohorts/{cohort.id}/facilitators"
    assert "co-therapist" in client.get(page).get_data(as_text=True)
    post_form(client, add, {"user_id": lead.id, "role": "lead_therapist"}, token_from=page)
    post_form(client, add, {"user_id": co.id, "role": "co_therapist"}, token_from=page)
    assert post_form(client, add, {"user_id": co.id, "role": "teacher"},
                     token_from=page).status_code == 400
    # the whole-cohort group of a CFT cohort is its therapy group
    participant = gen_participant(study, arm="CFT", cohort=cohort)
    form = f"/research/cohorts/{cohort.id}/groups/form"
    assert post_form(client, form, {"small_size": ""}, token_from=page).status_code == 302
    group = db.session.scalar(select(Group).where(Group.cohort_id == cohort.id))
    assert group.kind == "therapy"
    assert _roles(group.id) == {lead.id: "leader", co.id: "assistant",
                                participant.user_id: "member"}


def test_participants_are_placed_in_the_cohort_from_its_page(app, as_user):
    study, researcher, cohort, people, no_account = _msc_course(3)
    client = as_user(researcher)
    page = f"/research/cohorts/{cohort.id}/people"
    html = client.get(page).get_data(as_text=True)
    assert all(p.code in html for p in people)
    assign = f"/research/cohorts/{cohort.id}/participants"
    other_study_person = gen_participant(gen_study(), arm="CFT", status="randomised")
    before = _count(AuditEntry)
    for bad in ({"participants": [str(other_study_person.id)]}, {"participants": ["0"]}, {}):
        assert post_form(client, assign, bad, token_from=page).status_code == 400, bad
    assert _count(AuditEntry) == before
    chosen = [str(p.id) for p in people[:2]] + [str(no_account.id)]
    assert post_form(client, assign, {"participants": chosen}, token_from=page).status_code == 302
    placed = set(db.session.scalars(select(Participant.id)
                                    .where(Participant.cohort_id == cohort.id)))
    assert placed == {people[0].id, people[1].id, no_account.id}
    assert people[2].code in client.get(page).get_data(as_text=True)


def test_groups_are_formed_balanced_led_and_adjusted_by_hand(app, as_user):
    study, researcher, cohort, people, no_account = _msc_course(10)
    teacher, lead_a, lead_b, coach = (gen_user("facilitator") for _ in range(4))
    client = as_user(researcher)
    page = f"/research/cohorts/{cohort.id}/people"
    add = f"/research/cohorts/{cohort.id}/facilitators"
    for user, role in ((teacher, "teacher"), (lead_a, "group_leader"), (lead_b, "group_leader"),
                       (coach, "assistant_coach")):
        post_form(client, add, {"user_id": user.id, "role": role}, token_from=page)
    post_form(client, f"/research/cohorts/{cohort.id}/participants",
              {"participants": [str(p.id) for p in people] + [str(no_account.id)]},
              token_from=page)

    form = f"/research/cohorts/{cohort.id}/groups/form"
    before = (_count(Group), _count(AuditEntry))
    for bad in ({"small_size": "1"}, {"small_size": "abc"}, {"small_size": "-4"}):
        assert post_form(client, form, bad, token_from=page).status_code == 400, bad
    assert (_count(Group), _count(AuditEntry)) == before
    response = post_form(client, form, {"small_size": "4"}, token_from=page,
                         follow_redirects=True)
    assert "1 participants have no account yet" in response.get_data(as_text=True)

    groups = db.session.scalars(select(Group).where(Group.cohort_id == cohort.id)
                                .order_by(Group.id)).all()
    large, smalls = groups[0], groups[1:]
    assert large.kind == "large" and [g.kind for g in smalls] == ["small"] * 3
    everyone = {p.user_id for p in people}
    assert _roles(large.id) == {**{u: "member" for u in everyone}, teacher.id: "leader",
                                lead_a.id: "assistant", lead_b.id: "assistant",
                                coach.id: "assistant"}
    roles = [_roles(g.id) for g in smalls]
    sizes = [Counter(r.values())["member"] for r in roles]
    assert sorted(sizes) == [3, 3, 4]
    assert set().union(*({u for u, r in rs.items() if r == "member"} for rs in roles)) == everyone
    assert [[u for u, r in rs.items() if r == "leader"] for rs in roles] == [
        [lead_a.id], [lead_b.id], [lead_a.id]]
    assert coach.id in roles[0] and roles[0][coach.id] == "assistant"
    # small groups are formed once: asking again (a second click) is told so, and changes nothing
    entries = _count(AuditEntry)
    again = post_form(client, form, {"small_size": "4"}, token_from=page, follow_redirects=True)
    assert "has its small groups already; move people by hand" in again.get_data(as_text=True)
    assert (_count(Group), _count(AuditEntry)) == (4, entries)

    # move a participant from small group 1 to small group 2
    mover = next(u for u, r in roles[0].items() if r == "member")
    move = f"/research/groups/{smalls[0].id}/move"
    bad_moves = ({"user_id": lead_a.id, "to_group": smalls[1].id},  # a leader, not a member
                 {"user_id": mover, "to_group": large.id},  # not a small group
                 {"user_id": mover, "to_group": smalls[0].id})
    for bad in bad_moves:
        assert post_form(client, move, bad, token_from=page).status_code == 400, bad
    assert post_form(client, move, {"user_id": mover, "to_group": smalls[1].id},
                     token_from=page).status_code == 302
    assert mover not in _roles(smalls[0].id) and _roles(smalls[1].id)[mover] == "member"

    # lead_b takes small group 1 from lead_a: they swap (lead_a now leads group 2)
    leader = f"/research/groups/{smalls[0].id}/leader"
    assert post_form(client, leader, {"leader": str(people[0].user_id)},
                     token_from=page).status_code == 400  # not a facilitator
    response = post_form(client, leader, {"leader": lead_b.id}, token_from=page)
    assert response.status_code == 302
    assert _roles(smalls[0].id)[lead_b.id] == "leader" and lead_a.id not in _roles(smalls[0].id)
    assert _roles(smalls[1].id)[lead_a.id] == "leader" and lead_b.id not in _roles(smalls[1].id)
    # the teacher takes group 3: lead_a steps down there
    assert post_form(client, f"/research/groups/{smalls[2].id}/leader",
                     {"leader": teacher.id}, token_from=page).status_code == 302
    assert [u for u, r in _roles(smalls[2].id).items() if r == "leader"] == [teacher.id]
    actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"cohort.groups_formed", "group.member_moved", "group.leader_changed"} <= set(actions)

    html = client.get(page).get_data(as_text=True)
    assert "Small group 3" in html and teacher.display_name in html


def test_another_studys_cohort_and_groups_are_not_found(app, as_user):
    _study, _researcher, cohort, _people, _ = _msc_course(1)
    outsider = gen_user("researcher")
    gen_staff(gen_study(), outsider)
    client = as_user(outsider)
    assert client.get(f"/research/cohorts/{cohort.id}/people").status_code == 404
    assert client.get("/research/cohorts/999999999999/people").status_code == 404
