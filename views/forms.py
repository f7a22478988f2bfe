"""Form pieces every area uses: checkbox groups, choice lists and plausible dates."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, Select

FIRST_YEAR, LAST_YEAR = 1900, 2200


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (easier on a phone than a multi-select list)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __iter__(self):
        # The options share the field's validators; a required group must not make the
        # browser demand every box (the server checks that at least one is ticked).
        for option in super().__iter__():
            option.flags.required = False
            yield option

class ManyOptionsSelect(Select):
    """wtforms' select, each plain option written in one step: the same HTML as
    ``Select.render_option`` (attributes in name order), a tenth of the time. A 2,000-person
    cohort's people page renders thousands of options."""

    @classmethod
    def render_option(cls, choice: SelectChoice, **kwargs) -> Markup:
        if kwargs or choice.render_kw or not isinstance(choice.value, int | str) or isinstance(
                choice.value, bool):
            return super().render_option(choice, **kwargs)
        selected = " selected" if choice.selected else ""
        return Markup(f'<option{selected} value="{escape(choice.value)}">'
                      f"{escape(choice.label or choice.value)}</option>")


class LongSelectField(SelectField):
    """A select with many options (participants of a cohort, its groups)."""

    widget = ManyOptionsSelect()


#: the interface languages, each named in itself (an invitation's language, a setting)
LANGUAGES = [("en", "English"), ("ja", "日本語"), ("zh", "简体中文")]


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Choices for a select or checkbox field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def values(field) -> set:
    """The values a field offers (to check a submitted value against them)."""
    return {choice.value for choice in field.choices}


def plausible_date(_form, field) -> None:
    """A date or date-time between 1900 and 2200 (year 1 cannot be moved between time zones,
    and no Hearth date is that far off)."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_l("Enter a date between %(first)d and %(last)d.",
                                 first=FIRST_YEAR, last=LAST_YEAR))


#: countries listed first: those Hearth ships crisis contacts for
FIRST_COUNTRIES = ("JP", "CN", "GB", "US")
#: two-letter territory codes that are not countries (unions, pseudo-locales, "unknown")
NOT_COUNTRIES = frozenset({"ZZ", "EU", "UN", "EZ", "QO", "XA", "XB"})


def country_choices(locale: str, *, blank: object = None) -> list[SelectChoice]:
    """ISO 3166 countries named in ``locale`` (shipped-contact countries first, then by name),
    "ZZ" (another country) last; ``blank`` adds an empty first choice with that label."""
    from babel import Locale

    names = {code: name for code, name in Locale.parse(locale).territories.items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES}
    rest = sorted((c for c in names if c not in FIRST_COUNTRIES), key=lambda c: names[c])
    pairs = [(c, names[c]) for c in (*FIRST_COUNTRIES, *rest)]
    pairs.append(("ZZ", _l("Another country (generic contacts)")))
    return options(([("", blank)] if blank is not None else []) + pairs)
