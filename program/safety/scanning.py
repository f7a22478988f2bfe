"""Screening free text for self-harm and suicide risk: posts, practice notes, questionnaire
comments all go through ``scan_for_risk``.

The detector (:mod:`program.safety.detector`, patterns in ``risk_patterns/<language>.yaml``)
finds each risk statement's family and level; a finding keeps only those, never the text, so
an alert, its audit entry and its emails can say what kind of statement it was and how
pressing, and nothing of what was written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from program.safety.detector import detect


@dataclass(frozen=True)
class RiskFinding:
    """What the screening found: the highest level and the families, most pressing first."""

    level: str
    families: tuple[str, ...]

    @property
    def urgent(self) -> bool:
        return self.level == "urgent"

    @property
    def rule(self) -> str:
        """The alert's rule, e.g. ``risk:urgent:plan_preparation,self_harm``."""
        return f"risk:{self.level}:{','.join(self.families)}"[:120]


def scan_for_risk(text: str | None, languages: Iterable[str] | None = None
                  ) -> RiskFinding | None:
    """The risk statements in ``text`` as a finding, or None when there are none.

    Parameters
    ----------
    text
        Free text as written: a post, a practice-log note, a questionnaire comment.
    languages
        Pattern files to use; all shipped languages when None (people often write in more
        than one language, so a group's language is not a safe filter).
    """
    matches = detect(text, tuple(languages) if languages else None)
    if not matches:
        return None
    level = "urgent" if any(m.urgent for m in matches) else "concern"
    return RiskFinding(level, tuple(m.family for m in matches))
