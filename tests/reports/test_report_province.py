"""The province evaluation report on the synthetic demo: its ranking, stages, peer groups, leaders
and movers equal the engine's tables, only visible cities appear, and bad codes are refused."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import docx
import pytest
from openpyxl import load_workbook

from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.reports import Document, Figure, Heading, ReportFormat, Table, render
from cityloop.services import report_province, runs
from cityloop.services import store as store_service
from cityloop.services.report_province import province_report
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
PROVINCE = "440000"  # the demo's largest province at 62 cities
YEAR = 2025


@dataclass
class Demo:
    db: Database
    run_id: int
    cities: list[str]
    doc: Document


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("report-province")
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}"))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=62, user="fixture")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    units = db.units()
    assert units is not None
    table = units.table
    cities = sorted(table.index[(table["parent"] == PROVINCE) & (table["level"] == "city")])
    yield Demo(db, run_id, [str(c) for c in cities], province_report(db, PROVINCE, run_id=run_id))
    db.dispose()


def table(doc: Document, key: str) -> Table:
    return next(tb for _, tb in doc.tables() if tb.key == key)


def totals(demo: Demo, year: int = YEAR) -> dict[str, tuple[float, int]]:
    scores = demo.db.run_scores(demo.run_id, units=demo.cities, max_level=0)
    rows = scores[(scores["year"] == year) & (scores["node"] == TOTAL)]
    return {str(r.unit): (float(r.score), int(r.rank)) for r in rows.itertuples()}


def test_ranking_is_the_runs_totals_in_order(demo: Demo) -> None:
    expected = totals(demo)
    rows = table(demo.doc, "城市排名").rows
    assert {r[1] for r in rows} == set(expected)
    for _, code, _, total, rank, *_ in rows:
        assert total == pytest.approx(expected[code][0]) and rank == expected[code][1]
    ordered = sorted(expected.values(), key=lambda v: -v[0])
    assert [r[3] for r in rows] == pytest.approx([v[0] for v in ordered])
    assert rows[0][0] == 1


def test_stage_counts_add_up_to_the_cities(demo: Demo) -> None:
    counts = table(demo.doc, "发展阶段分布").rows
    assert sum(int(n) for _, n, _ in counts) == len(totals(demo))  # type: ignore[call-overload]
    assert sum(float(s) for *_, s in counts) == pytest.approx(1.0)  # type: ignore[arg-type]


def test_leaders_have_the_highest_dimension_score(demo: Demo) -> None:
    scores = demo.db.run_scores(demo.run_id, units=demo.cities, max_level=1)
    dims = scores[(scores["year"] == YEAR) & (scores["level"] == 1)]
    best = dims.groupby("node")["score"].max()
    fw = demo.db.framework(FRAMEWORK)
    for name, _, top, _, low, _, _ in table(demo.doc, "领先与落后").rows:
        code = next(d.code for d in fw.dimensions if fw.name(d.code) == name)
        assert top == pytest.approx(best[code]) and low <= top  # type: ignore[operator]


def test_movers_change_is_this_year_minus_last(demo: Demo) -> None:
    now, before = totals(demo), totals(demo, YEAR - 1)
    names = {r[2]: r[1] for r in table(demo.doc, "城市排名").rows}
    for key in ("进步城市", "退步城市"):
        for name, _, change, rank, previous, places in table(demo.doc, key).rows:
            code = str(names[name])
            assert change == pytest.approx(now[code][0] - before[code][0])
            assert places == previous - rank  # type: ignore[operator]


def test_a_city_scope_sees_only_its_own_city(demo: Demo) -> None:
    own = demo.cities[0]
    doc = province_report(demo.db, PROVINCE, run_id=demo.run_id, scope=own)
    assert [r[1] for r in table(doc, "城市排名").rows] == [own]
    assert all(own in str(r[0]) or r[0] for r in table(doc, "同类城市分组").rows)


def test_english_docx_has_english_chapters_and_the_ranking_table(demo: Demo) -> None:
    doc = province_report(demo.db, PROVINCE, run_id=demo.run_id, lang="en")
    word = docx.Document(io.BytesIO(render(doc, ReportFormat.DOCX)))
    chapters = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert chapters == [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 1]
    assert chapters[0] == "1 Ranking of the cities"
    assert [c.text for c in word.tables[0].rows[0].cells][:3] == [
        "Rank in province",
        "Code",
        "City",
    ]
    book = load_workbook(io.BytesIO(render(doc, ReportFormat.XLSX)))
    assert "Ranking" in book.sheetnames


@pytest.mark.parametrize("code", ["999999", "440100"])
def test_an_unknown_code_or_a_city_is_refused(demo: Demo, code: str) -> None:
    with pytest.raises(CityLoopError, match=code):
        province_report(demo.db, code, run_id=demo.run_id)


def test_a_province_page_image_for_the_docs(
    demo: Demo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.reports.test_report_city import page_images

    path = tmp_path_factory.mktemp("pdf") / "province.pdf"
    path.write_bytes(render(demo.doc, ReportFormat.PDF))
    page_images(path, "report-province")
    assert path.stat().st_size > 10_000


def test_a_big_province_charts_its_two_ends_and_tables_every_city(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_province, "CHART_ENDS", 1)  # this province has more than 2
    doc = province_report(demo.db, PROVINCE, run_id=demo.run_id)
    ranking = table(doc, "城市排名")
    (_, chart), *_ = doc.figures()
    names = [row[2] for row in ranking.rows]
    assert len(names) == len(demo.cities) > 2
    assert isinstance(chart, Figure) and chart.chart.categories == (names[0], names[-1])
    assert f"共 {len(demo.cities)} 个城市" in chart.caption
