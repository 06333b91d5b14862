"""The robustness service on a stored run, on both backends: the run's inputs rebuilt exactly,
reproducible from the seed, refused when too large for the web; specs, forms and workbooks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pytest

from cityloop.errors import ConfigError, InputError
from cityloop.evaluation.result import TOTAL
from cityloop.i18n import use_language
from cityloop.services import uncertainty as service
from cityloop.services.whatif import visible_to
from tests.web.conftest import site as site  # the populated site, on each backend
from tests.web.site import PROVINCE, Site

FIXED = {"replications": 40, "weights": "none", "sobol": False}


def test_nothing_uncertain_gives_the_stored_run_back_in_every_replication(site: Site) -> None:
    analysis = service.analyse_run(site.db, site.run_id, FIXED)
    result = analysis.result
    assert analysis.data_changed is False and result.replications == 40
    scores = site.db.run_scores(site.run_id, max_level=0)
    stored = scores[(scores["node"] == TOTAL) & (scores["year"] == result.year)]
    stored = stored.set_index(stored["unit"].astype(str))
    order = list(result.units)
    np.testing.assert_allclose(
        result.point_score, stored.loc[order, "score"].to_numpy(), rtol=0, atol=1e-9
    )
    assert result.point_rank.tolist() == stored.loc[order, "rank"].astype(int).tolist()
    assert (result.ranks == result.point_rank[None, :]).all()
    summary = analysis.summary()
    assert (summary["rank_p05"] == summary["point_rank"]).all()
    assert (summary["rank_p95"] == summary["median_rank"]).all()
    assert summary["name"].str.len().min() > 0


def test_same_seed_same_numbers_and_only_visible_units(site: Site) -> None:
    spec = {"replications": 300, "seed": 7, "aggregations": ["arithmetic", "geometric"]}
    one = service.analyse_run(site.db, site.run_id, spec)
    two = service.analyse_run(site.db, site.run_id, spec)
    assert np.array_equal(one.result.ranks, two.result.ranks)
    assert one.summary().equals(two.summary())
    assert not one.result.sensitivity_table.empty
    visible = visible_to(site.db, PROVINCE)
    mine = one.summary(visible)
    assert len(mine) == 3 and set(mine["unit"]) <= set(visible or ())


def test_too_many_replications_for_the_web_are_refused_before_running(site: Site) -> None:
    with pytest.raises(InputError) as caught:
        service.analyse_run(site.db, site.run_id, {"replications": 20_001}, max_replications=20_000)
    assert caught.value.key == "rob.too_many"
    assert "cityloop uncertainty" in caught.value.render()


def test_spec_files_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("replications: 500\nweights: dirichlet\nleave_out: dimension\n", "utf-8")
    spec = service.read_spec(path, replications=64, seed=None)
    assert (spec.replications, spec.weights, spec.leave_out) == (64, "dirichlet", "dimension")
    assert spec.seed == service.DEFAULT_SPEC.seed
    assert service.spec_yaml(spec).startswith("replications: 64\n")
    path.write_text("replications: [\n", "utf-8")
    with pytest.raises(ConfigError, match=r"spec\.yaml"):
        service.read_spec(path)
    path.write_text("replication: 5\n", "utf-8")
    with pytest.raises(ConfigError, match="replication"):
        service.read_spec(path)


def test_the_form_is_read_in_percent_and_bad_numbers_name_the_field() -> None:
    form = service.SpecForm(
        replications="800", weight_spread="10", aggregations=("geometric",), imputations=("none",)
    )
    spec = service.form_spec(form)
    assert spec.weight_spread == pytest.approx(0.1) and spec.imputations == [["none"]]
    assert spec.year is None and spec.aggregations == ["geometric"]
    with pytest.raises(ConfigError) as caught:
        service.form_spec(service.SpecForm(replications="many"))
    assert "replications" in caught.value.render() and "many" in caught.value.render()


def test_the_workbook_has_localised_sheets(site: Site, tmp_path: Path) -> None:
    analysis = service.analyse_run(site.db, site.run_id, {"replications": 100, "seed": 3})
    out = service.write_robustness(analysis, tmp_path / "robust.xlsx", "zh-CN")
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["排名稳健性", "敏感性指数", "抽样因素", "分析信息"]
    header = next(book["排名稳健性"].iter_rows(values_only=True))
    assert "排名中位数" in header and "进入前 k 名概率" in header
    assert book["排名稳健性"].max_row == 63
    with use_language("en"):
        sheets = service.robustness_sheets(analysis)
    assert list(sheets) == ["Rank robustness", "Sensitivity", "Drawn factors", "Provenance"]
    with pytest.raises(InputError, match=r"\.csv"):
        service.write_robustness(analysis, tmp_path / "robust.csv")


def test_methods_ticked_on_the_form_are_drawn_with_the_runs_own(site: Site) -> None:
    own = service.run_config(site.db, site.run_id)
    form = service.SpecForm(aggregations=("geometric",), imputations=("carry_forward",))
    spec = service.form_spec(form, own)
    assert spec.aggregations == [own.aggregation.default, "geometric"]
    assert spec.imputations == [list(own.imputation), ["carry_forward"]]
    assert spec.normalisations == []  # nothing ticked: the run's method alone
