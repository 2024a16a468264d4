"""A Moodle world in memory: courses, users, attendance and grades, as the stand-in serves them.

`generate_demo_world` builds the lab's 2021–2024 history deterministically so that it agrees with
the 2023/24 annual report (shared/PRODUCT.md «Reference numbers»). The report computes those
figures back from the records the connector stores; nothing here is read by the report.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from intensive_tracker.people.districts import load_registry
from intensive_tracker.text import transliterate

MSK = ZoneInfo("Europe/Moscow")
RU_STATUSES = [("П", "Присутствовал", 2), ("О", "Опоздал", 1), ("У", "Уважительная причина", 1), ("Н", "Не был", 0)]


@dataclass
class User:
    id: int
    username: str
    lastname: str
    firstname: str
    middlename: str
    email: str
    district: str | None
    school: str
    position: str
    category: str
    suspended: bool = False

    @property
    def fullname(self) -> str:
        return f"{self.lastname} {self.firstname} {self.middlename}"


@dataclass
class Status:
    id: int
    acronym: str
    description: str
    grade: int


@dataclass
class AttSession:
    id: int
    sessdate: int
    duration: int
    description: str
    log: dict[int, int] = field(default_factory=dict)  # user id → status id
    groupid: int = 0
    taken: bool = True


@dataclass
class Attendance:
    id: int  # instance id
    cmid: int
    name: str
    statuses: list[Status]
    sessions: list[AttSession] = field(default_factory=list)


@dataclass
class GradeRow:
    userid: int
    grade: float  # -1 = record without a grade
    timemodified: int
    attemptnumber: int = 0


@dataclass
class SubmissionRow:
    userid: int
    status: str  # submitted | new
    timemodified: int
    attemptnumber: int = 0


@dataclass
class Assignment:
    id: int
    cmid: int
    name: str
    grade: int
    grades: list[GradeRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)


@dataclass
class Course:
    id: int
    shortname: str
    fullname: str
    category: str
    startdate: int
    enddate: int
    students: list[int] = field(default_factory=list)
    suspended_enrolments: set[int] = field(default_factory=set)
    teachers: list[int] = field(default_factory=list)
    groups: dict[int, str] = field(default_factory=dict)
    user_groups: dict[int, int] = field(default_factory=dict)
    attendances: list[Attendance] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)


@dataclass
class World:
    sitename: str
    users: dict[int, User]
    courses: list[Course]

    def course(self, course_id: int) -> Course | None:
        return next((c for c in self.courses if c.id == course_id), None)

    @property
    def attendance_marks(self) -> int:
        return sum(len(s.log) for c in self.courses for a in c.attendances for s in a.sessions)


def unix(day: str, hour: int, minute: int = 0) -> int:
    """"20.09.2023", 15 → Unix seconds of that Moscow time."""
    d = datetime.strptime(day, "%d.%m.%Y").replace(hour=hour, minute=minute, tzinfo=MSK)
    return int(d.timestamp())


# --- the demo -------------------------------------------------------------------------------------

KU_TITLE = "Конструирование современного урока: от идеи к результату"
SHN_TITLE = "Школа наставничества"
KU_TOPICS = [
    "Основы конструирования современного урока. Как создать урок, который вдохновляет и эффективен?",
    "Методический конструктор урока: исследовательский подход к проектированию образовательных задач",
    "Формирование универсальных учебных действий как механизм развития ключевых компетенций обучающихся",
    "Методическая разработка урока: разработка структуры и последовательности урока, ориентированных на результат",
    "Методические разборы: анализ фрагментов уроков с целью выявления лучших практик и возможностей для совершенствования",
    "Аспектный анализ урока: глубокая диагностика и оценка эффективности учебного материала и методов обучения",
]
# (shortname, session days "dd.mm.yyyy" with hour, present counts or None for generated, passed, failed, pending)
KU_LAUNCHES = [
    ("KU-2021-H2", ["20.01.2021", "27.01.2021", "17.02.2021", "24.02.2021", "17.03.2021", "24.03.2021"], None, 14, 3, 2, "15.05.2021"),
    ("KU-2021-H1", ["22.09.2021", "06.10.2021", "20.10.2021", "10.11.2021", "24.11.2021", "08.12.2021"], None, 20, 4, 2, "17.12.2021"),
    ("KU-2022-H2", ["19.01.2022", "02.02.2022", "16.02.2022", "02.03.2022", "16.03.2022", "30.03.2022"], None, 35, 5, 3, "18.05.2022"),
    ("KU-2022-H1", ["21.09.2022", "05.10.2022", "19.10.2022", "09.11.2022", "23.11.2022", "07.12.2022"], None, 40, 6, 4, "16.12.2022"),
    ("KU-2023-H2", ["18.01.2023", "01.02.2023", "15.02.2023", "01.03.2023", "15.03.2023", "29.03.2023"], None, 130, 9, 6, "17.05.2023"),
    ("KU-2023-H1", ["20.09.2023", "23.09.2023", "11.10.2023", "18.10.2023", "15.11.2023", "25.11.2023"],
     [355, 116, 226, 113, 159, 101], 156, 12, 26, "15.12.2023"),
    ("KU-2024-H2", ["24.01.2024", "31.01.2024", "21.02.2024", "28.02.2024", "20.03.2024", "27.03.2024"],
     [288, 83, 140, 211, 106, 52], 160, 11, 9, "15.05.2024"),
]
SHN_SESSIONS_2023 = [
    ("08.11.2023", "Организация реверсивного наставничества в Подмосковье.", "Карпеева И.В.", 99),
    ("17.11.2023", "Региональный Фестиваль педагогического мастерства «Опыт лучших – молодым» 2023",
     "Бородина Е.П., Карпеева И.В.", 167),
    ("06.12.2023", "Эффективные практики совместной работы педагогов: взаимопосещение уроков", "Карпеева И.В.", 72),
    ("07.02.2024", "Система (целевая модель) наставничества: структурные компоненты и условия, необходимые для "
     "реализации наставнической деятельности педагогических работников. Итоги мониторинга 2023 года", "Карпеева И.В.", 137),
    ("06.03.2024", "Особенности обучения взрослых людей: самостоятельность и автономия; накопленный жизненный и "
     "профессиональный опыт; ценность обучения; ориентация на проблемы", "Карпеева И.В.", 75),
    ("03.04.2024", "Актуальные формы методического сопровождения педагогов: коллегиальное наблюдение и рефлексия; "
     "исследовательское сообщество; совместное планирование и обратная связь; профессиональные сообщества; "
     "виртуальное обучение и обмен опытом", "Карпеева И.В.", 51),
    ("02.05.2024", "Проектирование ИОМ: обсуждение кейсов. Рекомендации: соответствие образовательных задач "
     "обозначенным профессиональным дефицитам; конкретность формулировок образовательных задач; возможность "
     "изменения деятельности/практики педагога через реализацию ИОМ", "Карпеева И.В.", 196),
    ("05.06.2024", "Лучшие региональные практики наставничества: по итогам всероссийского конкурса «Лучшие практики "
     "наставничества. 2023». Описание практики наставничества: история успеха или формула успеха?", "Карпеева И.В.", 137),
]
SHN_SESSIONS_2022 = [
    ("16.11.2022", "Наставничество в образовательной организации: роли и функции наставника", "Карпеева И.В.", None),
    ("14.12.2022", "Персонализированная программа наставничества: от дефицитов к результатам", "Карпеева И.В.", None),
    ("15.02.2023", "Формы наставничества «учитель – учитель»: практики Подмосковья", "Бородина Е.П.", None),
    ("19.04.2023", "Оценка эффективности программы наставничества", "Карпеева И.В.", None),
]
# 2023/24 reached 39 of the region's districts; these are the ones the generator leaves out.
ABSENT_2023_24 = [
    "Бронницы", "Власиха", "Восход", "Дзержинский", "Долгопрудный", "Егорьевск", "Истра", "Клин", "Красногорск",
    "Лосино-Петровский", "Лотошино", "Луховицы", "Лыткарино", "Молодежный", "Протвино", "Реутов", "Рузский",
    "Ступино", "Фрязино", "Химки", "Электросталь",
]
_LAST = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
         "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
         "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев",
         "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв"]
_FIRST_F = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана", "Екатерина", "Юлия",
            "Дарья", "Алина", "Виктория", "Ксения", "Полина", "Анастасия", "Евгения", "Людмила", "Надежда", "Вера"]
_FIRST_M = ["Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Максим", "Иван", "Артём", "Михаил", "Никита"]
_MIDDLE_F = ["Александровна", "Сергеевна", "Андреевна", "Дмитриевна", "Игоревна", "Викторовна", "Николаевна",
             "Павловна", "Юрьевна", "Олеговна"]
_MIDDLE_M = ["Александрович", "Сергеевич", "Андреевич", "Дмитриевич", "Игоревич", "Викторович", "Николаевич"]
_POSITIONS = ["учитель начальных классов", "учитель математики", "учитель русского языка и литературы",
              "учитель английского языка", "учитель истории", "учитель биологии", "педагог-психолог",
              "учитель физики", "учитель информатики", "социальный педагог"]
_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "inbox.ru", "bk.ru", "rambler.ru", "ya.ru"]
def _messy(rng: random.Random, name: str) -> str:
    """A real-world spelling of a district name (PRODUCT.md: «г.о. Балашиха», «балашиха » …)."""
    forms = [f"г.о. {name}", f"{name} г.о.", f"го {name}", f"Городской округ {name}", f"{name.lower()} ",
             f"  {name}", f"Г.О. {name.upper()}", f"г.о.{name}", name.replace("ё", "е")]
    return rng.choice(forms)


class _People:
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
            spelling = _messy(rng, district) if rng.random() < 0.1 else district
        user = User(id=uid, username=f"{transliterate(last)}_{transliterate(first[0])}{transliterate(middle[0])}{uid}", lastname=last,
                    firstname=first, middlename=middle, email=email, district=spelling,
                    school=f"МБОУ СОШ № {rng.randint(1, 40)}" + (f" г.о. {district}" if district and rng.random() < 0.3 else ""),
                    position=rng.choice(_POSITIONS), category=category)
        self.users[uid] = user
        return user

    def pick_district(self, allowed: list[str]) -> str:
        return self.rng.choices(allowed, weights=[self.weights[d] for d in allowed])[0]


class _Ids:
    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def next(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]


def generate_demo_world(seed: int = 2024) -> World:
    """The lab's history 2021–2024, deterministic for a seed."""
    rng = random.Random(seed)
    registry = load_registry()
    everywhere = registry.territorial(on=datetime(2021, 1, 1).date())
    reached = [d for d in registry.territorial(on=datetime(2023, 9, 1).date()) if d not in ABSENT_2023_24]
    people = _People(rng, everywhere)
    ids = _Ids()
    courses: list[Course] = []
    teachers = [people.new(None, category="методист"), people.new(None, category="методист")]
    previous_pool: list[int] = []
    passed_before: set[int] = set()  # nobody defends twice: each passed defense is another teacher
    for shortname, days, counts, passed, failed, pending, defense_day in KU_LAUNCHES:
        recent = shortname in ("KU-2023-H1", "KU-2024-H2")
        allowed = reached if recent else everywhere
        sizes = counts or [rng.randint(int(passed * 1.6) + 20, int(passed * 2.4) + 60) for _ in days]
        pool_size = max(sizes) + max(60, int(sum(sizes) * 0.25))
        pool = _pool(rng, people, allowed, pool_size, previous_pool, every_district=recent)
        previous_pool = pool
        course = _course(ids, shortname, KU_TITLE, "Лаборатория молодых специалистов и их наставников", days,
                         [t.id for t in teachers])
        attendance = _attendance(ids, rng, "Журнал посещаемости")
        for i, (day, size) in enumerate(zip(days, sizes)):
            hour = 10 if datetime.strptime(day, "%d.%m.%Y").weekday() == 5 else 15
            sess = AttSession(id=ids.next("session"), sessdate=unix(day, hour), duration=7200,
                              description=f'<p dir="ltr" style="text-align: left;">{KU_TOPICS[i % len(KU_TOPICS)]}</p>')
            _mark(rng, sess, attendance, pool, size)
            attendance.sessions.append(sess)
        if recent:
            _cover_districts(rng, people, attendance, pool, reached)
        course.attendances.append(attendance)
        attendees = sorted({u for s in attendance.sessions for u, st in s.log.items()
                            if attendance.statuses[0].id == st or attendance.statuses[1].id == st})
        candidates = [u for u in attendees if u not in passed_before]
        assignment = _defenses(ids, rng, people, candidates, passed, failed, pending, defense_day,
                               need_districts=reached if recent else None)
        passed_before |= {g.userid for g in assignment.grades if g.grade >= 6}
        course.assignments.append(assignment)
        _enrol(rng, course, pool)
        courses.append(course)
        if shortname == "KU-2024-H2":
            _duplicate_accounts(rng, people, course, previous=courses[-2], count=3)

    for shortname, sessions, start in (("SHN-2022-23", SHN_SESSIONS_2022, "01.09.2022"),
                                       ("SHN-2023-24", SHN_SESSIONS_2023, "01.09.2023")):
        sizes = [size or rng.randint(50, 140) for *_, size in sessions]
        pool = _pool(rng, people, everywhere, max(sizes) + 90, [], category="наставник")
        course = _course(ids, shortname, SHN_TITLE, "Школа наставничества", [start] + [s[0] for s in sessions],
                         [t.id for t in teachers])
        attendance = _attendance(ids, rng, "Журнал посещаемости")
        for (day, topic, speaker, _), size in zip(sessions, sizes):
            sess = AttSession(id=ids.next("session"), sessdate=unix(day, 15), duration=5400,
                              description=f"<p>{topic}</p><p>Спикер: {speaker}</p>")
            _mark(rng, sess, attendance, pool, size)
            attendance.sessions.append(sess)
        course.attendances.append(attendance)
        _enrol(rng, course, pool)
        courses.append(course)

    # A session planned but not yet taken, in the current mentor-school course.
    shn = courses[-1]
    shn.attendances[0].sessions.append(AttSession(
        id=ids.next("session"), sessdate=unix("26.06.2024", 15), duration=5400,
        description="<p>Итоговая встреча: планы на 2024/25 учебный год</p><p>Спикер: Карпеева И.В.</p>", taken=False))
    return World(sitename="Региональный центр непрерывного повышения профессионального мастерства (демо)",
                 users=people.users, courses=courses)


def _pool(rng: random.Random, people: _People, allowed: list[str], size: int, previous: list[int],
          category: str = "молодой педагог", every_district: bool = False) -> list[int]:
    """A launch's enrolled people: some come back from the previous launch, most are new."""
    allowed_set = set(allowed)
    back = [u for u in previous if _district_of(people.users[u]) in allowed_set]
    rng.shuffle(back)
    pool = back[: size // 5]
    if every_district:
        pool += [people.new(d, category=category).id for d in allowed]
    while len(pool) < size:
        district = people.pick_district(allowed) if rng.random() > 0.01 else None
        pool.append(people.new(district, category=category if rng.random() < 0.8 else "наставник").id)
    return pool


_REGISTRY = load_registry()


def _district_of(user: User) -> str | None:
    return _REGISTRY.resolve(user.district).name if user.district else None


def _course(ids: _Ids, shortname: str, title: str, category: str, days: list[str], teachers: list[int]) -> Course:
    course_id = ids.next("course") + 1  # id 1 is the site course
    start, end = unix(days[0], 0), unix(days[-1], 23)
    course = Course(id=course_id, shortname=shortname, fullname=title, category=category, startdate=start,
                    enddate=end + 30 * 86400, teachers=list(teachers))
    for n in (1, 2):
        course.groups[ids.next("group")] = f"Поток {n}"
    return course


def _attendance(ids: _Ids, rng: random.Random, name: str) -> Attendance:
    instance = ids.next("attendance")
    statuses = [Status(id=ids.next("status"), acronym=a, description=d, grade=g) for a, d, g in RU_STATUSES]
    return Attendance(id=instance, cmid=ids.next("cm"), name=name, statuses=statuses)


def _mark(rng: random.Random, sess: AttSession, attendance: Attendance, pool: list[int], present: int) -> None:
    """`present` people marked П or О; some of the rest Н or У, the others left unmarked."""
    p, late, excused, absent = (s.id for s in attendance.statuses)
    chosen = rng.sample(pool, present)
    for uid in chosen:
        sess.log[uid] = late if rng.random() < 0.07 else p
    rest = [u for u in pool if u not in sess.log]
    mark_all = rng.random() < 0.5
    for uid in rest:
        if mark_all or rng.random() < 0.5:
            sess.log[uid] = excused if rng.random() < 0.03 else absent


def _cover_districts(rng: random.Random, people: _People, attendance: Attendance, pool: list[int],
                     districts: list[str]) -> None:
    """Swap present marks in the first session so that every district has an attendee (count unchanged)."""
    present_ids = {attendance.statuses[0].id, attendance.statuses[1].id}
    first = attendance.sessions[0]
    absent_status = attendance.statuses[3].id

    def attendees() -> set[int]:
        return {u for s in attendance.sessions for u, st in s.log.items() if st in present_ids}

    by_district: dict[str | None, list[int]] = {}
    for uid in sorted(attendees()):
        by_district.setdefault(_district_of(people.users[uid]), []).append(uid)
    for district in districts:
        if by_district.get(district):
            continue
        newcomer = next(u for u in pool if _district_of(people.users[u]) == district)
        donor_district = max(by_district, key=lambda d: len(by_district[d]) if d else -1)
        donor = next(u for u in by_district[donor_district] if first.log.get(u) in present_ids)
        first.log[newcomer] = first.log[donor]
        first.log[donor] = absent_status
        by_district.setdefault(district, []).append(newcomer)
        if not any(s.log.get(donor) in present_ids for s in attendance.sessions):
            by_district[donor_district].remove(donor)


def _enrol(rng: random.Random, course: Course, pool: list[int]) -> None:
    course.students = sorted(set(pool))
    for uid in course.students:
        course.user_groups[uid] = sorted(course.groups)[uid % 2]
    for uid in rng.sample(course.students, 2):
        course.suspended_enrolments.add(uid)


def _defenses(ids: _Ids, rng: random.Random, people: _People, attendees: list[int], passed: int, failed: int,
              pending: int, day: str, need_districts: list[str] | None) -> Assignment:
    assignment = Assignment(id=ids.next("assign"), cmid=ids.next("cm"), name="Защита методической разработки", grade=10)
    with_district = [u for u in attendees if _district_of(people.users[u])]
    chosen: list[int] = []
    if need_districts:
        # Every district the launch reached has at least one defender.
        for district in need_districts:
            local = [u for u in with_district if _district_of(people.users[u]) == district and u not in chosen]
            if local:
                chosen.append(rng.choice(local))
    rest = [u for u in with_district if u not in set(chosen)]
    rng.shuffle(rest)
    chosen += rest[: passed - len(chosen)]
    others = [u for u in attendees if u not in set(chosen)]
    rng.shuffle(others)
    failing, waiting = others[:failed], others[failed:failed + pending]
    base = unix(day, 12)
    for uid in chosen[:passed]:
        when = base + rng.randint(-5, 5) * 86400 + rng.randint(0, 20000)
        assignment.grades.append(GradeRow(uid, float(rng.randint(6, 10)), when))
        if rng.random() < 0.9:  # the rest defended live, without an online submission
            assignment.submissions.append(SubmissionRow(uid, "submitted", when - 3 * 86400))
        else:
            assignment.submissions.append(SubmissionRow(uid, "new", when - 3 * 86400))
    for uid in failing:
        when = base + rng.randint(-5, 5) * 86400
        assignment.grades.append(GradeRow(uid, float(rng.randint(2, 5)), when))
        assignment.submissions.append(SubmissionRow(uid, "submitted", when - 3 * 86400))
    for n, uid in enumerate(waiting):
        when = base + rng.randint(-5, 5) * 86400
        if n % 5 == 0:
            assignment.grades.append(GradeRow(uid, -1.0, when))
        assignment.submissions.append(SubmissionRow(uid, "submitted", when - 86400))
    return assignment


def _duplicate_accounts(rng: random.Random, people: _People, course: Course, previous: Course, count: int) -> None:
    """Some people come back under a second account whose e-mail differs only in case."""
    returning = [u for u in previous.students if u not in course.students and people.users[u].district]
    for uid in rng.sample(returning, count):
        old = people.users[uid]
        twin = people.new(None)
        twin.lastname, twin.firstname, twin.middlename = old.lastname, old.firstname, old.middlename
        twin.email = old.email[0].upper() + old.email[1:].upper().replace("@", "@", 1)
        twin.district = _messy(rng, _district_of(old) or "")
        twin.school, twin.position, twin.category = old.school, old.position, old.category
        course.students.append(twin.id)
        course.user_groups[twin.id] = sorted(course.groups)[0]
