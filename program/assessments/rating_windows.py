"""Raters are kept to assessment windows: a clinician rating for a timepoint is entered only
while that timepoint's window is open for the participant's cohort (a post-course rating cannot
be entered in week 5, nor a baseline rating after the course)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models import Participant, Timepoint
from program.assessments.questionnaires import window


@dataclass(frozen=True)
class RatingWindow:
    #: "open", "not_yet" (opens later), "closed" (closed already) or "unknown" (no cohort)
    state: str
    #: the window's first and last day on the cohort's calendar
    first_day: date | None = None
    last_day: date | None = None

    @property
    def open(self) -> bool:
        return self.state == "open"


def rating_window(participant: Participant, timepoint: Timepoint, now: datetime
                  ) -> RatingWindow:
    """Whether a rating of ``participant`` at ``timepoint`` may be entered at ``now``.

    The window is the timepoint's, counted from the participant's cohort start in the cohort's
    zone; without a cohort it is not known, and nothing may be entered.
    """
    cohort = participant.cohort
    if cohort is None:
        return RatingWindow("unknown")
    opens, closes = window(timepoint, cohort)
    first = cohort.start_date + timedelta(days=timepoint.opens_day)
    last = cohort.start_date + timedelta(days=timepoint.closes_day)
    state = "not_yet" if now < opens else "closed" if now >= closes else "open"
    return RatingWindow(state, first, last)
