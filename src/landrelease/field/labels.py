"""English and Ukrainian wording of the field forms: titles, questions, hints and codes.

Codes are keyed by the name of their enum in `landrelease.domain.codes` (the same code can
read differently in two lists: a mixed group of people is not a mixed age), or by the list
name for the few lists that are not domain codes. A code missing here still reaches the
forms, labelled from the code itself (`code_label`), until a translator adds it.
"""

from __future__ import annotations

from typing import NamedTuple


class Text(NamedTuple):
    """One piece of form wording in both languages."""

    en: str
    uk: str


ENGLISH = "English (en)"
UKRAINIAN = "Ukrainian (uk)"
LANGUAGES = (ENGLISH, UKRAINIAN)


FORM_TITLES: dict[str, Text] = {
    "nts_survey": Text("Non-technical survey", "Нетехнічне обстеження"),
    "eod_spot_task": Text("EOD spot task", "Точкове завдання зі знешкодження ВНП"),
    "clearance": Text(
        "Clearance and technical survey", "Очищення території та технічне обстеження"
    ),
    "accident": Text("Explosive ordnance accident", "Нещасний випадок, пов'язаний з ВНП"),
    "risk_education": Text(
        "Explosive ordnance risk education session", "Заняття з навчання ризикам від ВНП"
    ),
}

QUESTIONS: dict[str, Text] = {
    "organisation": Text("Organisation", "Організація"),
    "team": Text("Team", "Команда"),
    "area_ref": Text(
        "Registry reference of the hazardous area", "Реєстровий номер небезпечної території"
    ),
    "name": Text("Name of the area", "Назва території"),
    "reported_on": Text("Survey date", "Дата обстеження"),
    "hazard_type": Text("Type of hazardous area", "Тип небезпечної території"),
    "evidence": Text("Evidence", "Ознаки забруднення"),
    "contamination": Text("Suspected contamination", "Імовірне забруднення"),
    "land_use": Text("Land use", "Використання землі"),
    "admin_area": Text("Settlement and community", "Населений пункт і громада"),
    "shape_method": Text("How will you record the boundary?", "Як ви запишете межу?"),
    "area_shape": Text("Boundary of the area", "Межа території"),
    "boundary": Text("Corner points of the boundary", "Кутові точки межі"),
    "boundary_point": Text("Corner point", "Кутова точка"),
    "informant": Text("Informant", "Інформатор"),
    "informant_role": Text("Role of the informant", "Роль інформатора"),
    "informant_sex": Text("Sex", "Стать"),
    "informant_age_group": Text("Age group", "Вікова група"),
    "informant_statement": Text("What the informant reported", "Що повідомив інформатор"),
    "notes": Text("Notes", "Примітки"),
    "task_date": Text("Date of the task", "Дата виконання завдання"),
    "item": Text("Explosive ordnance item", "Вибухонебезпечний предмет"),
    "item_location": Text("Location of the item", "Місце знаходження предмета"),
    "item_category": Text("Category", "Категорія"),
    "item_description": Text("Description", "Опис"),
    "item_quantity": Text("Quantity", "Кількість"),
    "item_state": Text("State", "Стан"),
    "activity_ref": Text("Registry reference of the activity", "Реєстровий номер робіт"),
    "activity_type": Text("Activity", "Вид робіт"),
    "activity_status": Text("Status of the work", "Стан робіт"),
    "start_date": Text("Start date", "Дата початку"),
    "end_date": Text("End date", "Дата завершення"),
    "cleared_shape": Text(
        "Area cleared or surveyed so far", "Очищена або обстежена на цей час ділянка"
    ),
    "evidence_found": Text(
        "Was explosive ordnance or evidence of it found?",
        "Чи виявлено вибухонебезпечні предмети або ознаки їх наявності?",
    ),
    "occurred_on": Text("Date of the accident", "Дата нещасного випадку"),
    "accident_location": Text("Place of the accident", "Місце нещасного випадку"),
    "device_category": Text(
        "Category of the item involved", "Категорія предмета, що спричинив випадок"
    ),
    "victim": Text("Victim", "Постраждала особа"),
    "victim_outcome": Text("Outcome", "Наслідок"),
    "victim_group": Text("Group", "Категорія особи"),
    "victim_sex": Text("Sex", "Стать"),
    "victim_age_group": Text("Age group", "Вікова група"),
    "held_on": Text("Date of the session", "Дата заняття"),
    "session_location": Text("Place of the session", "Місце проведення заняття"),
    "method": Text("How was the session delivered?", "Як проводилося заняття?"),
    "girls": Text("Girls", "Дівчата"),
    "boys": Text("Boys", "Хлопці"),
    "women": Text("Women", "Жінки"),
    "men": Text("Men", "Чоловіки"),
}

_GPS = Text(
    "Wait until the GPS accuracy is 10 m or better before you save the point.",
    "Перш ніж зберегти точку, дочекайтеся точності GPS 10 м або кращої.",
)
_NO_NAMES = Text(
    "Do not record names or contact details of anyone.",
    "Не записуйте імен чи контактних даних жодної людини.",
)
_HEADCOUNT = Text(
    "Number of participants; 0 if there were none.", "Кількість учасників; 0, якщо їх не було."
)

HINTS: dict[str, Text] = {
    "area_ref": Text(
        "As written on the task order or the registry map, e.g. HZ-2024-0012.",
        "Як у наказі на виконання завдання або на карті реєстру, напр. HZ-2024-0012.",
    ),
    "area_ref_if_known": Text(
        "Only if this area is already in the registry; leave empty for a new area.",
        "Лише якщо ця територія вже є в реєстрі; для нової території залиште порожнім.",
    ),
    "name": Text(
        "The name people use for the place, e.g. 'Field north of the school'.",
        "Назва, якою місцеві називають це місце, напр. «Поле на північ від школи».",
    ),
    "hazard_type": Text(
        "CHA when there is direct evidence (items seen, accidents); SHA when it is indirect.",
        "ПдНТ, якщо є прямі ознаки (бачили предмети, сталися нещасні випадки); "
        "ПНТ, якщо ознаки непрямі.",
    ),
    "evidence": Text(
        "What was seen or heard, where and when. " + _NO_NAMES.en,
        "Що бачили або чули, де і коли. " + _NO_NAMES.uk,
    ),
    "contamination": Text("Select all that apply.", "Оберіть усі відповідні варіанти."),
    "land_use": Text(
        "What the land is used for, or would be used for if it were safe.",
        "Для чого використовують землю або використовували б, якби вона була безпечною.",
    ),
    "admin_area": Text(
        "Settlement, community (hromada) and district.", "Населений пункт, громада та район."
    ),
    "area_shape": Text(
        "Walk the boundary from outside the area, or trace it on the map. "
        "Never enter the hazardous area.",
        "Обійдіть межу ззовні території або обведіть її на карті. "
        "Ніколи не заходьте на небезпечну територію.",
    ),
    "boundary_point": Text(
        "Walk the boundary from outside and record each corner in order, at least 3. " + _GPS.en,
        "Обійдіть межу ззовні та запишіть кожен кут по черзі, щонайменше 3. " + _GPS.uk,
    ),
    "informant_role": _NO_NAMES,
    "informant_statement": Text(
        "In the informant's own words. " + _NO_NAMES.en,
        "Словами інформатора. " + _NO_NAMES.uk,
    ),
    "item_location": _GPS,
    "item_description": Text(
        "Type or model if known, size, markings, condition.",
        "Тип або модель, якщо відомі, розмір, маркування, стан.",
    ),
    "activity_ref": Text(
        "Only to update an activity already in the registry; leave empty for a new one.",
        "Лише для оновлення робіт, які вже є в реєстрі; для нових залиште порожнім.",
    ),
    "cleared_shape": Text(
        "Walk the edge of the cleared or surveyed ground, or trace it on the map.",
        "Обійдіть край очищеної або обстеженої ділянки чи обведіть його на карті.",
    ),
    "accident_location": _GPS,
    "device_category": Text(
        "Choose Unknown if you are not sure.", "Оберіть «Невідомо», якщо не впевнені."
    ),
    "victim_outcome": _NO_NAMES,
    "session_location": _GPS,
    "girls": _HEADCOUNT,
    "boys": _HEADCOUNT,
    "women": _HEADCOUNT,
    "men": _HEADCOUNT,
}

CONSTRAINT_MESSAGES: dict[str, Text] = {
    "not_future": Text("The date cannot be in the future.", "Дата не може бути в майбутньому."),
    "end_date": Text(
        "The end date must be on or after the start date and not in the future.",
        "Дата завершення має бути не раніше дати початку і не в майбутньому.",
    ),
    "at_least_one": Text("Enter 1 or more.", "Введіть 1 або більше."),
    "not_negative": Text("Enter 0 or more.", "Введіть 0 або більше."),
}

_OTHER = Text("Other", "Інше")
_UNKNOWN = Text("Unknown", "Невідомо")

CODES: dict[str, dict[str, Text]] = {
    "HazardType": {
        "SHA": Text("Suspected hazardous area (SHA)", "Підозріла небезпечна територія (ПНТ)"),
        "CHA": Text("Confirmed hazardous area (CHA)", "Підтверджена небезпечна територія (ПдНТ)"),
    },
    "ContaminationCategory": {
        "ap_mine": Text("Anti-personnel mines", "Протипіхотні міни"),
        "av_mine": Text("Anti-vehicle mines", "Протитранспортні міни"),
        "cmr": Text("Cluster munition remnants", "Залишки касетних боєприпасів"),
        "uxo": Text("Unexploded ordnance (UXO)", "Нерозірвані боєприпаси"),
        "axo": Text("Abandoned explosive ordnance (AXO)", "Покинуті вибухонебезпечні предмети"),
        "ied": Text("Improvised explosive devices (IED)", "Саморобні вибухові пристрої"),
    },
    "LandUse": {
        "agricultural": Text("Farmland", "Сільськогосподарські угіддя"),
        "pasture": Text("Pasture", "Пасовище"),
        "residential": Text("Homes and gardens", "Житлова забудова та присадибні ділянки"),
        "infrastructure": Text(
            "Infrastructure (roads, power, water)",
            "Інфраструктура (дороги, енергетика, водопостачання)",
        ),
        "industrial": Text("Industrial", "Промислова зона"),
        "forest": Text("Forest", "Ліс"),
        "water": Text("Water body", "Водойма"),
        "other": _OTHER,
    },
    "ActivityType": {
        "nts": Text("Non-technical survey", "Нетехнічне обстеження"),
        "ts": Text("Technical survey", "Технічне обстеження"),
        "clearance": Text("Clearance", "Очищення території"),
        "eod": Text("EOD spot task", "Знешкодження ВНП"),
        "qa": Text("Quality assurance", "Забезпечення якості"),
        "handover": Text("Handover of released land", "Передача звільненої землі"),
    },
    "ActivityStatus": {
        "planned": Text("Planned", "Заплановано"),
        "open": Text("In progress", "Виконуються"),
        "completed": Text("Completed", "Завершено"),
    },
    "ItemCategory": {
        "ap_mine": Text("Anti-personnel mine", "Протипіхотна міна"),
        "av_mine": Text("Anti-vehicle mine", "Протитранспортна міна"),
        "submunition": Text("Submunition", "Суббоєприпас"),
        "uxo": Text("Unexploded ordnance (UXO)", "Нерозірваний боєприпас"),
        "axo": Text("Abandoned explosive ordnance (AXO)", "Покинутий вибухонебезпечний предмет"),
        "ied": Text("Improvised explosive device (IED)", "Саморобний вибуховий пристрій"),
        "other": _OTHER,
        "unknown": _UNKNOWN,
    },
    "ItemState": {
        "live": Text("Live", "Бойовий"),
        "inert": Text("Inert", "Інертний"),
        "destroyed": Text("Destroyed", "Знищений"),
    },
    "AgeGroup": {
        "child": Text("Child", "Дитина"),
        "adult": Text("Adult", "Доросла особа"),
        "elderly": Text("Older person", "Літня особа"),
        "mixed": Text("Mixed ages", "Різного віку"),
        "unknown": _UNKNOWN,
    },
    "Sex": {
        "female": Text("Female", "Жіноча"),
        "male": Text("Male", "Чоловіча"),
        "mixed": Text("Mixed group", "Змішана група"),
        "unknown": _UNKNOWN,
    },
    "EoreMethod": {
        "interpersonal": Text("Face to face", "Особисте спілкування"),
        "mass_media": Text("Mass media", "Засоби масової інформації"),
        "digital": Text("Online and social media", "Інтернет і соціальні мережі"),
        "other": _OTHER,
    },
    "shape_method": {
        "polygon": Text("Walk or trace the whole boundary", "Обійти або обвести всю межу"),
        "points": Text("Record the corner points one by one", "Записати кутові точки по черзі"),
    },
    "informant_role": {
        "resident": Text("Local resident", "Місцевий житель"),
        "local_authority": Text("Local authority", "Представник місцевої влади"),
        "police": Text("Police", "Поліція"),
        "military": Text("Military", "Військові"),
        "deminer": Text("Deminer", "Сапер"),
        "other": _OTHER,
    },
    "yes_no": {"yes": Text("Yes", "Так"), "no": Text("No", "Ні")},
    "victim_outcome": {
        "killed": Text("Killed", "Загинула"),
        "injured": Text("Injured", "Поранена"),
    },
    "victim_group": {
        "civilian": Text("Civilian", "Цивільна особа"),
        "deminer": Text("Deminer", "Сапер"),
    },
}


def code_label(source: str, code: str) -> Text:
    """Return the wording of `code` in the list `source`, or one made from the code itself.

    The fallback keeps a new domain code usable in the forms before it is translated: the
    English label is the code in words and the Ukrainian column repeats it.
    """
    known = CODES.get(source, {}).get(code)
    if known is not None:
        return known
    words = code.replace("_", " ")
    words = words[:1].upper() + words[1:]
    return Text(words, words)
