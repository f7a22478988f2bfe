"""Factories for trial operations: studies with eligibility rules and people applying."""

from __future__ import annotations

import itertools

from models import Participant, Study, db
from program.trial.eligibility import CFT_ELIGIBILITY
from tests.factories import gen_study, gen_user

_seq = itertools.count(1)

#: screening answers that pass every CFT rule
ELIGIBLE = {"age": 40, "bdi_ii": 31, "diagnosis": True, "ssri_failures": 2, "psychosis": False,
            "suicidality": False, "organic": False, "substance": False, "antisocial": False,
            "other_severe": False}


def gen_trial(method: str = "blocks", **settings) -> Study:
    """A CFT-style RCT with the brief's eligibility rules and a recorded seed."""
    return gen_study(
        "rct", "cft", eligibility_rules=CFT_ELIGIBILITY, consent_version="v1.0",
        randomisation_method=method,
        randomisation_settings={"seed": 4242, "list_length": 60, **settings})


def gen_applicant(study: Study, *, with_account: bool = True, **fields) -> Participant:
    """A person who applied: no arm, no screening yet."""
    user = gen_user("participant") if with_account else None
    participant = Participant(study_id=study.id, code=f"A-{next(_seq):04d}",
                              user_id=user.id if user else None, status="applied", **fields)
    db.session.add(participant)
    db.session.commit()
    return participant
