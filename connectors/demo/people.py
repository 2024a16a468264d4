"""The demo world's people: plausible Russian names, e-mails, schools and messy district spellings."""

from __future__ import annotations

import random

from connectors.demo.world import User
from intensive_tracker.people.districts import load_registry
from intensive_tracker.text import transliterate

_LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
]
_FIRST_F = [
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Татьяна",
    "Светлана",
    "Екатерина",
    "Юлия",
    "Дарья",
    "Алина",
    "Виктория",
    "Ксения",
    "Полина",
    "Анастасия",
    "Евгения",
    "Людмила",
    "Надежда",
    "Вера",
]
_FIRST_M = ["Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Максим", "Иван", "Артём", "Михаил", "Никита"]
_MIDDLE_F = [
    "Александровна",
    "Сергеевна",
    "Андреевна",
    "Дмитриевна",
    "Игоревна",
    "Викторовна",
    "Николаевна",
    "Павловна",
    "Юрьевна",
    "Олеговна",
]
_MIDDLE_M = ["Александрович", "Сергеевич", "Андреевич", "Дмитриевич", "Игоревич", "Викторович", "Николаевич"]
_POSITIONS = [
    "учитель начальных классов",
    "учитель математики",
    "учитель русского языка и литературы",
    "учитель английского языка",
    "учитель истории",
    "учитель биологии",
    "педагог-психолог",
    "учитель физики",
    "учитель информатики",
    "социальный педагог",
]
_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "inbox.ru", "bk.ru", "rambler.ru", "ya.ru"]


def messy_spelling(rng: random.Random, name: str) -> str:
    """A real-world spelling of a district name (PRODUCT.md: «г.о. Балашиха», «балашиха » …)."""
    forms = [
        f"г.о. {name}",
        f"{name} г.о.",
        f"го {name}",
        f"Городской округ {name}",
        f"{name.lower()} ",
        f"  {name}",
        f"Г.О. {name.upper()}",
        f"г.о.{name}",
        name.replace("ё", "е"),
    ]
    return rng.choice(forms)


class People:
    """Hands out users district by district, each with a stable Moodle id."""

    def __init__(self, rng: random.Random, districts: list[str]) -> None:
        self.rng = rng
        self.users: dict[int, User] = {}
        self.next_id = 3
        self.weights = {d: 1 + (len(d) * 7919 % 9) for d in districts}
        self.emails: set[str] = set()

    def new(self, district: str | None, *, category: str = "молодой педагог") -> User:
        rng = self.rng
        female = rng.random() < 0.85
        last = rng.choice(_LAST) + ("а" if female else "")
        first = rng.choice(_FIRST_F if female else _FIRST_M)
        middle = rng.choice(_MIDDLE_F if female else _MIDDLE_M)
        uid = self.next_id
        self.next_id += 1
        base = f"{transliterate(last)}.{transliterate(first[0])}{transliterate(middle[0])}"
        email = f"{base}{uid}@{rng.choice(_DOMAINS)}"
        spelling = None
        if district is not None:
            spelling = messy_spelling(rng, district) if rng.random() < 0.1 else district
        user = User(
            id=uid,
            username=f"{transliterate(last)}_{transliterate(first[0])}{transliterate(middle[0])}{uid}",
            lastname=last,
            firstname=first,
            middlename=middle,
            email=email,
            district=spelling,
            school=f"МБОУ СОШ № {rng.randint(1, 40)}"
            + (f" г.о. {district}" if district and rng.random() < 0.3 else ""),
            position=rng.choice(_POSITIONS),
            category=category,
        )
        self.users[uid] = user
        return user

    def pick_district(self, allowed: list[str]) -> str:
        return self.rng.choices(allowed, weights=[self.weights[d] for d in allowed])[0]


_REGISTRY = load_registry()


def district_of(user: User) -> str | None:
    return _REGISTRY.resolve(user.district).name if user.district else None
