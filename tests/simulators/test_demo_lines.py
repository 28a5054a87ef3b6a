"""What the demo prints for each simulated day: its figures in words, and a quiet day said plainly."""

from datetime import date

from simulators.demo import DayResult, day_line


def test_a_days_line_names_its_figures_and_its_quarantined_answers() -> None:
    day = DayResult(day=4, date=date(2026, 12, 1), seconds=21.4,
                    figures={"inquiries answered": 37, "inquiries rejected": 1, "release sendings": 2})
    assert day_line(day) == ("day 4 · 2026-12-01 ·  21.4s · 37 answers · 1 answer quarantined · 2 releases · "
                             "invariants held")


def test_a_day_without_figures_has_nothing_to_do() -> None:
    assert day_line(DayResult(day=7, date=date(2026, 12, 4), seconds=9.0)) == \
        "day 7 · 2026-12-04 ·   9.0s · nothing to do · invariants held"
