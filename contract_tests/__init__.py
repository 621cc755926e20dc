"""cloudtower-contract: a contract-test harness for CloudTower API targets (the mock or a real tower).

Suites: `schema` (schemathesis over the OpenAPI contract), `query` (hypothesis query
conformance against the project's query engine), `stateful` (a VM lifecycle state machine);
plus `drift` (two targets side by side) and `client` (a user's client run against the mock).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
