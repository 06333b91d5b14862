"""Regions (province → city → district) and their groups: load a units table, read it back.

Provinces and size classes are columns of a region; city clusters are groups with members.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from cityloop.datahub.units import LEVEL_RANK, Units, build_units
from cityloop.store.audit import record_audit
from cityloop.store.bulk import WriteCounts, as_list, execute_chunked, insert_rows
from cityloop.store.models import GroupMembership, Region, RegionGroup, table_of

CLUSTER = "cluster"
REGION_FIELDS = ("name_zh", "name_en", "level", "parent_code", "population", "size_class")


def load_units(session: Session, units: Units, actor: str) -> WriteCounts:
    """Insert new regions, update changed ones and set each loaded region's clusters."""
    incoming = _region_records(units)
    existing = {r.code: _fields(r) for r in session.scalars(select(Region))}
    # Parents before children, so that every foreign key points at a row already written.
    new = sorted(
        (r for r in incoming if r["code"] not in existing), key=lambda r: LEVEL_RANK[r["level"]]
    )
    changed = [
        r
        for r in incoming
        if r["code"] in existing and {f: r[f] for f in REGION_FIELDS} != existing[r["code"]]
    ]
    region = table_of(Region)
    insert_rows(session, region, {c: [r[c] for r in new] for c in ("code", *REGION_FIELDS)})
    statement = (
        update(region)
        .where(region.c.code == bindparam("b_code"))
        .values({f: bindparam(f"b_{f}") for f in REGION_FIELDS})
    )
    execute_chunked(
        session, statement, {f"b_{c}": [r[c] for r in changed] for c in ("code", *REGION_FIELDS)}
    )
    clusters = _set_clusters(session, units)
    counts = WriteCounts(len(new), len(changed), len(incoming) - len(new) - len(changed))
    record_audit(
        session,
        actor,
        "load",
        "regions",
        "*",
        before={"changed": {r["code"]: existing[r["code"]] for r in changed}},
        after={**asdict(counts), "cluster_memberships": clusters},
    )
    return counts


def read_units(session: Session) -> Units | None:
    """The stored regions as ``Units`` (checked again by the datahub); None when there are none."""
    rows = session.execute(select(Region.code, *(getattr(Region, f) for f in REGION_FIELDS))).all()
    if not rows:
        return None
    table = (
        pd.DataFrame(rows, columns=["code", *REGION_FIELDS])
        .rename(columns={"parent_code": "parent"})
        .sort_values("code", ignore_index=True)  # by code point, whatever the collation
    )
    table["level"] = table["level"].map(str)
    members = session.execute(
        select(GroupMembership.region_code, RegionGroup.name)
        .join(RegionGroup)
        .where(RegionGroup.kind == CLUSTER)
        .order_by(GroupMembership.region_code, GroupMembership.position)
    ).all()
    clusters = pd.DataFrame(members, columns=["code", "name"]).groupby("code")["name"].agg(";".join)
    table["groups"] = table["code"].map(clusters)
    text = ("code", "name_zh", "name_en", "level", "parent", "size_class", "groups")
    return build_units(table.astype(dict.fromkeys(text, "string")), source="<database>")


def _region_records(units: Units) -> list[dict[str, Any]]:
    table = units.table
    columns = {
        "code": [str(c) for c in table.index],
        "name_zh": table["name_zh"].astype(str).tolist(),
        "name_en": table["name_en"].fillna("").astype(str).tolist(),
        "level": table["level"].astype(str).tolist(),
        "parent_code": as_list(table["parent"]),
        "population": as_list(table["population"].astype(float)),
        "size_class": as_list(table["size_class"].astype("string")),
    }
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _fields(region: Region) -> dict[str, Any]:
    return {
        "name_zh": region.name_zh,
        "name_en": region.name_en,
        "level": str(region.level),
        "parent_code": region.parent_code,
        "population": region.population,
        "size_class": region.size_class,
    }


def _set_clusters(session: Session, units: Units) -> int:
    """Replace the cluster memberships of the loaded regions; return how many were written."""
    members = units.memberships[units.memberships["kind"] == CLUSTER]
    known = _cluster_ids(session)
    missing = sorted(set(members["group"].astype(str)) - set(known))
    if missing:
        insert_rows(session, table_of(RegionGroup), {"name": missing}, {"kind": CLUSTER})
        known = _cluster_ids(session)
    loaded = units.codes
    for start in range(0, len(loaded), 1000):  # bounded IN lists
        session.execute(
            delete(GroupMembership).where(
                GroupMembership.region_code.in_(loaded[start : start + 1000]),
                GroupMembership.group_id.in_(list(known.values())),
            )
        )
    return insert_rows(
        session,
        table_of(GroupMembership),
        {
            "group_id": [known[str(g)] for g in members["group"]],
            "region_code": members["unit"].astype(str).tolist(),
            "position": members.groupby("unit", sort=False).cumcount().tolist(),
        },
    )


def _cluster_ids(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(RegionGroup.name, RegionGroup.id).where(RegionGroup.kind == CLUSTER)
    )
    return dict(rows.tuples().all())
