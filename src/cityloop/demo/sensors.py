"""SYNTHETIC NGSI-LD payloads for the demo city's sensors: air-quality stations, road segments,
parking spots, street lights and waste containers, hour by hour, from a fixed seed.

Invented data with believable shapes (winter smog, rush-hour dips, silent parking sensors,
failing lamps, filling containers); never real measurements. Pure: returns payloads, stores none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

DEMO_SENSOR_SEED = 20_26
HOUR = 3600
SOURCE = "SYNTHETIC: CityLoop demo generator (not real measurements)"
# China's AQI (HJ 633-2012): PM2.5 24-h concentration breakpoints (µg/m³) and their IAQI.
PM25_BREAKS = (0, 35, 75, 115, 150, 250, 350, 500)
IAQI_BREAKS = (0, 50, 100, 150, 200, 300, 400, 500)
AQI_LEVELS = (
    "good",
    "moderate",
    "unhealthyForSensitive",
    "unhealthy",
    "veryUnhealthy",
    "hazardous",
)


@dataclass(frozen=True)
class Fleet:
    """How many devices of each kind the demo city has."""

    stations: int = 4
    segments: int = 8
    spots: int = 40
    lights: int = 30
    containers: int = 20


def aqi_from_pm25(pm25: np.ndarray) -> np.ndarray:
    """The PM2.5 individual AQI (HJ 633-2012, linear between breakpoints), as integers."""
    aqi: np.ndarray = np.rint(np.interp(pm25, PM25_BREAKS, IAQI_BREAKS)).astype(int)
    return aqi


def aqi_level(aqi: np.ndarray) -> np.ndarray:
    """The level name of each AQI value (≤50 good, ≤100 moderate, …)."""
    band = np.clip((np.maximum(aqi, 1) - 1) // 50, 0, len(AQI_LEVELS) - 1)
    levels: np.ndarray = np.asarray(AQI_LEVELS)[band]
    return levels


def _stamp(seconds: np.ndarray) -> np.ndarray:
    """Unix seconds as ISO 8601 UTC strings."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object) + "Z"


def _prop(value: Any, observed_at: str, unit_code: str | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "Property", "value": value, "observedAt": observed_at}
    if unit_code is not None:
        attribute["unitCode"] = unit_code
    return attribute


def _place(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


class DemoSensors:
    """The demo city's devices and their hourly series over ``hours`` hours from ``start``."""

    def __init__(
        self, unit: str, start: datetime, hours: int, *, fleet: Fleet | None = None,
        seed: int = DEMO_SENSOR_SEED, centre: tuple[float, float] = (113.26, 23.13),
    ) -> None:  # fmt: skip
        self.unit = unit
        self.fleet = fleet or Fleet()
        self.rng = np.random.default_rng(seed)
        first = int(start.timestamp()) // HOUR * HOUR
        self.times = first + HOUR * np.arange(hours, dtype=np.int64)
        self.stamps = _stamp(self.times)
        moment = self.times.astype("datetime64[s]")
        local = moment + np.timedelta64(8, "h")  # China Standard Time: rush hours are local
        self.hour = (local.astype("datetime64[h]").astype(np.int64) % 24).astype(int)
        self.weekday = ((local.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(int)
        day_of_year = (local - local.astype("datetime64[Y]")).astype("timedelta64[D]").astype(int)
        self.winter = np.cos(2 * np.pi * (day_of_year - 15) / 365.25)  # 1 mid-January, −1 July
        self.centre = centre

    def _points(self, n: int) -> np.ndarray:
        return np.asarray(self.centre) + self.rng.normal(0, 0.05, size=(n, 2))

    def air_quality(self) -> Iterator[dict[str, Any]]:
        """AirQualityObserved per station and hour: PM2.5 with winter smog and evening peaks."""
        n, t = self.fleet.stations, len(self.times)
        base = 38 + 22 * self.winter + 8 * np.isin(self.hour, (19, 20, 21, 22))
        weather = np.convolve(self.rng.normal(0, 0.35, t + 47), np.ones(48) / 48**0.5, "valid")
        pm25 = np.clip(base * np.exp(weather + self.rng.normal(0, 0.15, (n, t))), 3, 480)
        pm10 = pm25 * 1.6 + self.rng.gamma(2, 6, (n, t))
        rush = np.isin(self.hour, (7, 8, 9, 17, 18, 19))
        no2 = np.clip(25 + 20 * rush + 8 * self.winter + self.rng.normal(0, 6, (n, t)), 2, None)
        temperature = 22 - 9 * self.winter + 4 * np.sin(2 * np.pi * (self.hour - 9) / 24)
        aqi = aqi_from_pm25(pm25)
        levels = aqi_level(aqi)
        points = self._points(n)
        for j in range(t):
            at = self.stamps[j]
            for i in range(n):
                yield {
                    "id": f"urn:ngsi-ld:AirQualityObserved:{self.unit}-AQ{i + 1:02d}",
                    "type": "AirQualityObserved",
                    "dateObserved": {"type": "Property", "value": at},
                    "location": _place(*points[i]),
                    "source": {"type": "Property", "value": SOURCE},
                    "pm25": _prop(round(float(pm25[i, j]), 1), at, "GQ"),
                    "pm10": _prop(round(float(pm10[i, j]), 1), at, "GQ"),
                    "no2": _prop(round(float(no2[i, j]), 1), at, "GQ"),
                    "temperature": _prop(round(float(temperature[j]), 1), at, "CEL"),
                    "airQualityIndex": _prop(int(aqi[i, j]), at),
                    "airQualityLevel": _prop(str(levels[i, j]), at),
                }

    def traffic(self) -> Iterator[dict[str, Any]]:
        """TrafficFlowObserved per road segment and hour: speed dips in weekday rush hours."""
        n, t = self.fleet.segments, len(self.times)
        workday = self.weekday < 5
        rush = workday & np.isin(self.hour, (7, 8, 17, 18))
        night = np.isin(self.hour, (0, 1, 2, 3, 4, 5))
        free_flow = self.rng.uniform(45, 65, (n, 1))
        speed = free_flow * (1 - 0.45 * rush - 0.1 * (~night)) + self.rng.normal(0, 3, (n, t))
        intensity = np.clip(
            600 + 900 * rush - 450 * night + self.rng.normal(0, 60, (n, t)), 10, None
        )
        occupancy = np.clip(intensity / 2500, 0, 1)
        points = self._points(n)
        for j in range(t):
            at = self.stamps[j]
            for i in range(n):
                yield {
                    "id": f"urn:ngsi-ld:TrafficFlowObserved:{self.unit}-RS{i + 1:02d}",
                    "type": "TrafficFlowObserved",
                    "dateObserved": {"type": "Property", "value": at},
                    "location": _place(*points[i]),
                    "averageVehicleSpeed": _prop(round(float(max(speed[i, j], 3)), 1), at, "KMH"),
                    "intensity": _prop(int(intensity[i, j]), at),
                    "occupancy": _prop(round(float(occupancy[i, j]), 3), at),
                }

    def parking(self) -> Iterator[dict[str, Any]]:
        """ParkingSpot per spot and hour: free or occupied; one spot in ten goes silent for days."""
        n, t = self.fleet.spots, len(self.times)
        busy = 0.35 + 0.5 * np.isin(self.hour, range(9, 19))
        occupied = self.rng.random((n, t)) < busy
        silent = np.zeros((n, t), dtype=bool)
        for i in self.rng.choice(n, size=max(1, n // 10), replace=False):
            begin = int(self.rng.integers(0, max(1, t - 24)))
            silent[i, begin : begin + int(self.rng.integers(48, 120))] = True
        points = self._points(n)
        for j in range(t):
            at = self.stamps[j]
            for i in np.flatnonzero(~silent[:, j]):
                yield {
                    "id": f"urn:ngsi-ld:ParkingSpot:{self.unit}-P{i + 1:03d}",
                    "type": "ParkingSpot",
                    "location": _place(*points[i]),
                    "category": {"type": "Property", "value": ["onStreet"]},
                    "refParkingSite": {
                        "type": "Relationship",
                        "object": f"urn:ngsi-ld:ParkingSite:{self.unit}-S1",
                    },
                    "status": _prop("occupied" if occupied[i, j] else "free", at),
                }

    def streetlights(self, every: int = 6) -> Iterator[dict[str, Any]]:
        """Streetlight per lamp every ``every`` hours: a few lamps fail and wait days for repair."""
        n, steps = self.fleet.lights, np.arange(0, len(self.times), every)
        broken = np.zeros((n, len(steps)), dtype=bool)
        for i in self.rng.choice(n, size=max(1, n // 8), replace=False):
            begin = int(self.rng.integers(0, len(steps)))
            broken[i, begin : begin + int(self.rng.integers(4, 20))] = True
        lit = (self.hour[steps] >= 18) | (self.hour[steps] < 6)
        points = self._points(n)
        for k, j in enumerate(steps):
            at = self.stamps[j]
            for i in range(n):
                on = bool(lit[k] and not broken[i, k])
                yield {
                    "id": f"urn:ngsi-ld:Streetlight:{self.unit}-L{i + 1:03d}",
                    "type": "Streetlight",
                    "location": _place(*points[i]),
                    "status": _prop("defectiveLamp" if broken[i, k] else "ok", at),
                    "powerState": _prop("on" if on else "off", at),
                    "powerConsumption": _prop(round(90.0 * on, 1), at, "WTT"),
                }

    def waste(self, every: int = 3) -> Iterator[dict[str, Any]]:
        """WasteContainer every ``every`` hours: filling level rises and drops when emptied."""
        n, steps = self.fleet.containers, np.arange(0, len(self.times), every)
        rise = self.rng.uniform(0.01, 0.03, (n, 1)) * every / 3
        level = np.cumsum(rise + self.rng.normal(0, 0.004, (n, len(steps))), axis=1)
        filling = np.clip(np.mod(level + self.rng.random((n, 1)), 0.9), 0, 1)
        points = self._points(n)
        for k, j in enumerate(steps):
            at = self.stamps[j]
            for i in range(n):
                yield {
                    "id": f"urn:ngsi-ld:WasteContainer:{self.unit}-W{i + 1:03d}",
                    "type": "WasteContainer",
                    "location": _place(*points[i]),
                    "fillingLevel": _prop(round(float(filling[i, k]), 3), at),
                    "status": _prop("ok", at),
                }

    def payloads(self, batch: int = 500) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(entity type, batch of normalized entities) in time order, type by type."""
        kinds = (
            ("AirQualityObserved", self.air_quality()), ("TrafficFlowObserved", self.traffic()),
            ("ParkingSpot", self.parking()), ("Streetlight", self.streetlights()),
            ("WasteContainer", self.waste()),
        )  # fmt: skip
        for kind, entities in kinds:
            chunk: list[dict[str, Any]] = []
            for entity in entities:
                chunk.append(entity)
                if len(chunk) == batch:
                    yield kind, chunk
                    chunk = []
            if chunk:
                yield kind, chunk


def demo_window(end: datetime, days: int) -> tuple[datetime, int]:
    """(start, hours) of the ``days`` days before ``end``."""
    return end - timedelta(days=days), days * 24
