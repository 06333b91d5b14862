"""``cityloop survey …``: open and close surveys, import answers and margins, analyse, publish
the 市民体验 score, export, and list the candidate applications of a city's needs.

Thin adapter over ``services.survey_collect`` and ``services.survey_results``; acts as the CLI user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import current_language, pick, t
from cityloop.services import store
from cityloop.services import survey_collect as collect
from cityloop.services import survey_results as results
from cityloop.services.survey_tables import candidates_frame
from cityloop.survey.questionnaire import shipped_questionnaire, shipped_questionnaire_ids

survey_app = typer.Typer(help=t("surveyweb.cli.help"), no_args_is_help=True)
TOP_NEEDS = 10


def register(app: typer.Typer) -> None:
    """Add the ``survey`` group to ``app``."""
    app.add_typer(survey_app, name="survey")


SurveyId = Annotated[int, typer.Argument(help=t("surveyweb.cli.arg_survey"))]


@survey_app.command("questionnaires", help=t("surveyweb.cli.questionnaires_help"))
def questionnaires_cmd() -> None:
    with guarded():
        db = store.open_database()
        stored = db.surveys.questionnaires()
    table = Table(title=t("surveyweb.cli.questionnaires_title"))
    table.add_column(t("surveyweb.cli.col.questionnaire"), no_wrap=True)  # ids are copied
    for key in ("version", "subject", "title", "origin"):
        table.add_column(t(f"surveyweb.cli.col.{key}"))
    for qid in shipped_questionnaire_ids():
        spec = shipped_questionnaire(qid).spec
        table.add_row(
            qid, spec.version, _subject(spec.subject.value), pick(spec.title.as_dict()),
            t("surveyweb.cli.shipped"),
        )  # fmt: skip
    for row in stored:
        table.add_row(row.id, row.version, "", "", t("surveyweb.cli.stored", user=row.updated_by))
    console.print(table)


@survey_app.command("open", help=t("surveyweb.cli.open_help"))
def open_cmd(
    city: Annotated[str, typer.Argument(help=t("surveyweb.cli.arg_city"))],
    questionnaire: Annotated[str, typer.Option("--questionnaire", help=t("surveyweb.cli.opt_q"))],
    year: Annotated[int, typer.Option("--year", help=t("surveyweb.cli.opt_year"))],
    districts: Annotated[
        str | None, typer.Option("--districts", help=t("surveyweb.cli.opt_districts"))
    ] = None,
) -> None:
    with guarded():
        db = store.open_database()
        chosen = None
        if districts is not None:
            known = {d["code"]: d for d in collect.city_districts(db, city)}
            codes = [c.strip() for c in districts.split(",") if c.strip()]
            chosen = [known.get(c, {"code": c, "name_zh": c, "name_en": c}) for c in codes]
        row = collect.open_survey(
            db, city, questionnaire, year=year, actor=store.cli_user(), districts=chosen
        )
    console.print(
        t("surveyweb.cli.opened", survey=row.id, city=row.unit, year=row.year, slug=row.slug),
        soft_wrap=True,
    )


@survey_app.command("list", help=t("surveyweb.cli.list_help"))
def list_cmd(
    city: Annotated[str | None, typer.Option("--city", help=t("surveyweb.cli.arg_city"))] = None,
) -> None:
    with guarded():
        summaries = results.list_surveys(store.open_database(), city)
    table = Table(title=t("surveyweb.cli.list_title"))
    for key in ("survey", "city", "year", "questionnaire", "status", "responses", "slug"):
        table.add_column(t(f"surveyweb.cli.col.{key}"))
    for s in summaries:
        r = s.row
        table.add_row(
            str(r.id), r.unit, str(r.year), r.questionnaire_id,
            t(f"surveyweb.cli.status.{r.status.value}"), str(s.responses), r.slug,
        )  # fmt: skip
    console.print(table)


@survey_app.command("close", help=t("surveyweb.cli.close_help"))
def close_cmd(survey_id: SurveyId) -> None:
    with guarded():
        row = collect.close_survey(store.open_database(), survey_id, actor=store.cli_user())
    console.print(t("surveyweb.cli.closed", survey=row.id), soft_wrap=True)


@survey_app.command("import", help=t("surveyweb.cli.import_help"))
def import_cmd(
    survey_id: SurveyId,
    file: Annotated[Path, typer.Argument(help=t("surveyweb.cli.arg_file"))],
) -> None:
    with guarded():
        report = results.import_answers(store.open_database(), survey_id, file, store.cli_user())
    console.print(
        t("surveyweb.cli.imported", count=report.stored, survey=survey_id, file=report.file),
        soft_wrap=True,
    )
    if report.ignored_columns:
        ignored = ", ".join(report.ignored_columns)
        console.print(t("surveyweb.cli.ignored", columns=ignored), soft_wrap=True)


@survey_app.command("margins", help=t("surveyweb.cli.margins_help"))
def margins_cmd(
    survey_id: SurveyId,
    file: Annotated[Path, typer.Argument(help=t("surveyweb.cli.arg_file"))],
) -> None:
    with guarded():
        row = results.set_margins(store.open_database(), survey_id, file, store.cli_user())
    variables = ", ".join(f"{k} ({len(v)})" for k, v in row.margins.items())
    console.print(t("surveyweb.cli.margins_set", survey=row.id, variables=variables))


@survey_app.command("analyse", help=t("surveyweb.cli.analyse_help"))
def analyse_cmd(survey_id: SurveyId) -> None:
    with guarded():
        found = results.analyse_survey(store.open_database(), survey_id)
    row = found.survey
    console.print(
        t("surveyweb.cli.counts", survey=row.id, city=row.unit, year=row.year, n=found.responses,
          sources=", ".join(f"{k} {v}" for k, v in found.by_source.items()) or "—"),
        soft_wrap=True,
    )  # fmt: skip
    if found.weighting_note:
        console.print(t(found.weighting_note), soft_wrap=True)
    analysis = found.analysis
    if analysis is None:
        return
    score = analysis.experience_score
    console.print(
        t("surveyweb.cli.score", value=f"{score.value:.1f}", low=f"{score.low:.1f}",
          high=f"{score.high:.1f}", n_eff=f"{analysis.n_eff:.0f}",
          deff=f"{analysis.design_effect:.2f}"),
        soft_wrap=True,
    )  # fmt: skip
    city = analysis.indices[analysis.indices["group_by"] == "*"]
    console.print(_table("indices", city, ["kind", "key", "value", "low", "high", "n"]))
    if not analysis.yoy.empty:
        yoy = analysis.yoy[analysis.yoy["group_by"] == "*"]
        columns = ["kind", "key", "previous_year", "previous", "value", "change", "low", "high"]
        console.print(_table("yoy", yoy, columns))
    if not analysis.ipa.empty:
        ipa = analysis.ipa.assign(quadrant=analysis.ipa["quadrant"].map(_quadrant))
        columns = ["priority", "item", "domain", "satisfaction", "importance", "quadrant"]
        console.print(_table("ipa", ipa, columns))
    needs = analysis.needs.head(TOP_NEEDS).assign(
        share=lambda f: f["share"] * 100,
        low=lambda f: f["low"] * 100,
        high=lambda f: f["high"] * 100,
    )
    columns = ["application", "domain", "level", "share", "low", "high", "respondents"]
    console.print(_table("needs", needs, columns))


@survey_app.command("publish", help=t("surveyweb.cli.publish_help"))
def publish_cmd(survey_id: SurveyId) -> None:
    with guarded():
        done = results.publish_score(store.open_database(), survey_id, store.cli_user())
    console.print(
        t("surveyweb.cli.published", value=f"{done.value:.2f}", low=f"{done.low:.1f}",
          high=f"{done.high:.1f}", indicator=done.indicator, framework=done.framework,
          city=done.unit, year=done.year),
        soft_wrap=True,
    )  # fmt: skip


@survey_app.command("export", help=t("surveyweb.cli.export_help"))
def export_cmd(
    survey_id: SurveyId,
    out: Annotated[Path, typer.Option("--out", help=t("surveyweb.cli.opt_out"))],
) -> None:
    with guarded():
        path = results.export_survey(store.open_database(), survey_id, out, current_language())
    console.print(t("surveyweb.cli.exported", path=str(path)), soft_wrap=True)


@survey_app.command("needs", help=t("surveyweb.cli.needs_help"))
def needs_cmd(
    city: Annotated[str, typer.Argument(help=t("surveyweb.cli.arg_city"))],
    year: Annotated[int, typer.Option("--year", help=t("surveyweb.cli.opt_year"))],
) -> None:
    with guarded():
        found = results.candidate_applications_for(store.open_database(), city, year)
    used = ", ".join(f"{_subject(s.value)} #{row.id}" for s, row in found.surveys.items())
    console.print(t("surveyweb.cli.needs_from", city=city, year=year, surveys=used or "—"))
    frame = candidates_frame(found.candidates, current_language())
    frame["subjects"] = [", ".join(_subject(s.value) for s in c.subjects) for c in found.candidates]
    frame["level"] = frame["level"].map(lambda v: t(f"survey.level.{v}"))
    frame["term"] = frame["term"].map(lambda v: t(f"survey.term.{v}"))
    columns = ["rank", "application", "name", "domain", "level", "term", "demand", "subjects"]
    console.print(_table("needs_title", frame, columns))


# -- rendering ------------------------------------------------------------------------------------


def _subject(value: str) -> str:
    return t(f"surveyweb.cli.subject.{value}")


def _quadrant(value: str) -> str:
    return t(f"survey.quadrant.{value}")


def _table(title: str, frame: pd.DataFrame, columns: list[str]) -> Table:
    """A Rich table of ``columns`` of ``frame``; numbers with one decimal."""
    table = Table(title=t(f"surveyweb.cli.table.{title}"))
    for column in columns:
        table.add_column(t(f"surveyweb.cli.col.{column}"))
    for record in frame[columns].itertuples(index=False):
        table.add_row(*(_cell(v) for v in record))
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.1f}"
    return str(value)
