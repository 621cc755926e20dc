"""cloudtower-mock: an in-memory mock of the SmartX CloudTower API."""

__version__ = "0.1.0"
