"""What the city and the province evaluation reports share: the run and year they read, the title
page facts (provenance, synthetic-data note), the stage thresholds and how numbers are written.

Numbers in sentences are written by the same ``Column`` rules as the tables, so a score reads
alike in both; ``report_city`` and ``report_province`` build the documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from cityloop import __version__
from cityloop.evaluation.config import STAGES
from cityloop.i18n import current_language, pick, t
from cityloop.reports import (
    Block,
    Column,
    ColumnKind,
    Document,
    Paragraph,
    ReferenceLine,
    ReportFormat,
)
from cityloop.reports.document import Cell
from cityloop.services.dashboard_cache import Regions, RunView, choose_year, regions, run_view
from cityloop.services.evaluation import load_config
from cityloop.services.report_files import ReportFile, report_file
from cityloop.store import Database, OriginKind

HASH_SHOWN = 12  # enough of the data snapshot's hash to tell snapshots apart on paper
SCORE_DECIMALS = 2


@dataclass(frozen=True)
class Scene:
    """The stored run and year a report reads, and the regions that name its units."""

    view: RunView
    year: int
    regions: Regions

    @property
    def thresholds(self) -> tuple[float, float, float]:
        """The stage boundaries (framework scale) the run was evaluated with."""
        low, middle, high = load_config(self.view.run.config).stages.thresholds
        return (low, middle, high)

    @property
    def previous(self) -> int | None:
        """The run's year before the report's one (None: the first year)."""
        earlier = [y for y in self.view.years if y < self.year]
        return max(earlier) if earlier else None


def open_scene(db: Database, run_id: int | None, year: int | None) -> Scene:
    """The run ``run_id`` (default: the newest of the default framework) and its ``year``.

    Raises
    ------
    NoRunError
        No such run, or no run yet.
    CityLoopError
        A year the run does not have.
    """
    view = run_view(db, run_id, None)
    return Scene(view, choose_year(view, year), regions(db))


def number(value: float | None, decimals: int = SCORE_DECIMALS) -> str:
    """``value`` as the report's tables write a number."""
    return Column("", ColumnKind.NUMBER, decimals).text(value)


def signed(value: float | None, decimals: int = SCORE_DECIMALS) -> str:
    """A change with its sign (+1.25, −0.40)."""
    return "—" if value is None else f"{value:+,.{decimals}f}"


def percent(value: float | None, decimals: int = 1) -> str:
    """A share 0–1 as the tables write a percentage."""
    return Column("", ColumnKind.PERCENT, decimals).text(value)


def provenance_facts(scene: Scene) -> tuple[tuple[str, str], ...]:
    """The title page's year, framework, run and data snapshot, and the generating version."""
    fw, run = scene.view.framework, scene.view.run
    title = pick(fw.spec.title.as_dict())
    return (
        (t("repcity.fact.year"), str(scene.year)),
        (t("repcity.fact.framework"), t("repcity.fact.framework_value", title=title,
                                        id=fw.id, version=fw.version)),
        (t("repcity.fact.run"), t("repcity.fact.run_value", run=run.id,
                                  hash=run.data_hash[:HASH_SHOWN])),
        (t("repcity.fact.generated"), t("repcity.fact.generated_value", version=__version__)),
    )  # fmt: skip


def has_demo_values(db: Database, framework_id: str, year: int, units: list[str]) -> bool:
    """Whether any stored value of ``units`` in ``year`` came from the demo generator.

    The demo marks what it stores with the origin kind ``demo`` (``services.store.load_demo``);
    a report on such data must say on its title page that no real city is described.
    """
    cells = db.round_cells(framework_id, year, units)
    return bool((cells["origin_kind"].astype(str) == OriginKind.DEMO.value).any())


def synthetic(db: Database, scene: Scene, units: list[str]) -> bool:
    """``has_demo_values`` for the report's run and year."""
    return has_demo_values(db, scene.view.framework.id, scene.year, units)


def evaluation_document(
    scene: Scene,
    *,
    title: str,
    subtitle: str,
    facts: tuple[tuple[str, str], ...],
    blocks: list[Block],
    is_synthetic: bool,
) -> Document:
    """A city or province report: ``facts`` then the run's provenance on the title page, and
    for synthetic data a title-page fact and an opening note saying so."""
    said = ((t("repcity.fact.data"), t("repcity.synthetic_fact")),) if is_synthetic else ()
    note = [Paragraph(t("repcity.synthetic_note"), note=True)] if is_synthetic else []
    return Document(
        title=title,
        lang=current_language(),
        issued=issued_today(),
        subtitle=subtitle,
        facts=(*facts, *provenance_facts(scene), *said),
        blocks=(*note, *blocks),
    )


def stage_lines(scene: Scene) -> tuple[ReferenceLine, ...]:
    """The stage thresholds as reference lines, each named after the stage it opens."""
    return tuple(
        ReferenceLine(t(f"stage.{stage}"), value)
        for stage, value in zip(STAGES[1:], scene.thresholds, strict=True)
    )


def stage_note(scene: Scene) -> str:
    """One sentence giving the stage thresholds the run used."""
    low, middle, high = (number(v, 0) for v in scene.thresholds)
    return t("repcity.stage_note", low=low, middle=middle, high=high)


def issued_today() -> date:
    """The issue date printed on a report (the day it was generated)."""
    return date.today()


def report_year(doc: Document) -> str:
    """The year a city or province report describes, read back from its title page."""
    label = t("repcity.fact.year", doc.lang)
    return next((value for key, value in doc.facts if key == label), "")


def file_name(
    kind: str, code: str, doc: Document, fmt: ReportFormat, lang: str | None = None
) -> str:
    """The file a report is saved as, e.g. ``城市评价报告-440100-2025.pdf`` (the words in
    ``lang``, by default the report's language)."""
    words = t(f"repcity.file.{kind}", lang or doc.lang)
    return f"{words}-{code}-{report_year(doc)}.{fmt.value}"


def evaluation_file(
    kind: str, code: str, doc: Document, fmt: ReportFormat, *, served: bool = False
) -> ReportFile:
    """A city (``kind`` = ``city``) or province report as a file named by ``file_name``."""
    return report_file(doc, fmt, file_name(kind, code, doc, fmt),
                       file_name(kind, code, doc, fmt, "en"), served=served)  # fmt: skip


def table_rows(frame: pd.DataFrame, columns: list[str]) -> tuple[tuple[Cell, ...], ...]:
    """``frame``'s ``columns`` as a table's rows, a missing value (NaN, NA) as None."""
    values = frame[columns].astype(object).to_numpy().tolist()
    return tuple(tuple(None if pd.isna(v) else v for v in row) for row in values)
