"""Liveness endpoint for monitors and load balancers: no login, no data, no database.

Returns the running version so an operator can see what is deployed.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cityloop._version import __version__

router = APIRouter()


class Health(BaseModel):
    status: str
    version: str


@router.get("/healthz", response_model=Health, tags=["system"])
def healthz() -> Health:
    return Health(status="ok", version=__version__)
