"""Form pieces every area uses: checkbox groups and choice lists."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (easier on a phone than a multi-select list)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

#: the interface languages, each named in itself (an invitation's language, a setting)
LANGUAGES = [("en", "English"), ("ja", "日本語"), ("zh", "简体中文")]


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Choices for a select or checkbox field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def values(field) -> set:
    """The values a field offers (to check a submitted value against them)."""
    return {choice.value for choice in field.choices}
