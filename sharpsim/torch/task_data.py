"""Word lists of the bundled tasks (:mod:`sharpsim.torch.tasks`): question → answer pairs and answer aliases.

Each fact kind maps a question subject to its one canonical answer; the
canonical answers of a kind are its candidate set for answer extraction.
Lists were chosen so that answers are unambiguous, are not question subjects
of the same kind, and are not common English function words.
"""

from __future__ import annotations

__all__ = ["FACTS", "ALIASES", "WEEKDAYS", "MONTHS"]

_CAPITALS = """France Paris; Italy Rome; Japan Tokyo; Germany Berlin; Spain Madrid; Egypt Cairo;
Russia Moscow; England London; Greece Athens; Canada Ottawa; China Beijing; Portugal Lisbon;
Ireland Dublin; Austria Vienna; Norway Oslo; Poland Warsaw; Kenya Nairobi; Sweden Stockholm;
Finland Helsinki; Denmark Copenhagen; the Netherlands Amsterdam; Belgium Brussels;
Switzerland Bern; Hungary Budapest; the Czech Republic Prague; Turkey Ankara; Iran Tehran;
Iraq Baghdad; India New Delhi; Thailand Bangkok; Vietnam Hanoi; South Korea Seoul;
Indonesia Jakarta; the Philippines Manila; Australia Canberra; Argentina Buenos Aires;
Peru Lima; Chile Santiago; Colombia Bogota; Venezuela Caracas; Cuba Havana; Nigeria Abuja;
Ethiopia Addis Ababa; Morocco Rabat; Saudi Arabia Riyadh; Afghanistan Kabul;
Pakistan Islamabad; Ukraine Kyiv; Romania Bucharest; Bulgaria Sofia; Serbia Belgrade;
Iceland Reykjavik; Scotland Edinburgh; Brazil Brasilia; the United States Washington"""

_CONTINENTS = """Kenya Africa; Nigeria Africa; Egypt Africa; Ghana Africa; Ethiopia Africa;
Morocco Africa; Senegal Africa; Tanzania Africa; Uganda Africa; Zambia Africa; Algeria Africa;
Japan Asia; China Asia; India Asia; Thailand Asia; Vietnam Asia; Indonesia Asia; Mongolia Asia;
Nepal Asia; Pakistan Asia; Bangladesh Asia; Cambodia Asia; France Europe; Germany Europe;
Italy Europe; Spain Europe; Poland Europe; Sweden Europe; Norway Europe; Greece Europe;
Portugal Europe; Austria Europe; Hungary Europe; Canada North America; Mexico North America;
the United States North America; Cuba North America; Guatemala North America;
Honduras North America; Panama North America; Jamaica North America; Nicaragua North America;
Brazil South America; Argentina South America; Peru South America; Chile South America;
Colombia South America; Venezuela South America; Bolivia South America; Uruguay South America;
Paraguay South America; Ecuador South America"""

_CURRENCIES = """the United States dollar; Canada dollar; Australia dollar; New Zealand dollar;
Singapore dollar; Japan yen; India rupee; Pakistan rupee; Mexico peso; Argentina peso;
Chile peso; Colombia peso; the Philippines peso; Switzerland franc; Sweden krona;
Iceland krona; Norway krone; Denmark krone; China yuan; Russia ruble; Turkey lira;
Thailand baht; Indonesia rupiah; Malaysia ringgit; Vietnam dong; Poland zloty; Hungary forint;
Israel shekel; South Africa rand; Nigeria naira; Kenya shilling; Uganda shilling;
Morocco dirham; Saudi Arabia riyal; Qatar riyal; the Czech Republic koruna; Romania leu;
Bulgaria lev; the United Kingdom pound; Egypt pound; Germany euro; France euro; Italy euro;
Spain euro; Greece euro; Jordan dinar; Iraq dinar; Ukraine hryvnia"""

_ANTONYMS = """hot cold; tall short; fast slow; happy sad; early late; up down; full empty;
rich poor; strong weak; wet dry; hard soft; young old; thick thin; win lose; push pull;
love hate; day night; inside outside; north south; east west; above below; always never;
true false; first last; buy sell; give take; begin end; loud quiet; clean dirty; heavy light;
alive dead; awake asleep; dangerous safe; friend enemy; good bad; high low; sweet sour;
remember forget; accept reject; arrive depart; ancient modern; increase decrease;
maximum minimum; include exclude; victory defeat; entrance exit; wide narrow; deep shallow;
smooth rough; cheap expensive; sharp dull; brave afraid"""

_COLORS = """the sky on a clear day blue; grass green; snow white; a ripe banana yellow; coal black;
a ripe tomato red; an orange orange; a ripe strawberry red; milk white; a lemon yellow;
blood red; charcoal black; a cucumber green; a lime green; chocolate brown; an eggplant purple;
a carrot orange; a pumpkin orange; a polar bear white; a crow black; a frog green;
a cherry red; a pea green; a flamingo pink; a fire truck red; a school bus yellow;
an emerald green; a sapphire blue; a ruby red; a lavender flower purple; chalk white;
a raven black; a canary yellow; tree bark brown; cocoa powder brown; a dandelion flower yellow;
salt white; the ocean blue"""


def _pairs(block: str, answer_words: int = 1) -> list[tuple[str, str]]:
    """Parse ``"subject answer; ..."``; the last ``answer_words`` words are the answer."""
    out = []
    for item in " ".join(block.split()).split(";"):
        words = item.split()
        out.append((" ".join(words[:-answer_words]), " ".join(words[-answer_words:])))
    return out


def _continents() -> list[tuple[str, str]]:
    out = []
    for item in " ".join(_CONTINENTS.split()).split(";"):
        words = item.split()
        k = 2 if words[-2] in ("North", "South") else 1
        out.append((" ".join(words[:-k]), " ".join(words[-k:])))
    return out


def _capitals() -> list[tuple[str, str]]:
    two_word = {"New Delhi", "Buenos Aires", "Addis Ababa"}
    out = []
    for item in " ".join(_CAPITALS.split()).split(";"):
        words = item.split()
        k = 2 if " ".join(words[-2:]) in two_word else 1
        out.append((" ".join(words[:-k]), " ".join(words[-k:])))
    return out


#: ``kind -> [(subject, answer), ...]``: the fact kinds' item pools.
FACTS = {
    "capital": _capitals(),
    "continent": _continents(),
    "currency": _pairs(_CURRENCIES),
    "antonym": _pairs(_ANTONYMS),
    "color": _pairs(_COLORS),
}

#: ``kind -> {alias: canonical answer}``: other spellings a response may use.
ALIASES = {
    "capital": {
        "Delhi": "New Delhi",
        "Bogotá": "Bogota",
        "Kiev": "Kyiv",
        "Brasília": "Brasilia",
        "Reykjavík": "Reykjavik",
        "Washington, D.C.": "Washington",
    },
    "currency": {
        "renminbi": "yuan",
        "rouble": "ruble",
        "złoty": "zloty",
        "kroner": "krone",
        "kronor": "krona",
        "lire": "lira",
        "rupees": "rupee",
        "sterling": "pound",
    },
}

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
