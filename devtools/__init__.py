"""Development tooling, kept apart from what runs in production (`services/`).

- `devtools.devstack`: the local Kafka (KRaft) and Elasticsearch that `make demo`, the test
  suite and the benchmarks fetch from Maven Central and start, with their security set-up,
  and the pipeline launcher that runs the four services against them;
- `devtools.samplesite`: the bundled sample news site (and the many-host crowd site) the
  demo crawls and the tests and benchmarks read;
- `devtools.demo`: `make demo`.

Nothing under `services/` imports this package, except the `newsflow stack` subcommand of
the CLI, which loads it only when that command runs (tests/test_layering.py holds the rule).
The container image ships only the sample site of it, which the compose demo serves.
"""
