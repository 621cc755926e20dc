"""cloudtower-contract: a contract-test harness for CloudTower API targets (the mock or a real tower).

Suites: `probe` (deterministic probes of every fault family: reads, authentication, invalid
requests, where / pagination families against the query engine, task / delete / snapshot
lifecycle), `query` (hypothesis query conformance against the project's query engine),
`schema` (schemathesis over the OpenAPI contract), `stateful` (a VM lifecycle state machine);
every answer is checked by `checks.Inspector`. Plus `drift` (two targets side by side),
`client` (a user's client run against the mock) and `cleanup`. See docs/harness.md.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
