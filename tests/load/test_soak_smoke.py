"""The soak's workload for a few seconds on each backend: the app served by uvicorn (two
workers) on loopback, every request answered as expected, every acknowledged write stored.

No timing is asserted: ``benchmarks/soak.py`` runs the same workload for 10 minutes and reports
the speed and the memory (docs/reliability.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.load.workload import (
    Mix,
    build_site,
    free_port,
    lost_writes,
    run_workload,
    start_server,
    stop_server,
    unexpected,
)
from tests.store.databases import BACKENDS, new_database_url

SECONDS = 10
# Every kind of request in a short run: two officers (the first upload of a run goes through the
# page's form, the second by the API), no PDF (its own tests render it; the soak asks for some).
SHORT = Mix(citizens=2, officers=2, officer_pause=0.2, analyst_pause=0.2, viewer_pause=0.2,
            pdf_every=0)  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_short_soak_answers_every_request_and_loses_no_write(
    backend: str, tmp_path: Path
) -> None:
    for url in new_database_url(backend, tmp_path):
        target = build_site(url, tmp_path)
        port = free_port()
        server = start_server(url, tmp_path, port, workers=2)
        try:
            rec = run_workload(replace(target, base=f"http://127.0.0.1:{port}"), SECONDS, SHORT)
        finally:
            stop_server(server)
        assert unexpected(rec) == {}
        kinds = {kind for kind, _, _ in rec.samples}
        assert {"survey_json", "survey_form", "upload_api", "upload_form"} <= kinds
        assert {"run_evaluation", "run_page", "report_html", "report_xlsx"} <= kinds
        assert {"ranking_page", "city_api"} <= kinds
        assert rec.receipts and rec.uploads and rec.runs
        assert lost_writes(url, target, rec) == []
        forged = replace(
            rec,
            receipts=[*rec.receipts, "never-given"],
            uploads={**rec.uploads, "soak-never-0.csv": {"L1P2-A1": 1.0}},
            runs=[*rec.runs, 10**6],
        )
        assert len(lost_writes(url, target, forged)) == 3  # the check does see a missing write
