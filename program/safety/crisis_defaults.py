"""The crisis contacts Hearth ships, by country: a study confirms them (or enters its own).

Names are the service's own name in the country's language, with the name a reader of
another language is shown (the local name stays in brackets, so they can ask for it).
"ZZ" is the generic set shown to cohorts in a country without contacts of its own.
Checked by the study team before a study opens (the set-up checklist asks for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

OTHER_COUNTRY = "ZZ"


@dataclass(frozen=True)
class DefaultContact:
    kind: str
    number: str
    #: locale -> name; the country's own language first ('' for emergency services)
    names: dict[str, str] = field(default_factory=dict)
    always_open: bool = False
    opens_at: time | None = None
    closes_at: time | None = None
    languages: str = ""
    free: bool | None = None

    @property
    def local_name(self) -> str:
        return next(iter(self.names.values()), "")


def _names(local: str, **others: str) -> dict[str, str]:
    return {"local": local, **others}


_YORISOI = _names("よりそいホットライン", en="Yorisoi Hotline (よりそいホットライン)",
                  zh="陪伴热线（よりそいホットライン）")
_INOCHI = _names("いのちの電話", en="Inochi no Denwa, Japan's lifeline (いのちの電話)",
                 zh="生命热线（いのちの電話）")
_KOKORO = _names("こころの健康相談統一ダイヤル",
                 en="National mental health counselling line (こころの健康相談統一ダイヤル)",
                 zh="心理健康咨询统一热线（こころの健康相談統一ダイヤル）")
_CN_LINE = _names("全国心理援助热线",
                  en="National psychological assistance line (全国心理援助热线)",
                  ja="全国心理援助ホットライン（全国心理援助热线）")
_BEIJING = _names("北京心理危机研究与干预中心热线",
                  en="Beijing Psychological Crisis Research and Intervention Centre "
                     "(北京心理危机研究与干预中心)",
                  ja="北京心理危機研究・介入センター相談電話（北京心理危机研究与干预中心）")

DEFAULTS: dict[str, tuple[DefaultContact, ...]] = {
    "JP": (
        DefaultContact("ambulance", "119", always_open=True, languages="ja", free=True),
        DefaultContact("police", "110", always_open=True, languages="ja", free=True),
        DefaultContact("crisis_line", "0120-279-338", _YORISOI, always_open=True,
                       languages="ja", free=True),
        DefaultContact("crisis_line", "0120-783-556", _INOCHI, opens_at=time(16),
                       closes_at=time(21), languages="ja", free=True),
        DefaultContact("mental_health_line", "0570-064-556", _KOKORO, languages="ja",
                       free=False),
    ),
    "CN": (
        DefaultContact("ambulance", "120", always_open=True, languages="zh", free=True),
        DefaultContact("police", "110", always_open=True, languages="zh", free=True),
        DefaultContact("mental_health_line", "12356", _CN_LINE, languages="zh"),
        DefaultContact("crisis_line", "010-82951332", _BEIJING, always_open=True,
                       languages="zh", free=False),
    ),
    "GB": (
        DefaultContact("emergency", "999", always_open=True, languages="en", free=True),
        DefaultContact("crisis_line", "116 123", _names("Samaritans"), always_open=True,
                       languages="en", free=True),
        DefaultContact("mental_health_line", "111", _names("NHS 111 (option 2)"),
                       always_open=True, languages="en", free=True),
    ),
    "US": (
        DefaultContact("emergency", "911", always_open=True, languages="en", free=True),
        DefaultContact("crisis_line", "988", _names("988 Suicide & Crisis Lifeline"),
                       always_open=True, languages="en,es", free=True),
    ),
    OTHER_COUNTRY: (
        DefaultContact("emergency", "112", always_open=True, free=True),
    ),
}


def defaults_of(country: str) -> tuple[DefaultContact, ...]:
    """The shipped contacts of ``country`` (empty when Hearth ships none for it)."""
    return DEFAULTS.get(country, ())


def shipped_name(country: str, number: str, name: str, locale: str) -> str:
    """``name`` in ``locale`` when it is a shipped contact's local name with a translation."""
    for contact in defaults_of(country):
        if contact.number == number and contact.local_name == name:
            return contact.names.get(locale, name)
    return name
