"""The demo's map: the 31 real provinces, city clusters, size classes and the invented units.

Province names and prefecture counts are real; every city, district and population is SYNTHETIC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# (code, full name, short name, English name, real number of prefecture-level divisions,
#  development effect). The effect is a rough east > central > west gradient set by hand so the
# demo looks plausible; it is not a measurement. Municipalities (0 prefectures) get one city.
PROVINCES: tuple[tuple[str, str, str, str, int, float], ...] = (
    ("110000", "北京市", "北京", "Beijing", 0, 1.0),
    ("120000", "天津市", "天津", "Tianjin", 0, 0.55),
    ("130000", "河北省", "河北", "Hebei", 11, 0.0),
    ("140000", "山西省", "山西", "Shanxi", 11, -0.15),
    ("150000", "内蒙古自治区", "内蒙古", "Inner Mongolia", 12, -0.1),
    ("210000", "辽宁省", "辽宁", "Liaoning", 14, 0.05),
    ("220000", "吉林省", "吉林", "Jilin", 9, -0.2),
    ("230000", "黑龙江省", "黑龙江", "Heilongjiang", 13, -0.3),
    ("310000", "上海市", "上海", "Shanghai", 0, 1.0),
    ("320000", "江苏省", "江苏", "Jiangsu", 13, 0.8),
    ("330000", "浙江省", "浙江", "Zhejiang", 11, 0.85),
    ("340000", "安徽省", "安徽", "Anhui", 16, 0.25),
    ("350000", "福建省", "福建", "Fujian", 9, 0.5),
    ("360000", "江西省", "江西", "Jiangxi", 11, 0.05),
    ("370000", "山东省", "山东", "Shandong", 16, 0.45),
    ("410000", "河南省", "河南", "Henan", 17, 0.05),
    ("420000", "湖北省", "湖北", "Hubei", 13, 0.35),
    ("430000", "湖南省", "湖南", "Hunan", 14, 0.15),
    ("440000", "广东省", "广东", "Guangdong", 21, 0.8),
    ("450000", "广西壮族自治区", "广西", "Guangxi", 14, -0.2),
    ("460000", "海南省", "海南", "Hainan", 4, 0.1),
    ("500000", "重庆市", "重庆", "Chongqing", 0, 0.35),
    ("510000", "四川省", "四川", "Sichuan", 21, 0.2),
    ("520000", "贵州省", "贵州", "Guizhou", 9, -0.15),
    ("530000", "云南省", "云南", "Yunnan", 16, -0.25),
    ("540000", "西藏自治区", "西藏", "Xizang", 7, -0.6),
    ("610000", "陕西省", "陕西", "Shaanxi", 10, 0.15),
    ("620000", "甘肃省", "甘肃", "Gansu", 14, -0.5),
    ("630000", "青海省", "青海", "Qinghai", 8, -0.5),
    ("640000", "宁夏回族自治区", "宁夏", "Ningxia", 5, -0.3),
    ("650000", "新疆维吾尔自治区", "新疆", "Xinjiang", 14, -0.4),
)

# City clusters: province code → share of that province's cities that belong (the most
# developed ones, with noise), after the member lists of the national cluster plans.
# 中原城市群 overlaps 京津冀 and 长三角 in Hebei and Anhui, as the real plans do.
CLUSTERS: tuple[tuple[str, dict[str, float]], ...] = (
    ("京津冀", {"110000": 1.0, "120000": 1.0, "130000": 1.0}),
    ("长三角", {"310000": 1.0, "320000": 1.0, "330000": 1.0, "340000": 1.0}),
    ("粤港澳大湾区", {"440000": 9 / 21}),
    ("成渝地区双城经济圈", {"500000": 1.0, "510000": 15 / 21}),
    ("长江中游城市群", {"420000": 10 / 13, "430000": 8 / 14, "360000": 10 / 11}),
    (
        "中原城市群",
        {"410000": 1.0, "130000": 2 / 11, "140000": 3 / 11, "340000": 5 / 16, "370000": 2 / 16},
    ),
)

# City-size classes of 国发〔2014〕51号 by urban resident population (万人), lower bound inclusive.
SIZE_BOUNDS = (50.0, 100.0, 300.0, 500.0, 1000.0)
SIZE_CLASSES = ("小城市", "中等城市", "Ⅱ型大城市", "Ⅰ型大城市", "特大城市", "超大城市")
# Probability that one value of a unit is not reported, by size class (small cities report less).
MISSING_BY_SIZE = (0.08, 0.05, 0.035, 0.025, 0.02, 0.02)
MISSING_DISTRICT = 0.05


@dataclass(frozen=True)
class Panel:
    """The units that carry values (cities, then districts) and their hidden development level."""

    codes: npt.NDArray[np.str_]
    population: FloatArray
    missing_rate: FloatArray
    level: FloatArray  # (units, years): latent development, rising over the years


def _allocate_cities(n_cities: int) -> IntArray:
    """Cities per province: one each, the rest by largest remainder on real prefecture counts."""
    real = np.array([p[4] for p in PROVINCES], dtype=np.float64)
    quota = real / real.sum() * (n_cities - len(PROVINCES))
    out: IntArray = 1 + np.floor(quota).astype(np.int64)
    short = n_cities - int(out.sum())
    out[np.argsort(-(quota - np.floor(quota)), kind="stable")[:short]] += 1
    return out


def units_and_panel(
    rng: np.random.Generator, n_cities: int, years: IntArray
) -> tuple[pd.DataFrame, Panel]:
    """The units table (provinces, cities, districts) and the panel of units that carry values."""
    per_province = _allocate_cities(n_cities)
    prov = np.repeat(np.arange(len(PROVINCES)), per_province)
    number = np.concatenate([np.arange(1, k + 1) for k in per_province])
    effect = np.array([p[5] for p in PROVINCES])[prov]
    municipality = np.array([p[4] == 0 for p in PROVINCES])[prov]

    noise = rng.standard_normal(prov.size)
    log_pop = np.log(85.0) + 0.5 * effect + 1.9 * municipality + 0.85 * noise
    population = np.round(np.maximum(np.exp(log_pop), 3.0), 1)
    z_pop = (log_pop - log_pop.mean()) / log_pop.std()
    level = 1.2 * effect + 0.3 * z_pop + 0.6 * rng.standard_normal(prov.size)
    level = (level - level.mean()) / level.std()
    size = np.searchsorted(SIZE_BOUNDS, population, side="right")

    pairs = list(zip(prov, number, strict=True))
    city_code = np.array([f"{PROVINCES[p][0][:2]}{n:02d}00" for p, n in pairs])
    cities = pd.DataFrame(
        {
            "code": city_code,
            "name_zh": [f"{PROVINCES[p][2]}示例市{n:02d}" for p, n in pairs],
            "name_en": [f"{PROVINCES[p][3]} Synthetic City {n:02d}" for p, n in pairs],
            "level": "city",
            "parent": [PROVINCES[p][0] for p in prov],
            "population": population,
            "size_class": np.array(SIZE_CLASSES)[size],
            "groups": _cluster_groups(rng, prov, level),
        }
    )

    # A few of the largest cities get districts, so the hierarchy has three levels.
    n_split = max(2, round(n_cities / 80))
    split = np.argsort(-population, kind="stable")[:n_split]
    n_districts = rng.integers(3, 6, size=n_split)
    owner = np.repeat(split, n_districts)
    d_number = np.concatenate([np.arange(1, k + 1) for k in n_districts])
    share = np.concatenate(
        [rng.dirichlet(np.ones(k)) * rng.uniform(0.55, 0.85) for k in n_districts]
    )
    d_population = np.round(np.maximum(population[owner] * share, 1.0), 1)
    d_level = level[owner] + 0.35 * rng.standard_normal(owner.size)
    districts = pd.DataFrame(
        {
            "code": [f"{city_code[c][:4]}{d:02d}" for c, d in zip(owner, d_number, strict=True)],
            "name_zh": [
                f"{cities.at[c, 'name_zh']}示例区{d:02d}"
                for c, d in zip(owner, d_number, strict=True)
            ],
            "name_en": [
                f"{cities.at[c, 'name_en']} Synthetic District {d:02d}"
                for c, d in zip(owner, d_number, strict=True)
            ],
            "level": "district",
            "parent": city_code[owner],
            "population": d_population,
            "size_class": None,
            "groups": None,
        }
    )

    provinces = pd.DataFrame(
        {
            "code": [p[0] for p in PROVINCES],
            "name_zh": [p[1] for p in PROVINCES],
            "name_en": [p[3] for p in PROVINCES],
            "level": "province",
            "parent": None,
            "population": np.round(
                np.bincount(prov, weights=population, minlength=len(PROVINCES)), 1
            ),
            "size_class": None,
            "groups": None,
        }
    )
    units = pd.concat([provinces, cities, districts], ignore_index=True)
    units = units.sort_values("code", kind="stable", ignore_index=True)
    text_columns = ["code", "name_zh", "name_en", "level", "parent", "size_class", "groups"]
    units[text_columns] = units[text_columns].astype("string")

    # The hidden development level of each unit and year: persistent level plus a rising trend.
    all_level = np.concatenate([level, d_level])
    slope = np.maximum(0.15 + 0.05 * rng.standard_normal(all_level.size), 0.02)
    elapsed = (years - years.min()).astype(np.float64)
    yearly = 0.1 * rng.standard_normal((all_level.size, years.size))
    panel = Panel(
        codes=np.concatenate([city_code, districts["code"].to_numpy(dtype=str)]),
        population=np.concatenate([population, d_population]),
        missing_rate=np.concatenate(
            [np.array(MISSING_BY_SIZE)[size], np.full(owner.size, MISSING_DISTRICT)]
        ),
        level=all_level[:, None] + slope[:, None] * elapsed[None, :] + yearly,
    )
    return units, panel


def _cluster_groups(
    rng: np.random.Generator, prov: IntArray, level: FloatArray
) -> list[str | None]:
    """';'-joined cluster names per city: the most developed cities (with noise) of members."""
    codes = [p[0] for p in PROVINCES]
    member = np.zeros((prov.size, len(CLUSTERS)), dtype=bool)
    rank_key = level + 0.5 * rng.standard_normal(prov.size)
    for c, (_, shares) in enumerate(CLUSTERS):
        for code, share in shares.items():
            in_province = np.flatnonzero(prov == codes.index(code))
            k = max(1, round(share * in_province.size))
            chosen = in_province[np.argsort(-rank_key[in_province], kind="stable")[:k]]
            member[chosen, c] = True
    names = [name for name, _ in CLUSTERS]
    return [";".join(n for n, m in zip(names, row, strict=True) if m) or None for row in member]
