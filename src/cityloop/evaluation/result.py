"""The result of an evaluation: arrays from the pipeline, tables on demand.

Tables are built lazily from the arrays, so a run that only needs the overall ranking never
pays for six million contribution rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from cityloop.evaluation.aggregate import TreeShape, effective_weights
from cityloop.evaluation.config import STAGES, EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.groups import GroupKind
from cityloop.evaluation.outliers import OutlierReport
from cityloop.frameworks.tree import Framework
from cityloop.i18n import t

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TOTAL = "TOTAL"


def _labels(codes: npt.NDArray[Any] | pd.Series, categories: Sequence[str]) -> pd.Categorical:
    """A categorical column from integer codes: cheap for millions of rows."""
    factory: Any = pd.Categorical.from_codes  # the stubs demand a Sequence; arrays are fine
    result: pd.Categorical = factory(codes, categories=pd.Index(list(categories)))
    return result


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Scores, ranks and stages of every node for every unit and year, with provenance.

    Array axes: (unit, year, node) where node runs over the framework's nodes and then the
    overall index ``TOTAL``. Units and years follow ``cube.units`` and ``cube.years``.
    """

    framework: Framework
    config: EvaluationConfig
    cube: ValuesCube
    groups: dict[str, GroupKind]
    prepared_values: FloatArray
    imputed: BoolArray
    kept: BoolArray
    raw_coverage: FloatArray
    outliers: OutlierReport
    normalised: FloatArray
    weight: FloatArray
    scores: FloatArray
    ranks: IntArray  # (unit, year, ranked node): dimensions then TOTAL
    stages: IntArray  # same axes as ranks
    shape: TreeShape
    scale: float
    warnings: tuple[str, ...]
    goalpost_fallback: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    # -- labels -------------------------------------------------------------------------------

    @property
    def nodes(self) -> tuple[str, ...]:
        return (*self.framework.codes, TOTAL)

    @cached_property
    def node_level(self) -> IntArray:
        return np.append(self.framework.depth, 0)

    def node_name(self, code: str, lang: str | None = None) -> str:
        return t("eval.total", lang) if code == TOTAL else self.framework.name(code, lang)

    @cached_property
    def shares(self) -> FloatArray:
        """Each node's effective share of the overall index, per unit and year."""
        n_units, n_years, n_nodes = self.scores.shape
        present = ~np.isnan(self.scores.reshape(-1, n_nodes))
        share = effective_weights(present, self.shape, self.weight)
        return share.reshape(n_units, n_years, n_nodes)

    def _long(
        self,
        values: dict[str, npt.NDArray[Any]],
        nodes: IntArray,
        columns: IntArray | None = None,
        members: BoolArray | None = None,
    ) -> pd.DataFrame:
        """Flatten (unit, year, column) arrays to a long table over kept unit-years.

        ``nodes`` labels the rows; ``columns`` picks the array columns (default: ``nodes``),
        for arrays such as ``ranks`` that hold only the ranked nodes; ``members`` keeps only
        those units.
        """
        cols = nodes if columns is None else columns
        kept = self.kept if members is None else self.kept & members[:, None]
        u_idx, y_idx = np.nonzero(kept)
        n_nodes = nodes.size
        frame: dict[str, Any] = {
            "unit": _labels(np.repeat(u_idx, n_nodes), categories=self.cube.units),
            "year": np.repeat(np.asarray(self.cube.years, dtype=np.int64)[y_idx], n_nodes),
            "node": _labels(np.tile(nodes, u_idx.size), categories=self.nodes),
        }
        for name, arr in values.items():
            frame[name] = arr[u_idx, y_idx][:, cols].reshape(-1)
        return pd.DataFrame(frame)

    # -- tables -------------------------------------------------------------------------------

    @cached_property
    def change(self) -> FloatArray:
        """Change in score from the previous year of the panel (NaN for the first year)."""
        out = np.full(self.scores.shape, np.nan)
        out[:, 1:] = self.scores[:, 1:] - self.scores[:, :-1]
        return out

    @cached_property
    def scores_table(self) -> pd.DataFrame:
        """Long table: unit, year, node, level, score, change — every node incl. indicators."""
        nodes = np.arange(len(self.nodes))
        df = self._long({"score": self.scores, "change": self.change}, nodes)
        df.insert(3, "level", self.node_level[df["node"].cat.codes.to_numpy()])
        return df

    @cached_property
    def ranks_table(self) -> pd.DataFrame:
        """Long table: unit, year, node, scope_kind, scope, rank, of — dimensions and TOTAL.

        ``rank`` is the competition rank (1 = best; ties share the better rank) among the
        units of the scope that have a score; ``of`` is how many were ranked.
        """
        dims = self._dimension_nodes
        parts = [self._rank_frame(self.ranks, "all", "all", None)]
        for kind in self.config.group_kinds:
            if kind not in self.groups:
                continue
            g = self.groups[kind]
            # One ranking per group: a loop over groups (tens), each a whole-array rankdata.
            for gi, code in enumerate(g.codes):
                members = np.zeros(len(self.cube.units), dtype=bool)
                members[g.unit[g.group == gi]] = True
                sub = stats.rankdata(
                    -self.scores[members][:, :, dims], axis=0, method="min", nan_policy="omit"
                )
                full = np.zeros(self.ranks.shape, dtype=np.int64)
                full[members] = np.where(np.isnan(sub), 0, sub).astype(np.int64)
                parts.append(self._rank_frame(full, kind, code, members))
        return pd.concat(parts, ignore_index=True)

    def _rank_frame(
        self, ranks: IntArray, kind: str, scope: str, members: BoolArray | None
    ) -> pd.DataFrame:
        dims = self._dimension_nodes
        scored = ~np.isnan(self.scores[:, :, dims])
        if members is not None:
            scored &= members[:, None, None]
        of = np.broadcast_to(scored.sum(axis=0), ranks.shape)
        positions = np.arange(dims.size)
        df = self._long({"rank": ranks, "of": of}, dims, positions, members)
        df = df[df["rank"].to_numpy() > 0].reset_index(drop=True)
        df.insert(3, "scope_kind", kind)
        df.insert(4, "scope", scope)
        return df

    @cached_property
    def _dimension_nodes(self) -> IntArray:
        return np.append(np.arange(self.framework.n_dimensions), len(self.nodes) - 1)

    @cached_property
    def stages_table(self) -> pd.DataFrame:
        """Long table: unit, year, node, stage (code), stage_name — dimensions and TOTAL."""
        dims = self._dimension_nodes
        df = self._long({"stage_index": self.stages}, dims, np.arange(dims.size))
        codes = np.array(["", *STAGES], dtype=object)
        df["stage"] = codes[df["stage_index"].to_numpy() + 1]
        df["stage_name"] = df["stage"].map({c: t(f"stage.{c}") for c in STAGES}).fillna("")
        return df

    @cached_property
    def peer_median(self) -> FloatArray:
        """Median normalised value of each indicator among the peers, per unit and year."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kind = self.groups.get(self.config.peer_group or "")
            if kind is None:
                med = np.nanmedian(self.normalised, axis=0)
                return np.broadcast_to(med, self.normalised.shape)
            group = kind.first_group(len(self.cube.units))
            out = np.full(self.normalised.shape, np.nan)
            for gi in range(len(kind.codes)):  # one median per peer group, never per unit
                members = group == gi
                out[members] = np.nanmedian(self.normalised[members], axis=0)
            return out

    @cached_property
    def contributions_table(self) -> pd.DataFrame:
        """Long table per indicator: value, imputed, normalised, share, points, gaps.

        ``share`` is the indicator's effective weight in the overall index after missing
        values were re-weighted; ``points`` = share × normalised × scale (exact for arithmetic
        aggregation); ``vs_peer`` = share × (normalised − peer median) × scale: negative values
        pull the unit below its peers; ``lost_vs_target`` = share × (1 − normalised) × scale.
        """
        leaf = self.framework.leaf_nodes
        share = self.shares[:, :, leaf]
        values = {
            "value": self.cube.values,
            "imputed": self.imputed,
            "normalised": self.normalised,
            "share": share,
            "points": share * self.normalised * self.scale,
            "vs_peer": share * (self.normalised - self.peer_median) * self.scale,
            "lost_vs_target": share * (1.0 - self.normalised) * self.scale,
        }
        df = self._long({k: np.asarray(v) for k, v in values.items()}, np.arange(leaf.size))
        df["node"] = _labels(df["node"].cat.codes, categories=self.framework.indicator_codes)
        return df.rename(columns={"node": "indicator"})

    def strengths_weaknesses(self, k: int = 3) -> pd.DataFrame:
        """Per unit-year, the ``k`` indicators that matter most, on three sides (1..k each).

        ``strength``: lift the unit most above its peers (``vs_peer`` points, positive);
        ``weakness``: pull it most below its peers (``vs_peer`` points, negative);
        ``target_gap``: lose the most points against the target (``lost_vs_target``).
        ``gap`` is in points of the overall index.
        """
        leaf = self.framework.leaf_nodes
        share = self.shares[:, :, leaf] * self.scale
        u_idx, y_idx = np.nonzero(self.kept)
        vs_peer = (share * (self.normalised - self.peer_median))[u_idx, y_idx]
        lost = (share * (1.0 - self.normalised))[u_idx, y_idx]
        k = min(k, vs_peer.shape[1])
        codes = np.asarray(self.framework.indicator_codes, dtype=object)
        parts = []
        # sign orders the side's most important gap first; only gaps of that sign count.
        for side, gap, sign in (
            ("strength", vs_peer, -1.0),
            ("weakness", vs_peer, 1.0),
            ("target_gap", lost, -1.0),
        ):
            keyed = np.where(np.isnan(gap), np.inf, sign * gap)
            order = np.argsort(keyed, axis=1, kind="stable")[:, :k]
            picked = np.take_along_axis(gap, order, axis=1)
            rows, pos = np.nonzero(~np.isnan(picked) & ((sign * picked) < 0))
            parts.append(
                pd.DataFrame(
                    {
                        "unit": np.asarray(self.cube.units, dtype=object)[u_idx[rows]],
                        "year": np.asarray(self.cube.years)[y_idx[rows]],
                        "side": side,
                        "position": pos + 1,
                        "indicator": codes[order[rows, pos]],
                        "gap": picked[rows, pos],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    @cached_property
    def coverage_table(self) -> pd.DataFrame:
        """Per unit-year: share of indicators observed, after imputation, and whether kept."""
        after = (~np.isnan(self.prepared_values)).mean(axis=-1)
        uu, yy = np.meshgrid(
            np.arange(len(self.cube.units)), np.arange(len(self.cube.years)), indexing="ij"
        )
        return pd.DataFrame(
            {
                "unit": np.asarray(self.cube.units, dtype=object)[uu.ravel()],
                "year": np.asarray(self.cube.years)[yy.ravel()],
                "observed": self.raw_coverage.ravel(),
                "after_imputation": np.where(self.kept, after, np.nan).ravel(),
                "kept": self.kept.ravel(),
            }
        )

    @cached_property
    def indicator_coverage(self) -> pd.DataFrame:
        """Per indicator: share of unit-years observed and imputed; outlier treatment."""
        observed = (~np.isnan(self.cube.values)).mean(axis=(0, 1))
        return pd.DataFrame(
            {
                "indicator": self.framework.indicator_codes,
                "observed": observed,
                "imputed": self.imputed.mean(axis=(0, 1)),
                "outlier_flagged": self.outliers.flagged,
                "winsorised": self.outliers.winsorised,
                "log_transformed": self.outliers.logged,
            }
        )

    @property
    def excluded(self) -> pd.DataFrame:
        """Unit-years refused for coverage below ``min_coverage`` (or without any data)."""
        cov = self.coverage_table
        return cov[~cov["kept"]].reset_index(drop=True)

    @cached_property
    def weights_table(self) -> pd.DataFrame:
        """Each node's weight within its parent and its share of the overall index."""
        rows = self.framework.nodes_table()
        share = self.framework.path_weight(self.weight[:-1])
        for i, row in enumerate(rows):
            row["weight"] = float(self.weight[i])
            row["share"] = float(share[i])
        return pd.DataFrame(rows)

    @cached_property
    def group_scores(self) -> pd.DataFrame:
        """Mean, median and count of member scores per group, year and dimension/TOTAL."""
        nodes = self._dimension_nodes
        parts: list[pd.DataFrame] = []
        years = np.asarray(self.cube.years)
        for kind, g in self.groups.items():
            for gi, code in enumerate(g.codes):  # one reduction per group, not per unit
                sub = self.scores[g.unit[g.group == gi]][:, :, nodes]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, median = np.nanmean(sub, axis=0), np.nanmedian(sub, axis=0)
                count = np.sum(~np.isnan(sub), axis=0)
                yy, nn = np.meshgrid(np.arange(years.size), np.arange(nodes.size), indexing="ij")
                parts.append(
                    pd.DataFrame(
                        {
                            "group_kind": kind,
                            "group": code,
                            "year": years[yy.ravel()],
                            "node": np.asarray(self.nodes, dtype=object)[nodes[nn.ravel()]],
                            "mean": mean.ravel(),
                            "median": median.ravel(),
                            "units": count.ravel(),
                        }
                    )
                )
        if not parts:
            return pd.DataFrame(
                columns=["group_kind", "group", "year", "node", "mean", "median", "units"]
            )
        out = pd.concat(parts, ignore_index=True)
        return out[out["units"] > 0].reset_index(drop=True)

    def summary(self, year: int | None = None, lang: str | None = None) -> pd.DataFrame:
        """Overall result per unit for one year (default: the latest), best first."""
        y = self.cube.years.index(year) if year is not None else len(self.cube.years) - 1
        total = len(self.nodes) - 1
        kept = self.kept[:, y]
        stage_idx = self.stages[kept, y, -1]
        df = pd.DataFrame(
            {
                "unit": np.asarray(self.cube.units, dtype=object)[kept],
                "year": self.cube.years[y],
                "score": self.scores[kept, y, total],
                "rank": self.ranks[kept, y, -1],
                "change": self.change[kept, y, total],
                "stage": [t(f"stage.{STAGES[s]}", lang) if s >= 0 else "" for s in stage_idx],
            }
        )
        return df.sort_values(["rank", "unit"], kind="stable").reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, in export order."""
        return {
            "scores": self.scores_table,
            "ranks": self.ranks_table,
            "stages": self.stages_table,
            "contributions": self.contributions_table,
            "strengths_weaknesses": self.strengths_weaknesses(),
            "coverage": self.coverage_table,
            "indicator_coverage": self.indicator_coverage,
            "weights": self.weights_table,
            "group_scores": self.group_scores,
        }
