"""Row generators for the built-in demo datasets: pure Python, seeded, no downloads.

Each ``*_example`` function draws one row from the ``random.Random`` it is
given, so one seed always gives the same dataset. ``position`` (the row's
index) picks the kind of row in turn, so every split is balanced and the first
held-out rows, which become the probe prompts, show each kind.
``core.demo_data`` holds the registry and the train/test split.
"""

from __future__ import annotations

import datetime
import json
import random

JSON_SYSTEM_PROMPT = "Extract the facts from the text as a JSON object."

# Vocabularies are wide and partly non-ASCII, so the model has to copy values out of the sentence rather than
# memorise a short list, and the JSON must keep "Zürich" as it is (ensure_ascii=False).
FIRST_NAMES = (
    "Amara", "Ben", "Chidi", "Dana", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "José", "Kai", "Lena", "Mateus",
    "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Søren", "Tariq", "Uma", "Viktor", "Wei", "Ximena", "Yusuf", "Zoë",
    "Aiko", "Liam", "Maya", "Noah", "Olga", "Sara",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Bianchi", "Chen", "Dubois", "Eriksen", "Fernández", "García", "Haddad", "Ivanova", "Jensen", "Kim",
    "Kowalski", "Lopez", "Müller", "Nakamura", "O'Brien", "Okafor", "Patel", "Rossi", "Singh", "Tanaka", "Novak",
    "Walsh", "Yilmaz", "Zhang", "Mensah",
)  # fmt: skip
CITIES = (
    "Zürich", "São Paulo", "Kraków", "Lisbon", "Nairobi", "Osaka", "Toronto", "Melbourne", "Austin", "Lyon", "Bergen",
    "Seville", "Porto", "Accra", "Hanoi", "Valparaíso", "Reykjavík", "Montreal", "Edinburgh", "Bologna", "Tallinn",
    "Cusco", "Bangalore", "Kyoto", "Leipzig", "Marrakesh", "Wellington", "Denver", "Gdańsk", "Tbilisi",
)  # fmt: skip
JOBS = (
    "engineer", "nurse", "teacher", "architect", "pharmacist", "baker", "photographer", "electrician",
    "software developer", "journalist", "veterinarian", "carpenter", "accountant", "chef", "librarian", "pilot",
    "dentist", "translator", "gardener", "data analyst", "firefighter", "lawyer", "musician", "physiotherapist",
    "urban planner", "economist", "interior designer",
)  # fmt: skip
BRANDS = (
    "Lumina", "Northwind", "Kestrel", "Bramble & Co", "Solace", "Tidewater", "Fennel", "Halcyon", "Ironbark",
    "Marlowe", "Pinecrest", "Quasar", "Rivet", "Sable", "Vantage", "Wrenfield",
)  # fmt: skip
PRODUCT_SERIES = ("Nimbus", "Vertex", "Aurora", "Quill", "Pulse", "Atlas", "Echo", "Zephyr", "Orbit", "Cobalt")
PRODUCT_KINDS = (
    "Kettle", "Headphones", "Backpack", "Desk Lamp", "Smartwatch", "Blender", "Running Shoes", "Keyboard", "Tent",
    "Coffee Grinder", "E-Reader", "Air Purifier",
)  # fmt: skip
PRODUCT_SUFFIXES = ("", "", " 2", " Pro", " Mini", " X", " Plus")
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")
EVENT_PREFIXES = ("Spring", "Northern", "Grand", "Midsummer", "International", "Harbour", "Winter", "Old Town")
EVENT_THEMES = (
    "Jazz", "Indie Film", "Street Food", "Open Source", "Robotics", "Poetry", "Chess", "Design", "Folk Music",
    "Science",
)  # fmt: skip
EVENT_KINDS = ("Festival", "Fair", "Summit", "Week", "Expo", "Night", "Conference")
FIRST_EVENT_DAY = datetime.date(2024, 1, 1)
EVENT_DAYS = 3 * 365  # dates from 2024 to the end of 2026

# Several word orders per kind: the model must find each fact by meaning, not by position.
PERSON_TEMPLATES = (
    "{name} is {a_job} from {city} and is {age} years old.",
    "{name}, {age}, works as {a_job} in {city}.",
    "Meet {name}: {a_job} living in {city}, aged {age}.",
    "In {city}, {age}-year-old {name} earns a living as {a_job}.",
    "The {job} {name} ({age}) lives in {city}.",
    "{city} resident {name}, {age}, is {a_job}.",
    "At {age}, {name} works as {a_job} in {city}.",
    "{name} has lived in {city} for years; the {age}-year-old is {a_job}.",
    "Our new colleague {name} is {age}, {a_job}, and commutes from {city}.",
    "{a_job} from {city}, {name} turned {age} last month.",
)
PRODUCT_TEMPLATES = (
    "The {name} from {brand} costs {price} {currency}.",
    "{brand} has released the {name} at {price} {currency}.",
    "For {price} {currency}, you can buy the {name} by {brand}.",
    "{brand}'s new {name} sells for {price} {currency}.",
    "The {name} is a {brand} product priced at {price} {currency}.",
    "Price check: {name} ({brand}), {price} {currency}.",
    "You can get the {name}, made by {brand}, for {currency} {price}.",
    "{brand} lists the {name} at {currency} {price} in its online store.",
    "At {price} {currency}, the {name} is the cheapest model {brand} sells.",
)
EVENT_TEMPLATES = (
    "The {name} takes place in {city} on {date}.",
    "On {date}, {city} hosts the {name}.",
    "{city} will welcome visitors to the {name} on {date}.",
    "Save the date: {name}, {date}, {city}.",
    "Tickets are on sale for the {name}, held in {city} on {date}.",
    "The {name} returns to {city} on {date}.",
    "Organisers confirmed that the {name} will open in {city} on {date}.",
    "Join us in {city} on {date} for the {name}.",
    "This year's {name} is scheduled for {date} in {city}.",
)


def with_article(noun: str) -> str:
    """The noun with 'a' or 'an', judged by its first letter (right for every job in ``JOBS``).

    >>> with_article("engineer"), with_article("nurse")
    ('an engineer', 'a nurse')
    """
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _capitalised(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def _person(rng: random.Random) -> tuple[dict, str]:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    age, city, job = rng.randint(18, 70), rng.choice(CITIES), rng.choice(JOBS)
    sentence = rng.choice(PERSON_TEMPLATES).format(name=name, age=age, city=city, job=job, a_job=with_article(job))
    return {"type": "person", "name": name, "age": age, "city": city, "job": job}, sentence


def _product(rng: random.Random) -> tuple[dict, str]:
    name = f"{rng.choice(PRODUCT_SERIES)} {rng.choice(PRODUCT_KINDS)}{rng.choice(PRODUCT_SUFFIXES)}"
    brand, currency = rng.choice(BRANDS), rng.choice(CURRENCIES)
    if currency == "JPY":  # yen have no cents: a whole number
        price: int | float = rng.randrange(500, 50_000, 100)
        price_text = str(price)
    else:  # cents never end in 0, so the JSON number reads exactly like the sentence ("49.99", never "49.9")
        price = round(rng.randint(5, 899) + rng.choice((99, 95, 49, 79, 29, 19, 89, 45)) / 100, 2)
        price_text = f"{price:.2f}"
    template = rng.choice(PRODUCT_TEMPLATES)
    sentence = template.format(name=name, brand=brand, price=price_text, currency=currency)
    return {"type": "product", "name": name, "price": price, "currency": currency, "brand": brand}, sentence


def _event(rng: random.Random) -> tuple[dict, str]:
    name = f"{rng.choice(EVENT_PREFIXES)} {rng.choice(EVENT_THEMES)} {rng.choice(EVENT_KINDS)}"
    date = (FIRST_EVENT_DAY + datetime.timedelta(days=rng.randrange(EVENT_DAYS))).isoformat()
    city = rng.choice(CITIES)
    sentence = rng.choice(EVENT_TEMPLATES).format(name=name, date=date, city=city)
    return {"type": "event", "name": name, "date": date, "city": city}, sentence


# Each kind's keys always come in the order its facts dict above is built in.
ENTITY_KINDS = {"person": _person, "product": _product, "event": _event}


def json_extraction_example(rng: random.Random, position: int = 0) -> dict:
    """One conversational row: a sentence in, one line of JSON with a fixed key order out."""
    draw = list(ENTITY_KINDS.values())[position % len(ENTITY_KINDS)]
    facts, sentence = draw(rng)
    return {
        "messages": [
            {"role": "system", "content": JSON_SYSTEM_PROMPT},
            {"role": "user", "content": _capitalised(sentence)},
            {"role": "assistant", "content": json.dumps(facts, ensure_ascii=False)},
        ]
    }


# --- Word problems -------------------------------------------------------------------------------------------------


def format_number(value: float) -> str:
    """Whole numbers without a decimal point, others with at most two decimals.

    >>> format_number(14.0), format_number(22.5), format_number(11.25)
    ('14', '22.5', '11.25')
    """
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0")


def _step(a: float, op: str, b: float) -> tuple[str, float]:
    """An equation in the form the reasoning always uses ("4 * 3 = 12") and its result."""
    result = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    return f"{format_number(a)} {op} {format_number(b)} = {format_number(result)}", result


ITEMS = (  # (what, lowest and highest price in whole dollars): small sums a beginner can check by eye
    ("notebooks", 3, 6),
    ("apples", 1, 2),
    ("pencils", 1, 3),
    ("mugs", 4, 9),
    ("tickets", 5, 15),
    ("candles", 2, 7),
)
EXTRAS = ("bag", "pen", "greeting card", "bottle of water")
VEHICLES = ("train", "bus", "car", "ferry", "truck")
THINGS = ("marbles", "stickers", "cards", "sweets", "stamps", "seashells")
RELATIVES = ("mother", "father", "aunt", "uncle", "grandmother")


def _shopping_total(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    (items, low, high), extra = rng.choice(ITEMS), rng.choice(EXTRAS)
    count, price, extra_price = rng.randint(2, 9), rng.randint(low, high), rng.randint(1, 5)
    question = rng.choice(
        (
            f"{who} buys {count} {items} at ${price} each and a {extra} for ${extra_price}. "
            f"How many dollars does {who} spend in total?",
            f"At the market, {who} picks {count} {items} costing ${price} each, plus a {extra} for ${extra_price}. "
            "What is the total cost in dollars?",
        )
    )
    items_eq, items_cost = _step(count, "*", price)
    total_eq, total = _step(items_cost, "+", extra_price)
    return question, [f"The {items} cost {items_eq} dollars.", f"Adding the {extra} gives {total_eq} dollars."], total


def _shopping_change(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    items, low, high = rng.choice(ITEMS)
    count, price = rng.randint(2, 5), rng.randint(low, high)
    bill = rng.choice([note for note in (20, 50, 100) if note > count * price])  # at most 5 * $15, so 100 always fits
    question = (
        f"{who} pays with a ${bill} bill for {count} {items} that cost ${price} each. "
        f"How much change, in dollars, does {who} get back?"
    )
    cost_eq, cost = _step(count, "*", price)
    change_eq, change = _step(bill, "-", cost)
    return question, [f"The {items} cost {cost_eq} dollars.", f"The change is {change_eq} dollars."], change


def _travel_distance(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    vehicle, speed, hours = rng.choice(VEHICLES), rng.randrange(40, 125, 5), rng.randint(2, 8)
    question = f"A {vehicle} travels at {speed} km per hour for {hours} hours. How many kilometres does it cover?"
    equation, distance = _step(speed, "*", hours)
    return question, ["Distance is speed times time.", f"{equation} km."], distance


def _travel_time(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    vehicle, speed, hours = rng.choice(VEHICLES), rng.randrange(40, 125, 5), rng.randint(2, 8)
    question = (
        f"A {vehicle} covers {speed * hours} km at a steady {speed} km per hour. How many hours does the trip take?"
    )
    equation, time = _step(speed * hours, "/", speed)
    return question, ["Time is distance divided by speed.", f"{equation} hours."], time


def _travel_speed(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    speed, hours = rng.randint(8, 30), rng.randint(2, 6)
    question = f"{who} cycles {speed * hours} km in {hours} hours. What is {who}'s average speed in km per hour?"
    equation, result = _step(speed * hours, "/", hours)
    return question, ["Average speed is distance divided by time.", f"{equation} km per hour."], result


def _sharing_equal(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    things, friends, each = rng.choice(THINGS), rng.randint(2, 9), rng.randint(3, 15)
    question = (
        f"{who} has {friends * each} {things} and shares them equally among {friends} friends. "
        f"How many {things} does each friend get?"
    )
    equation, result = _step(friends * each, "/", friends)
    return question, [f"Each friend gets {equation} {things}."], result


def _sharing_leftover(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    things, box, boxes = rng.choice(THINGS), rng.randint(3, 9), rng.randint(3, 12)
    total = box * boxes + rng.randint(1, box - 1)
    question = (
        f"{who} packs {total} {things} into boxes of {box}, filling as many boxes as possible. "
        f"How many {things} are left over?"
    )
    packed_eq, packed = _step(box, "*", boxes)
    left_eq, left = _step(total, "-", packed)
    steps = [f"{boxes} full boxes hold {packed_eq} {things}.", f"That leaves {left_eq} {things}."]
    return question, steps, left


def _baking_bags(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    bag = rng.choice((2, 3, 4, 6))
    trays, per_tray = rng.randint(2, 8), bag * rng.randint(2, 5)
    question = (
        f"{who} bakes {trays} trays of {per_tray} cookies and packs them into bags of {bag}. "
        "How many bags does that fill?"
    )
    cookies_eq, cookies = _step(trays, "*", per_tray)
    bags_eq, bags = _step(cookies, "/", bag)
    return question, [f"There are {cookies_eq} cookies.", f"They fill {bags_eq} bags."], bags


def _age_future(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    relative, age, times, years = rng.choice(RELATIVES), rng.randint(5, 14), rng.randint(3, 5), rng.randint(2, 10)
    question = (
        f"{who} is {age} years old. {who}'s {relative} is {times} times as old. "
        f"How old will the {relative} be in {years} years?"
    )
    now_eq, now = _step(age, "*", times)
    later_eq, later = _step(now, "+", years)
    return question, [f"The {relative} is {now_eq} years old now.", f"In {years} years: {later_eq}."], later


def _age_sum(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    other = rng.choice([name for name in FIRST_NAMES if name != who])
    younger, gap = rng.randint(3, 40), rng.randint(1, 15)
    question = f"{who} is {gap} years older than {other}, who is {younger}. What is the sum of their ages?"
    older_eq, older = _step(younger, "+", gap)
    sum_eq, total = _step(older, "+", younger)
    return question, [f"{who} is {older_eq} years old.", f"Together: {sum_eq} years."], total


def _age_now(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    years = rng.randint(2, 15)
    age_then = years + rng.randint(5, 50)  # nobody is younger than 5 now
    question = f"In {years} years, {who} will be {age_then} years old. How old is {who} now?"
    equation, now = _step(age_then, "-", years)
    return question, [f"Subtract the {years} years from the future age.", f"{equation} years."], now


def _printing(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    rate, minutes = rng.randint(5, 40), rng.randint(3, 30)
    question = f"A printer prints {rate} pages per minute. How many pages does it print in {minutes} minutes?"
    equation, pages = _step(rate, "*", minutes)
    return question, ["Pages are the rate times the time.", f"{equation} pages."], pages


def _filling_tank(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    rate, minutes = rng.randint(2, 20), rng.randint(4, 30)
    question = (
        f"A tank holds {rate * minutes} litres and fills at {rate} litres per minute. "
        "How many minutes does it take to fill the empty tank?"
    )
    equation, result = _step(rate * minutes, "/", rate)
    return question, ["Time is the volume divided by the rate.", f"{equation} minutes."], result


def _savings(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    start, weekly, weeks = rng.randint(0, 100), rng.randint(5, 30), rng.randint(2, 12)
    question = (
        f"{who} has ${start} and saves ${weekly} every week. How many dollars will {who} have after {weeks} weeks?"
    )
    saved_eq, saved = _step(weekly, "*", weeks)
    total_eq, total = _step(start, "+", saved)
    return question, [f"{who} saves {saved_eq} dollars.", f"In total: {total_eq} dollars."], total


def _splitting_bill(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    friends = rng.choice((2, 4, 5))  # so each share has at most two decimals
    bill = rng.randint(20, 200)
    question = f"{who} and friends, {friends} people in all, split a bill of ${bill} equally. How much does each pay?"
    equation, share = _step(bill, "/", friends)
    return question, [f"Each person pays {equation} dollars."], share


def _recipe(rng: random.Random, who: str) -> tuple[str, list[str], float]:
    eggs, servings, factor = rng.randint(2, 4), rng.randint(2, 6), rng.randint(2, 5)
    question = (
        f"{who}'s recipe uses {eggs} eggs for {servings} servings. "
        f"How many eggs are needed for {servings * factor} servings?"
    )
    factor_eq, scale = _step(servings * factor, "/", servings)
    eggs_eq, needed = _step(eggs, "*", scale)
    return question, [f"That is {factor_eq} times the recipe.", f"So {eggs_eq} eggs."], needed


WORD_PROBLEM_KINDS = (
    _shopping_total, _shopping_change, _travel_distance, _travel_time, _travel_speed, _sharing_equal,
    _sharing_leftover, _baking_bags, _age_future, _age_sum, _age_now, _printing, _filling_tank, _savings,
    _splitting_bill, _recipe,
)  # fmt: skip


def word_problem_example(rng: random.Random, position: int = 0) -> dict:
    """One raw row: ``Question``, a step-by-step ``Complex_CoT`` and a ``Response`` ending in the number."""
    kind = WORD_PROBLEM_KINDS[position % len(WORD_PROBLEM_KINDS)]
    question, steps, answer = kind(rng, rng.choice(FIRST_NAMES))
    return {
        "Question": question,
        "Complex_CoT": " ".join(steps),
        "Response": f"The answer is {format_number(answer)}.",
    }
