"""`[districts]` and `[people]`: the district registry's additions and recipients, manual join/split of people."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from intensive_tracker.config.base import EMAIL, Section
from intensive_tracker.i18n import _


class DistrictExtra(Section):
    """A district or group the shipped registry lacks, or a correction of a shipped one."""

    name: str = Field(min_length=1)
    kind: Literal["territorial", "group"] | None = None
    aliases: list[str] = Field(default_factory=list)
    merged_into: str | None = None
    merged_on: date | None = None
    full_name: str | None = None


class DistrictSettings(Section):
    """`[districts]`: aliases and districts added to the shipped registry, and each district's recipients."""

    aliases: dict[str, str] = Field(default_factory=dict, description="spelling = canonical name")
    extra: list[DistrictExtra] = Field(default_factory=list)
    recipients: dict[str, list[str]] = Field(default_factory=dict, description="canonical name = [emails]")

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for district, emails in value.items():
            bad = [e for e in emails if not EMAIL.fullmatch(e)]
            if bad or not emails:
                raise ValueError(
                    _(
                        "«{district}»: нужен список адресов e-mail (неверные: {bad})",
                        district=district,
                        bad=", ".join(bad) or _("пустой список"),
                    )
                )
        return value


class JoinOverride(Section):
    """These accounts are one person: `accounts` as "source:external id", `emails` match account e-mails."""

    accounts: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _two_or_more(self) -> JoinOverride:
        if len(self.accounts) + len(self.emails) < 2:
            raise ValueError(_("в join нужно не меньше двух учётных записей или адресов e-mail"))
        if any(":" not in a for a in self.accounts):
            raise ValueError(_('учётные записи пишутся "источник:внешний id", например "moodle:1203"'))
        return self


class SplitOverride(Section):
    """This account is a person of its own, whatever e-mail it shares."""

    account: str = Field(pattern=r"^[^:]+:.+$", description='"source:external id", e.g. "moodle:1203"')
    note: str = ""


class PeopleSettings(Section):
    """`[people]`: manual join/split of the automatic one-person-one-record linking."""

    join: list[JoinOverride] = Field(default_factory=list)
    split: list[SplitOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_contradiction(self) -> PeopleSettings:
        joined = {a for j in self.join for a in j.accounts}
        both = sorted(joined & {s.account for s in self.split})
        if both:
            raise ValueError(
                _("{accounts}: учётная запись не может быть одновременно в join и в split", accounts=", ".join(both))
            )
        return self
