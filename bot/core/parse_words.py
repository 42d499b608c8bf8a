"""The words the meet-command reader knows in English, French and Spanish; the language guess."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Literal

from bot.core.parse_facts import PartOfDay

Language = Literal["en", "fr", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "fr", "es")


def words(text: str) -> frozenset[str]:
    """The words of a text, for the word lists below."""
    return frozenset(text.split())


LANGUAGE_NAMES: Mapping[str, str] = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}


def _accentless_table() -> dict[int, str]:
    """Latin letters with diacritics to their base letter, one character for one."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFD", chr(code))
        if len(decomposed) > 1 and decomposed[0].isascii():
            table[code] = decomposed[0]
    table[ord("’")] = "'"
    return table


ACCENTLESS = _accentless_table()

MONTHS: Mapping[str, int] = {
    **{
        name: number
        for number, names in enumerate(
            (
                "january jan enero ene janvier janv",
                "february feb febrero fevrier fevr fev",
                "march mar marzo mars",
                "april apr abril abr avril avr",
                "may mayo mai",
                "june jun junio juin",
                "july jul julio juillet juil",
                "august aug agosto ago aout",
                "september sep sept septiembre setiembre septembre",
                "october oct octubre octobre",
                "november nov noviembre novembre",
                "december dec diciembre dic decembre",
            ),
            start=1,
        )
        for name in names.split()
    }
}
# Names that are also ordinary words ("may", "mar", "sept"): a date only next to a day number.
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))

WEEKDAYS: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            "monday lundi lunes",
            "tuesday mardi martes",
            "wednesday mercredi miercoles",
            "thursday jeudi jueves",
            "friday vendredi viernes",
            "saturday samedi sabado",
            "sunday dimanche domingo",
        )
    )
    for name in names.split()
}
# English short forms, read only before a time ("tue at 3"): "sun", "sat", "wed" are words too.
SHORT_WEEKDAYS: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        ("mon", "tue tues", "wed weds", "thu thur thurs", "fri", "sat", "sun")
    )
    for name in names.split()
}

NUMBER_WORDS: Mapping[str, int] = {
    **dict.fromkeys(("a", "an", "one", "un", "une", "uno", "una"), 1),
    **dict.fromkeys(("two", "deux", "dos"), 2),
    **dict.fromkeys(("three", "trois", "tres"), 3),
    **dict.fromkeys(("four", "quatre", "cuatro"), 4),
    **dict.fromkeys(("five", "cinq", "cinco"), 5),
    **dict.fromkeys(("six", "seis"), 6),
    **dict.fromkeys(("seven", "sept", "siete"), 7),
    **dict.fromkeys(("eight", "huit", "ocho"), 8),
    **dict.fromkeys(("nine", "neuf", "nueve"), 9),
    **dict.fromkeys(("ten", "dix", "diez"), 10),
    **dict.fromkeys(("eleven", "onze", "once"), 11),
    **dict.fromkeys(("twelve", "douze", "doce"), 12),
    **dict.fromkeys(("fifteen", "quinze", "quince"), 15),
    **dict.fromkeys(("twenty", "vingt", "veinte"), 20),
    **dict.fromkeys(("thirty", "trente", "treinta"), 30),
    **dict.fromkeys(("forty-five", "forty five", "quarante-cinq", "cuarenta y cinco"), 45),
    **dict.fromkeys(("sixty", "soixante", "sesenta"), 60),
    **dict.fromkeys(("ninety", "quatre-vingt-dix", "noventa"), 90),
}
# Longest first so that "forty five" is one number, not "forty" and "five".
NUMBER_PATTERN = "|".join(
    re.escape(word).replace(r"\ ", r"\s+") for word in sorted(NUMBER_WORDS, key=len, reverse=True)
)
# Spelled hours a clock may be given in ("at three", "a las tres", "à trois heures").
CLOCK_WORD_PATTERN = "|".join(
    word for word, value in NUMBER_WORDS.items() if 1 <= value <= 12 and word not in ("a", "an")
)

# Parts of the day: the hour they mean alone, and how they settle an hour without am/pm.
PARTS: Mapping[str, PartOfDay] = {
    **dict.fromkeys(("morning", "matin", "manana", "matinee"), "morning"),
    **dict.fromkeys(("afternoon", "apres-midi", "apres midi", "aprem", "tarde"), "afternoon"),
    **dict.fromkeys(("evening", "soir", "soiree"), "evening"),
    **dict.fromkeys(("night", "nuit", "noche", "tonight"), "night"),
}
PART_HOURS: Mapping[PartOfDay, int] = {"morning": 9, "afternoon": 14, "evening": 17, "night": 20}

# Words that, left unread in a subject, mean the command said a date, time or length the reader
# did not understand. Parts of the day are not here: "Morning standup" names a meeting.
TIME_WORDS = words(
    """
        today tomorrow tmrw tmr tomorow tonight yesterday noon midday midnight am pm a.m p.m
        oclock o'clock hour hours hr hrs minute minutes min mins week weeks weekend next later
        soon sometime asap eod eow every aujourd'hui aujourdhui demain apres-demain hier midi
        minuit heure heures semaine prochain prochaine chaque bientot tard hoy manana ayer
        mediodia medianoche hora horas minuto minutos semana proximo proxima cada pronto
        """
) | frozenset(WEEKDAYS)

# Time words of languages the reader does not read: their presence means "ask, don't guess".
FOREIGN_WORDS: Mapping[str, str] = {
    **dict.fromkeys(
        words(
            """
            morgen heute ubermorgen uhr stunde stunden minuten montag dienstag mittwoch
            donnerstag freitag samstag sonntag nachste nachsten nachmittag abend besprechung
            """
        ),
        "de",
    ),
    **dict.fromkeys(
        words(
            """
            domani oggi dopodomani alle ore minuti lunedi martedi mercoledi giovedi venerdi
            prossimo prossima pomeriggio riunione
            """
        ),
        "it",
    ),
    **dict.fromkeys(
        words(
            """
            amanha hoje depois reuniao segunda-feira terca-feira quarta-feira quinta-feira
            sexta-feira terca quarta sexta
            """
        ),
        "pt",
    ),
    **dict.fromkeys(
        words(
            """
            vandaag overmorgen uur maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
            volgende overleg vergadering
            """
        ),
        "nl",
    ),
}
# "morgen" is German and Dutch; either way it is not ours.

# Cue words for guessing the language of a command (on lower-case text, accents kept).
_CUES: Mapping[Language, frozenset[str]] = {
    "en": words(
        """
            the and with at on for tomorrow today tonight next this from to in of minutes hours hour
            morning afternoon evening meeting review sync call noon between until an half monday
            tuesday wednesday thursday friday saturday sunday january february march april june july
            august september october november december day after week by
            """
    ),
    "fr": words(
        """
            à avec pour pendant demain aujourd'hui après-demain prochain prochaine réunion heure
            heures matin soir après-midi et sur dans midi au chez semaine point équipe le les du des
            une lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai
            juin juillet août septembre octobre novembre décembre vers jusqu'à demi demie entre
            """
    ),
    "es": words(
        """
            el los las con para durante mañana hoy próximo próxima reunión hora horas minutos tarde
            noche y por del desde hasta que viene pasado mediodía equipo revisión una lunes martes
            miércoles jueves viernes sábado domingo enero febrero marzo abril mayo junio julio
            agosto septiembre octubre noviembre diciembre media semana a
            """
    ),
}
# Cues are matched with and without their accents: people type "apres-demain", "manana".
_CUES = {
    language: words | {w.translate(ACCENTLESS) for w in words if len(w) > 1}
    for language, words in _CUES.items()
}
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def guess_language(lowered: str, hint: str | None) -> Language:
    """The language of a command from its words; the client's locale breaks ties (Teams' locale
    is the interface's, not the writer's: a French sentence in an English Teams is French)."""
    counts = dict.fromkeys(LANGUAGES, 0)
    for word in _WORD.findall(lowered.replace("’", "'")):
        for language in LANGUAGES:
            if word in _CUES[language]:
                counts[language] += 1
    best = max(counts.values())
    hinted = (hint or "en")[:2].lower()
    if best == 0:
        return hinted if hinted in LANGUAGES else "en"
    leaders = [language for language in LANGUAGES if counts[language] == best]
    return hinted if hinted in leaders else leaders[0]
