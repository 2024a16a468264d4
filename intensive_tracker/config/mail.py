"""`[mail]`: the SMTP server and the sender of the district e-mails (secrets only from the environment)."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator

from intensive_tracker.config.base import EMAIL, Section
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _


class MailSettings(Section):
    """[mail]: the SMTP server, the sender, and who receives each district's «участники-итоги»."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(None, ge=1, le=65535)  # default: 587 starttls, 465 ssl, 25 none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "INTENSIVE_TRACKER_SMTP_PASSWORD"
    timeout: float = Field(30.0, gt=0)
    from_address: str = Field(min_length=3)
    lab_address: str | None = None
    copy_to_lab: bool = True
    reply_to: str | None = None
    rate_per_minute: float = Field(20.0, gt=0)
    program: str | None = None
    period: str | None = Field(None, pattern=r"^\d{4}/\d{2}$")
    preview_dir: str = "out/mail-preview"

    @model_validator(mode="before")
    @classmethod
    def _no_password_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "recipients" in data:
            raise ValueError(_("получатели округов задаются в одном месте: перенесите их в [districts.recipients]"))
        if isinstance(data, dict) and "password" in data:
            env = data.get("password_env", "INTENSIVE_TRACKER_SMTP_PASSWORD")
            raise ValueError(_("пароля SMTP не должно быть в файле: задайте его в переменной окружения {env}", env=env))
        return data

    @model_validator(mode="after")
    def _addresses(self) -> MailSettings:
        for where, value in [
            ("from_address", self.from_address),
            ("lab_address", self.lab_address),
            ("reply_to", self.reply_to),
        ]:
            if value is not None and not EMAIL.fullmatch(value):
                raise ValueError(_("{key}: {value!r} — не адрес e-mail (имя@домен)", key=where, value=value))
        if self.username and self.security == "none":
            raise ValueError(
                _('security = "none" отправил бы пароль SMTP открытым текстом: используйте starttls или ssl')
            )
        return self

    @property
    def port(self) -> int:
        return self.smtp_port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]

    def password(self) -> str | None:
        """The SMTP password from the environment variable the config names (None without a username)."""
        if not self.username:
            return None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(
                _(
                    "mail.username задан, а пароль нет: export {env}=<пароль>",
                    env=self.password_env,
                )
            )
        return value
