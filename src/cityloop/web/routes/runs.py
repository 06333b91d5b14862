"""Placeholder router for the runs pages (being written).

Replaced by the real routes of issue 3.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
