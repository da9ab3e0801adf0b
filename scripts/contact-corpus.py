#!/usr/bin/env python3
"""Writes tests/corpus/contacts.jsonl: 10 000 realistic contacts as guests at a German,
Austrian or Swiss venue would give them (Faker's de_DE, de_AT and de_CH data: names,
streets, postcodes, cities, phone numbers; about half with an e-mail address, mostly at
the common free mail providers). Seeded, so the file is the same on every run; it is
committed, and this script says how it was made (with `pip install faker==40.63.0`)."""

import json
import random
import sys
from pathlib import Path

from faker import Faker

SEED = 20261130
COUNT = 10_000
LOCALES = [("de_DE", 0.7), ("de_AT", 0.15), ("de_CH", 0.15)]


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "contacts.jsonl"
    rng = random.Random(SEED)
    fakers = {}
    for loc, _ in LOCALES:
        f = Faker(loc)
        f.seed_instance(SEED + len(fakers))
        fakers[loc] = f
    lines = []
    for _ in range(COUNT):
        loc = rng.choices([l for l, _ in LOCALES], [w for _, w in LOCALES])[0]
        f = fakers[loc]
        contact = {
            "name": f.name(),
            "street": f.street_address(),
            "postcode": f.postcode(),
            "city": f.city(),
            "phone": f.phone_number(),
            "email": "",
        }
        if rng.random() < 0.5:
            # Most guests give a free mail address; some their own domain's.
            contact["email"] = f.free_email() if rng.random() < 0.8 else f.email()
        lines.append(json.dumps(contact, ensure_ascii=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} contacts written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
