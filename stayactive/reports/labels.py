"""Plain-language labels of the finance report, in bokmål (default) and English.

Tables, the tornado chart and the headline use these words, never code names. ``text(key,
language)`` looks a label up; ``parameter_label`` and ``unit_label`` name parameters and units.
"""

from __future__ import annotations

from typing import Final

from analytics.stays import default_parameters
from stayactive.locale_format import Language

_TEXT: Final[dict[str, tuple[str, str]]] = {
    # titles and headings
    "report.title": ("Gevinst av aktiviseringsprogrammet", "Savings from the activation programme"),
    "headline": ("Hovedtall", "Headline"),
    "draft": ("UTKAST – ikke for beslutning", "DRAFT – not for decision"),
    "draft.why": ("Hvorfor utkast", "Why a draft"),
    "decisive": ("Forutsetninger som avgjør tallet", "Assumptions that decide the figure"),
    "design": ("Sammenligning og hvorfor", "Comparison and why"),
    "notes": ("Merknader", "Notes"),
    "assumptions": ("Alle forutsetninger", "All assumptions"),
    "method": ("Metode", "Method"),
    "tornado.title": (
        "Hva betyr mest? Netto verdi når én forutsetning endres om gangen",
        "What matters most? Net value with one assumption changed at a time",
    ),
    "tornado.low_high": ("netto verdi ved lav / høy", "net value at low / high"),
    "tornado.axis": ("netto verdi, mill. kr per år", "net value, NOK million per year"),
    "tornado.note": (
        "Loddrett strek: netto verdi med alle forutsetninger på basisverdi ({base}). Rødt: "
        "forutsetningen på laveste verdi i sitt spenn; blått: på høyeste. Effekten varierer "
        "over sitt 95 % konfidensintervall, parametrene over sitt oppgitte spenn (±25 % der "
        "intet spenn er gitt).",
        "Vertical line: net value with every assumption at base ({base}). Red: the assumption "
        "at the low end of its range; blue: at the high end. The effect varies over its 95% "
        "confidence interval, parameters over their stated range (±25% where none is given).",
    ),
    "checklist": (
        "Vedlegg: sjekkliste CHEERS 2022 og ISPOR budsjettanalyse",
        "Appendix: CHEERS 2022 and ISPOR budget impact checklist",
    ),
    "page": ("side", "page"),
    "data_as_of": ("Data per", "Data as of"),
    "generated": ("beregnet", "computed"),
    "status": ("Status", "Status"),
    # headline
    "headline.bed_days": ("Frigjort kapasitet", "Freed capacity"),
    "headline.capacity": ("Verdi av frigjort kapasitet", "Value of freed capacity"),
    "headline.safe_cash": ("Sikker kontanteffekt", "Safe cash effect"),
    "headline.cash": (
        "Kontanteffekt medregnet variable kostnader",
        "Cash effect incl. variable costs",
    ),
    "headline.p_negative": (
        "Sannsynlighet for netto tap, P(netto < 0)",
        "Probability of a net loss, P(net < 0)",
    ),
    "headline.none": (
        "Ingen gevinst er beregnet: for lite data til et effektestimat.",
        "No savings are estimated: too little data for an effect estimate.",
    ),
    "per_year": ("per år", "per year"),
    "capacity_not_cash": (
        "Frigjort kapasitet er ikke penger i kassen: budsjettet blir bare mindre hvis senger "
        "legges ned.",
        "Freed capacity is not money in the bank: the budget only shrinks if beds are closed.",
    ),
    # table titles
    "t.effect": ("Effekt per opphold i programmet", "Effect per programme stay"),
    "t.money": (
        "Ett år med programmet fullt innført",
        "One year with the programme fully rolled out",
    ),
    "t.budget": (
        "Budsjettvirkning år 1–5, mill. kr (med opptrapping)",
        "Budget impact years 1-5, NOK million (with ramp-up)",
    ),
    "t.checks": ("Kontroll av sammenligningen", "Checks of the comparison"),
    "t.flow": ("Opphold i evalueringen", "Stays in the evaluation"),
    "t.groups": ("Grupper og liggetid (ujustert)", "Groups and length of stay (unadjusted)"),
    "t.balance": (
        "Sammensetning av beboere før og etter vekting",
        "Case mix before and after weighting",
    ),
    "t.destinations": ("Hvor oppholdene ender", "Where stays end"),
    "t.readmission": (
        "Reinnleggelse innen 30 dager etter utskrivning hjem",
        "Readmission within 30 days of a discharge home",
    ),
    "t.scenarios": (
        "Scenarier: alle forutsetninger samtidig",
        "Scenarios: all assumptions at once",
    ),
    "t.parameters": ("Parametre", "Parameters"),
    # columns
    "c.estimate": ("anslag (95 % KI)", "estimate (95% CI)"),
    "c.value": ("verdi", "value"),
    "c.stays": ("opphold", "stays"),
    "c.wards": ("avdelinger", "wards"),
    "c.discharged": ("utskrevet", "discharged"),
    "c.ongoing": ("fortsatt innlagt", "still in stay"),
    "c.median": ("median liggetid", "median length of stay"),
    "c.rmst": ("liggedøgn per opphold til dag {h}", "bed-days per stay to day {h}"),
    "c.check": ("kontroll", "check"),
    "c.result": ("resultat", "result"),
    "c.detail": ("hva den viser", "what it shows"),
    "c.year": ("år {k}", "year {k}"),
    "c.pv": ("nåverdi år 1–5", "present value years 1-5"),
    "c.low": ("lav", "low"),
    "c.high": ("høy", "high"),
    "c.as_of": ("per dato", "as of"),
    "c.confirmed": ("status", "status"),
    "c.source": ("kilde", "source"),
    "c.item": ("punkt", "item"),
    "c.where": ("hvor i rapporten", "where in the report"),
    "c.share_programme": ("andel i programmet", "share, programme"),
    "c.share_ref_before": ("andel {g}, før vekting", "share {g}, before weighting"),
    "c.share_ref_after": ("andel {g}, etter vekting", "share {g}, after weighting"),
    "c.smd_before": ("standardisert forskjell før vekting", "standardised difference before"),
    "c.smd_after": ("standardisert forskjell etter vekting", "standardised difference after"),
    "c.index_discharges": (
        "utskrivninger hjem med 30 dagers oppfølging",
        "discharges home followed 30 days",
    ),
    "c.readmitted": ("reinnlagt", "readmitted"),
    "c.risk": ("risiko", "risk"),
    "c.window_open": ("ennå ikke fulgt 30 dager", "not yet followed 30 days"),
    "c.bed_days_freed": ("liggedøgn frigjort", "bed-days freed"),
    "c.capacity": ("verdi av frigjort kapasitet", "value of freed capacity"),
    "c.programme": ("programkostnad", "programme cost"),
    "c.net": ("netto verdi", "net value"),
    "c.cash": ("kontanteffekt", "cash effect"),
    # rows
    "r.rmst_programme": ("liggedøgn per opphold i programmet", "bed-days per programme stay"),
    "r.rmst_without": (
        "liggedøgn per opphold uten programmet",
        "bed-days per stay without the programme",
    ),
    "r.bed_days_avoided": ("liggedøgn spart per opphold", "bed-days avoided per stay"),
    "r.readm_programme": (
        "reinnleggelser per opphold i programmet",
        "readmissions per programme stay",
    ),
    "r.readm_without": (
        "reinnleggelser per opphold uten programmet",
        "readmissions per stay without",
    ),
    "r.readm_avoided": ("reinnleggelser unngått per opphold", "readmissions avoided per stay"),
    "r.sensitivity": (
        "liggedøgn spart, stratifisering (følsomhetsanalyse)",
        "bed-days avoided, stratification (sensitivity)",
    ),
    "r.e_value": ("E-verdi (uobservert konfundering)", "E-value (unmeasured confounding)"),
    "r.not_estimable": ("kan ikke anslås ennå (se Merknader)", "not estimable yet (see Notes)"),
    "r.stays_programme": ("opphold i programmet per år", "programme stays per year"),
    "r.bed_days_freed": ("liggedøgn frigjort per år", "bed-days freed per year"),
    "r.readm_avoided_year": ("reinnleggelser unngått per år", "readmissions avoided per year"),
    "r.readm_municipal": (
        "  herav nye kommunale korttidsopphold",
        "  of which new municipal short-term stays",
    ),
    "r.capacity": (
        "verdi av frigjort kapasitet (ikke kontanter)",
        "value of freed capacity (not cash)",
    ),
    "r.programme": ("programkostnad", "programme cost"),
    "r.net": ("netto verdi", "net value"),
    "r.cash": (
        "kontanteffekt (variable kostnader og nedlagte senger minus programkostnad)",
        "cash effect (variable costs and closed beds minus programme cost)",
    ),
    "r.safe_cash": (
        "sikker kontanteffekt (nedlagte senger minus programkostnad)",
        "safe cash effect (closed beds minus programme cost)",
    ),
    "r.roi": (
        "avkastning på kontanteffekten (kr per kr brukt)",
        "return on the cash effect (NOK per NOK spent)",
    ),
    "r.payback": ("tilbakebetalingstid for engangskostnaden", "payback of the one-off cost"),
    "r.no_cash": (
        "ikke beregnet: programmet frigjør ingen kontanter",
        "not computed: the programme releases no cash",
    ),
    "r.p_negative": ("sannsynlighet for netto tap", "probability of a net loss"),
    "r.share_budget": (
        "verdi som andel av budsjettet for korttidsopphold",
        "value as a share of the short-term-stay budget",
    ),
    "r.uptake": ("andel av oppholdene i programmet", "share of stays in the programme"),
    "r.stays_admitted": ("opphold innlagt til og med {d}", "stays admitted by {d}"),
    "r.left_out": ("utelatt: {r}", "left out: {r}"),
    "r.in_evaluation": ("opphold i evalueringen", "stays in the evaluation"),
    # check status
    "s.pass": ("i orden", "passed"),
    "s.flag": ("varsel", "flagged"),
    "s.not estimable": ("kan ikke vurderes", "not estimable"),
    "design.historical": ("før og etter på samme avdelinger", "before and after on the same wards"),
    "design.concurrent": (
        "avdelinger med og uten utstyr i samme periode",
        "wards with and without devices in the same period",
    ),
    "design.difference-in-differences": ("forskjell-i-forskjeller", "difference-in-differences"),
    "desc.historical": (
        "Opphold på avdelinger med utstyr etter oppstart sammenlignes med opphold på de samme "
        "avdelingene før oppstart.",
        "Stays on device wards after go-live against stays on the same wards before go-live.",
    ),
    "desc.concurrent": (
        "Opphold på avdelinger med utstyr etter oppstart sammenlignes med opphold på avdelinger "
        "uten utstyr i samme periode.",
        "Stays on device wards after go-live against stays on wards without devices in the same "
        "period.",
    ),
    "desc.difference-in-differences": (
        "Endringen fra før til etter oppstart på avdelinger med utstyr, minus endringen på "
        "avdelinger uten utstyr i de samme periodene.",
        "The change on device wards from before to after go-live, minus the change on wards "
        "without devices over the same periods.",
    ),
    "check.pre-trend": ("trend før oppstart", "pre-trend"),
    "check.placebo go-live": ("placebo-oppstart", "placebo go-live"),
    "check.comparison wards": ("antall sammenligningsavdelinger", "comparison wards"),
    "check.permutation across wards": (
        "permutasjonstest over avdelinger",
        "permutation across wards",
    ),
    "check.ward differences": ("forskjeller mellom avdelinger", "ward differences"),
    "wards_per_group": ("Avdelinger per gruppe", "Wards per group"),
}

_REASONS: Final[dict[str, tuple[str, str]]] = {
    "no consent to evaluation": ("uten samtykke til evaluering", "no consent to evaluation"),
    "birth year unknown": ("fødselsår ukjent", "birth year unknown"),
    "under 67 at admission": ("under 67 år ved innleggelse", "under 67 at admission"),
    "discharge destination 'other'": ("utskrevet til «annet»", "discharge destination 'other'"),
    "device ward after go-live: no device in the first 72 hours": (
        "avdeling med utstyr etter oppstart: ikke utstyr de første 72 timene",
        "device ward after go-live: no device in the first 72 hours",
    ),
    "comparison stay with a device": (
        "sammenligningsopphold som hadde utstyr",
        "comparison stay with a device",
    ),
}

_GROUPS: Final[dict[str, tuple[str, str]]] = {
    "intervention/after": (
        "avdelinger med utstyr, etter oppstart (programmet)",
        "device wards, after go-live (programme)",
    ),
    "intervention/before": ("avdelinger med utstyr, før oppstart", "device wards, before go-live"),
    "comparison/after": (
        "avdelinger uten utstyr, etter oppstart",
        "wards without devices, after go-live",
    ),
    "comparison/before": (
        "avdelinger uten utstyr, før oppstart",
        "wards without devices, before go-live",
    ),
}

_DESTINATIONS: Final[dict[str, tuple[str, str]]] = {
    "home": ("hjem", "home"),
    "long_term_care": ("langtidsplass", "long-term care"),
    "hospital": ("sykehus", "hospital"),
    "death": ("død", "death"),
}

_PARAMETERS: Final[dict[str, tuple[str, str]]] = {
    "bed_days_avoided_per_stay": (
        "liggedøgn spart per opphold (effekt)",
        "bed-days avoided per stay (effect)",
    ),
    "readmissions_avoided_per_stay": (
        "reinnleggelser unngått per opphold (effekt)",
        "readmissions avoided per stay (effect)",
    ),
    "cost_per_bed_day_nok": ("kostnad per liggedøgn", "cost per bed-day"),
    "variable_cost_share": (
        "andel av døgnkostnaden som faller bort",
        "share of the day cost that falls away",
    ),
    "stays_per_year": ("korttidsopphold per år", "short-term stays per year"),
    "annual_short_term_budget_nok": ("budsjett for korttidsopphold", "short-term-stay budget"),
    "readmission_municipal_share": (
        "andel reinnleggelser til kommunalt korttidsopphold",
        "share of readmissions to a municipal stay",
    ),
    "uptake_share": ("andel av oppholdene i programmet", "share of stays in the programme"),
    "ramp_up_years": ("år til full innføring", "years to full roll-out"),
    "device_count": ("antall hjelpemidler ved full dekning", "devices at full coverage"),
    "device_cost_per_year_nok": ("kostnad per hjelpemiddel og år", "cost per device and year"),
    "licence_cost_per_year_nok": ("lisenser og drift per år", "licences and hosting per year"),
    "staff_time_per_stay_h": ("ekstra personaltid per opphold", "extra staff time per stay"),
    "staff_cost_per_hour_nok": ("personalkostnad per time", "staff cost per hour"),
    "one_off_cost_nok": (
        "engangskostnad (innkjøp, opplæring)",
        "one-off cost (purchase, training)",
    ),
    "write_off_years": ("avskrivningstid", "write-off period"),
    "beds_closed_count": ("senger lagt ned", "beds closed"),
    "closed_bed_saving_share": (
        "andel av døgnkostnaden spart per nedlagt seng",
        "share of the day cost saved per closed bed",
    ),
    "discount_rate": ("diskonteringsrente (reell)", "discount rate (real)"),
    "price_year": ("prisår", "price year"),
}

_PLACEHOLDER_NB: Final = (
    "Plassholder til illustrasjon, uten kilde: kontrakten for utstyret er ikke forhandlet "
    "ferdig (Digitaliseringsstrategien for offentlig sektor, kap. 7). Erstatt med tallene i "
    "kontrakten."
)
#: The built-in parameters' sources in bokmål (the core's, in :func:`default_parameters`, are
#: English); a source someone typed is shown as typed.
_DEFAULT_SOURCES_NB: Final[dict[str, str]] = {
    "cost_per_bed_day_nok": (
        "Midtpunktet i planrammen 2 600–3 100 kr netto per liggedøgn på kommunalt "
        "korttidsopphold, fra StayActive-prosjektets programbeskrivelse; IKKE kontrollert. "
        "Nærmeste KOSTRA-tall, «Utgifter per oppholdsdøgn i institusjon» (SSB: brutto "
        "driftsutgifter i KOSTRA-funksjon 253 + 261 per oppholdsdøgn fra IPLOS/KPR), er brutto, "
        "ikke netto, og gjelder både langtids- og korttidsopphold. Bekreft kommunens eget tall "
        "og år."
    ),
    "variable_cost_share": (
        "Antakelse, uten kilde: mat, medisiner, forbruksmateriell og vask som andel av "
        "nettokostnaden per liggedøgn på korttidsopphold; personal, bygg og administrasjon "
        "faller ikke bort når en seng står tom. Bekreft fra kommunens regnskap (KOSTRA-funksjon "
        "253 fordelt på art)."
    ),
    "stays_per_year": (
        "Plassholder: 200 mill. kr / 2 850 kr per liggedøgn / om lag 19,5 døgn per opphold "
        "(gjennomsnittlig liggetid på korttidsopphold slik KOSTRA teller, uten avkorting). "
        "Rapporten bruker i stedet antall opphold i journalen når den dekker et helt år; "
        "bekreft mot kommunens KPR-tall (tjeneste 18–20)."
    ),
    "annual_short_term_budget_nok": (
        "Digitaliseringsstrategien «Én digital offentlig sektor» (2019), kap. 7: korttidsopphold "
        "koster Stavanger kommune 200 mill. kr i året. Året tallet gjelder er ikke oppgitt "
        "(datoen er utgivelsesåret); bekreft mot gjeldende budsjett. Brukes bare til å vise "
        "verdien som andel av budsjettet."
    ),
    "readmission_municipal_share": (
        "Plassholder: andel av reinnleggelsene innen 30 dager som er et nytt kommunalt "
        "korttidsopphold (resten er sykehusinnleggelser, som helseforetaket betaler: den "
        "kommunale medfinansieringen av sykehusopphold ble avviklet i 2015). Tell den i journalen."
    ),
    "uptake_share": (
        "Plassholder: andel av kommunens korttidsopphold på avdelinger med programmet (og med "
        "samtykke) når det er fullt innført. Et valg av scenario, ikke en målt verdi."
    ),
    "ramp_up_years": (
        "Plassholder: år fra oppstart til full bruk (bruken i år k er full bruk ganger "
        "min(1, k / år til full innføring)). Et valg av scenario."
    ),
    "device_count": _PLACEHOLDER_NB + " Ved full bruk.",
    "device_cost_per_year_nok": _PLACEHOLDER_NB,
    "licence_cost_per_year_nok": _PLACEHOLDER_NB + " Ved full bruk.",
    "staff_time_per_stay_h": _PLACEHOLDER_NB,
    "staff_cost_per_hour_nok": _PLACEHOLDER_NB,
    "one_off_cost_nok": _PLACEHOLDER_NB,
    "write_off_years": _PLACEHOLDER_NB,
    "beds_closed_count": (
        "Ingen beslutning om å legge ned senger er registrert; sett den med beslutningens "
        "referanse."
    ),
    "closed_bed_saving_share": (
        "Antakelse, uten kilde: andel av kostnaden per liggedøgn for en nedlagt seng som "
        "budsjettet sparer (personal og driftskostnader faller bort; bygg og felles tjenester "
        "blir)."
    ),
    "discount_rate": (
        "Finansdepartementet, rundskriv R-109/2021 av 25. juni 2021 (Prinsipper og krav ved "
        "utarbeidelse av samfunnsøkonomiske analyser): reell risikojustert kalkulasjonsrente på "
        "4 % i året for virkninger de første 40 årene. Skrevet for statlige tiltak; brukt her "
        "som norm for offentlig sektor i Norge."
    ),
    "price_year": (
        "Prisåret for alle kronebeløp i dette parametersettet (nominelle kroner det året)."
    ),
}

_UNITS: Final[dict[str, tuple[str, str]]] = {
    "NOK/year": ("kr/år", "NOK/year"),
    "NOK": ("kr", "NOK"),
    "NOK/bed-day": ("kr/døgn", "NOK/bed-day"),
    "NOK/device/year": ("kr per hjelpemiddel og år", "NOK/device/year"),
    "NOK/hour": ("kr/time", "NOK/hour"),
    "days": ("døgn", "days"),
    "bed-days avoided per stay": ("døgn per opphold", "bed-days per stay"),
    "bed-days/year": ("døgn/år", "bed-days/year"),
    "stays/year": ("opphold/år", "stays/year"),
    "stays": ("opphold", "stays"),
    "readmissions/year": ("reinnleggelser/år", "readmissions/year"),
    "readmissions per stay": ("per opphold", "per stay"),
    "readmissions avoided per stay": ("per opphold", "per stay"),
    "months": ("måneder", "months"),
    "years": ("år", "years"),
    "hours/stay": ("timer per opphold", "hours/stay"),
    "devices": ("stk.", "devices"),
    "beds": ("senger", "beds"),
    "year": ("", ""),
    "wards": ("avdelinger", "wards"),
    "discharges home": ("utskrivninger", "discharges"),
    "NOK cash per NOK spent": ("kr per kr", "NOK per NOK"),
    "readmissions per discharge home": ("per utskrivning hjem", "per discharge home"),
}


def _pick(pair: tuple[str, str], language: Language) -> str:
    return pair[0] if language == "nb" else pair[1]


def text(key: str, language: Language, **fields: object) -> str:
    """The label ``key`` in ``language``, with ``{name}`` fields filled in."""
    return _pick(_TEXT[key], language).format(**fields)


def group_label(name: str, language: Language) -> str:
    """A group of stays (``"intervention/after"``) in plain words."""
    return _pick(_GROUPS[name], language) if name in _GROUPS else name


def destination_label(name: str, language: Language) -> str:
    """A discharge destination in plain words."""
    return _pick(_DESTINATIONS[name], language)


def parameter_label(name: str, language: Language) -> str:
    """A money parameter or effect input in plain words."""
    return _pick(_PARAMETERS[name], language) if name in _PARAMETERS else name


def parameter_source(name: str, source: str, language: Language) -> str:
    """A parameter's source as the reader reads it: a built-in default's in ``language``,
    any other as it was typed."""
    if language == "nb" and source == getattr(default_parameters(), name).source:
        return _DEFAULT_SOURCES_NB[name]
    return source


def reason_label(reason: str, language: Language) -> str:
    """Why a stay was left out, in plain words."""
    return _pick(_REASONS[reason], language) if reason in _REASONS else reason


def check_label(name: str, language: Language) -> str:
    """A design check in plain words."""
    return text(f"check.{name}", language)


def design_label(design: str, language: Language) -> str:
    """A design (``"historical"``) in plain words."""
    return text(f"design.{design}", language)


def unit_label(unit: str, language: Language) -> str:
    """A unit as the reader writes it (``"NOK/year"`` -> ``"kr/år"``)."""
    return _pick(_UNITS[unit], language) if unit in _UNITS else unit
