"""The warnings the analysis writes into its reports, each with a stable code.

Reports carry warnings as English text (``"warning": "arm UC has no scores at post"``, several
joined by ``"; "``), as the data contract and ``python -m analysis`` always have. Every such
text is made here from a template named by a code, so a reader of the report (the web pages,
which show it in the researcher's language) can recover the code and its values with
:func:`parse` without the analysis knowing about languages.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["NOTES", "note", "parse"]

#: code -> English template (``str.format`` fields); codes are stable, texts may be reworded
NOTES: dict[str, str] = {
    "not_estimable": "not estimable",
    "arm_no_scores": "arm {arm} has no scores at {timepoint}",
    "constant_in_arm": "scores are constant at {timepoint} in arm {arm} (SD 0)",
    "single_observation": ("{n} participant(s) have a score at one timepoint only"
                           " (kept: all available observations are analysed)"),
    "constant_scores": "scores are constant: no variance to model",
    "too_few_observations": "too few observations for the model",
    "no_repeated_observation": ("no participant has more than one observation: the random"
                                " intercept cannot be separated from the residual"),
    "zero_residual": ("the residual variance is estimated as 0 (every participant's change is"
                      " identical): effects cannot be tested"),
    "singular_hessian": "the variance parameters' Hessian is singular: df not available",
    "boundary_fit": "boundary (singular) fit: the participant variance is estimated as 0",
    "boundary_term": "boundary (singular) fit: the {term} variance is estimated as 0",
    "d_clustered": ("d = 2t/sqrt(df) is inflated here: with a therapy-group term the df fall"
                    " to about the number of groups (reported for comparison with"
                    " lme.dscore)"),
    "unstructured_constant": ("the unstructured covariance cannot be estimated: scores are"
                              " constant (or single) at {timepoints}"),
    "unstructured_not_converged": "the unstructured covariance model did not converge",
    "unstructured_singular_hessian": ("the unstructured covariance model did not converge"
                                      " (singular Hessian)"),
    "fixed_not_estimable": "the fixed effects are not estimable (singular X' V^-1 X)",
    "unstructured_not_evaluable": ("the unstructured covariance model cannot be evaluated on"
                                   " these data"),
    "unstructured_singular": ("the unstructured covariance cannot be estimated: the REML"
                              " criterion keeps improving as the covariance across timepoints"
                              " becomes singular (too few participants with scores at several"
                              " timepoints)"),
    "aliased": "{term} is not estimable from these data (aliased)",
    "reference_arm_ignored": "reference arm {arm} ignored: this is a single-arm study",
    "measures_left_out": ("measures without scores at every timepoint were left out (listed"
                          " under measures_left_out)"),
    "no_attendance": "no attendance records",
    "logit_failed": "logistic regression failed",
    "separation": "odds ratio not estimable (perfect separation)",
    "logit_not_converged": "logistic regression did not converge",
    "group_too_small": "too few participants in a group",
    "due_unknown": ("{n} participant(s) still active count as due at every timepoint (no 'due'"
                    " column says which questionnaires have been sent)"),
    "rc_left_out": "{n} participant(s) without both {pre} and {post} scores left out",
    "rc_cutoff_fallback": "cutoff {kind} needs the normative mean and SD: cutoff a used instead",
    "rc_not_computable": ("reliable change cannot be computed: need at least two participants"
                          " with both timepoints and a baseline SD above 0"),
}


def note(code: str, **values: object) -> str:
    """The English text of a warning."""
    return NOTES[code].format(**values)


@cache
def _pattern(code: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", NOTES[code])
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                    for i, p in enumerate(parts))
    return re.compile(regex + r"\Z", re.S)


def _one(text: str) -> tuple[str, dict[str, str]] | None:
    for code in NOTES:
        found = _pattern(code).match(text)
        if found:
            return code, found.groupdict()
    return None


def parse(text: str | None) -> list[tuple[str | None, dict[str, str] | str]]:
    """A report's warning text as ``[(code, values), ...]``; text no template made (a report
    written by an older version) comes back as ``(None, text)``."""
    out: list = []
    pieces = (text or "").split("; ") if text else []
    i = 0
    while i < len(pieces):
        # a value may itself hold "; ": join pieces until a template matches
        for j in range(i + 1, len(pieces) + 1):
            found = _one("; ".join(pieces[i:j]))
            if found:
                out.append(found)
                i = j
                break
        else:
            out.append((None, pieces[i]))
            i += 1
    return out
