"""The words of the baseline characteristics page: each characteristic's name and its levels'
labels in the reader's language (the study's own definitions where set-up stored them)."""

from __future__ import annotations

from flask_babel import gettext as _

from models import Study
from program.trial.characteristics import definitions


def characteristic_words(study: Study) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(name by characteristic key, level label by key and stored code)."""
    names = {"gender": _("Gender"), "age": _("Age")}
    levels = {"gender": {"female": _("female"), "male": _("male"),
                         "other": _("other or non-binary")}}
    for item in definitions(study):
        key = item.get("key")
        if key and item.get("label"):
            names[key] = str(item["label"])
        if key and item.get("choices"):
            levels[key] = {str(code): str(label) for code, label in item["choices"]}
    return names, levels
