"""Coverage-guided fuzzing of CityLoop's file importers with atheris (libFuzzer), one target a run.

Each target feeds the fuzzer's bytes to one reader and accepts two outcomes: a result, or a
``CityLoopError`` (the clear, translated refusal). Any other exception is a crash: atheris
stops, prints the input and writes it to ``crash-*``. The readers are the pure parsing halves of
the importers (no database): the all-or-nothing write of each importer is proved by the
hypothesis tests in ``tests/fuzz``. Seeds are valid files the platform writes itself.

Run: .venv/bin/python benchmarks/fuzz_importers.py TARGET [-max_total_time=S] [-runs=N]
     (TARGET: values, catalogue-xlsx, dcat, ngsild, questionnaire, framework, formula,
     plan-catalogue, progress; every other argument goes to libFuzzer; the seed corpus is
     written to /tmp/cityloop-fuzz/TARGET unless a folder is given)
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["cityloop"]):
    from cityloop.datahub.catalogue_excel import read_catalogue_workbook, write_catalogue_workbook
    from cityloop.datahub.dcat import catalogue_graph, read_dcat, write_dcat
    from cityloop.datahub.formulas import parse_formula
    from cityloop.datahub.indicator_table import read_values
    from cityloop.datahub.ngsild import PayloadForm, parse_entities, read_entities
    from cityloop.demo.catalogue import demo_catalogue
    from cityloop.errors import CityLoopError
    from cityloop.frameworks import load_framework
    from cityloop.frameworks.loader import parse_yaml
    from cityloop.planning.project_catalogue import load_catalogue
    from cityloop.planning.project_excel import read_catalogue_workbook as read_plan_workbook
    from cityloop.planning.project_excel import write_catalogue_workbook as write_plan_workbook
    from cityloop.supervision.progress_sheet import read_progress_workbook, write_progress_workbook
    from cityloop.survey.questionnaire import parse_questionnaire

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "cityloop"
SCRATCH = Path(tempfile.gettempdir()) / "cityloop-fuzz-files"
FRAMEWORK = load_framework("gbt33356-2016")
PLANS = load_catalogue()
RECEIVED = datetime(2026, 12, 1, tzinfo=UTC)


def as_file(data: bytes, suffix: str) -> Path:
    """The bytes as a file (the readers that take a path)."""
    SCRATCH.mkdir(exist_ok=True)
    path = SCRATCH / f"input{suffix}"
    path.write_bytes(data)
    return path


def text_of(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def fuzz_values(data: bytes) -> None:
    suffix = ".xlsx" if data.startswith(b"PK") else ".csv"
    read_values(as_file(data, suffix), FRAMEWORK)


def fuzz_dcat(data: bytes) -> None:
    fmt = "turtle" if data[:1] == b"@" else "json-ld"
    read_dcat(text_of(data), fmt, source="fuzz")


def fuzz_ngsild(data: bytes) -> None:
    raw = read_entities(data, "application/json", PayloadForm.ANY)
    parse_entities(raw, received_at=RECEIVED, allowed_type="AirQualityObserved")


TARGETS: dict[str, Callable[[bytes], object]] = {
    "values": fuzz_values,
    "catalogue-xlsx": lambda d: read_catalogue_workbook(as_file(d, ".xlsx"), source="fuzz"),
    "dcat": fuzz_dcat,
    "ngsild": fuzz_ngsild,
    "questionnaire": lambda d: parse_questionnaire(text_of(d), "fuzz.yaml"),
    "framework": lambda d: parse_yaml(text_of(d), source="fuzz.yaml"),
    "formula": lambda d: parse_formula(text_of(d)),
    "plan-catalogue": lambda d: read_plan_workbook(d, "fuzz.xlsx", PLANS),
    "progress": lambda d: read_progress_workbook(d, "fuzz.xlsx"),
}


def seeds(target: str) -> list[bytes]:
    """Valid inputs of the target, written by CityLoop itself where it writes such files."""
    entries = demo_catalogue().entries[:3]
    if target == "values":
        codes = FRAMEWORK.indicator_codes[:3]
        rows = [f"110100,2024,{c},{n * 10},统计年鉴," for n, c in enumerate(codes)]
        text = "\n".join(["单位代码,年份,指标代码,数值,数据来源,备注", *rows]) + "\n"
        return [text.encode("gbk"), text.encode("utf-8-sig")]
    if target == "catalogue-xlsx":
        path = SCRATCH / "seed.xlsx"
        SCRATCH.mkdir(exist_ok=True)
        write_catalogue_workbook(path, entries)
        return [path.read_bytes()]
    if target == "dcat":
        graph = catalogue_graph(entries, title_zh="目录")
        return [write_dcat(graph, fmt).encode() for fmt in ("json-ld", "turtle")]
    if target == "ngsild":
        folder = ROOT / "tests" / "data" / "smartdatamodels" / "AirQualityObserved"
        return [(folder / "example-normalized.json").read_bytes()]
    if target == "questionnaire":
        folder = PACKAGE / "survey" / "questionnaires"
        return [(folder / "government-gbt33356-2016.yaml").read_bytes()]
    if target == "framework":
        return [(ROOT / "tests" / "data" / "mini-framework.yaml").read_bytes()]
    if target == "formula":
        text = (PACKAGE / "frameworks" / "cityloop-operations-2026.yaml").read_text("utf-8")
        return [line.split("formula: '", 1)[1].split("'}")[0].encode()
                for line in text.splitlines() if "formula: '" in line]  # fmt: skip
    if target == "plan-catalogue":
        return [write_plan_workbook(PLANS)]
    return [write_progress_workbook([], today=date(2026, 12, 1))]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = sys.argv[1]
    read = TARGETS[target]
    options = sys.argv[2:]
    if not any(not a.startswith("-") for a in options):
        corpus = Path(tempfile.gettempdir()) / "cityloop-fuzz" / target
        corpus.mkdir(parents=True, exist_ok=True)
        for n, seed in enumerate(seeds(target)):
            (corpus / f"seed-{n}").write_bytes(seed)
        options.append(str(corpus))

    def one_input(data: bytes) -> None:
        with suppress(CityLoopError):  # a refusal, as promised; anything else is a crash
            read(data)

    atheris.Setup([sys.argv[0], *options], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
