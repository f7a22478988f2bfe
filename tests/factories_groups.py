"""A small world for group tests: one study with two groups, their leaders, members, outsiders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from models import Group, Post, User, db, utcnow
from program.courses import markdown
from tests.factories import gen_cohort, gen_group, gen_participant, gen_staff, gen_study, gen_user


@dataclass
class World:
    study: object
    cohort: object
    group: Group  #: the group under test
    other_group: Group  #: a group of another cohort in another study
    leader: User
    assistant: User
    member: User  #: a participant in ``group``
    member2: User
    clinician: User  #: the study's clinician, in no group
    other_leader: User  #: leads ``other_group`` only
    other_member: User  #: a participant in ``other_group`` only
    researcher: User  #: in no group
    admin: User
    rater: User


def gen_world(kind: str = "small", program: str = "msc") -> World:
    design = "rct" if program == "cft" else "single_arm"
    study = gen_study(design=design, program=program)
    cohort = gen_cohort(study)
    leader, assistant = gen_user("facilitator"), gen_user("facilitator")
    member, member2 = gen_user("participant"), gen_user("participant")
    for user in (member, member2):
        gen_participant(study, cohort=cohort, user=user)
    group = gen_group(cohort, kind=kind, members=[member, member2], leaders=[leader],
                      assistants=[assistant])
    clinician = gen_user("facilitator")
    gen_staff(study, clinician, clinician=True)

    other_study = gen_study(design=design, program=program)
    other_cohort = gen_cohort(other_study)
    other_leader, other_member = gen_user("facilitator"), gen_user("participant")
    gen_participant(other_study, cohort=other_cohort, user=other_member)
    other_group = gen_group(other_cohort, kind=kind, members=[other_member],
                            leaders=[other_leader])
    return World(study=study, cohort=cohort, group=group, other_group=other_group,
                 leader=leader, assistant=assistant, member=member, member2=member2,
                 clinician=clinician, other_leader=other_leader, other_member=other_member,
                 researcher=gen_user("researcher"), admin=gen_user("admin"),
                 rater=gen_user("rater"))


def gen_post(group: Group, author: User | None, body: str = "A post", *, parent: Post | None = None,
             minutes_ago: float = 0, **fields) -> Post:
    """A post stored directly (no screening, no notifications), for setting the scene."""
    post = Post(group_id=group.id, author_id=author.id if author else None,
                parent_id=parent.id if parent else None, body=body,
                body_html=markdown.render(body),
                created_at=fields.pop("created_at", utcnow() - timedelta(minutes=minutes_ago)),
                **fields)
    db.session.add(post)
    db.session.commit()
    return post
