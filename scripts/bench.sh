#!/usr/bin/env bash
# The benchmark suite against the peers (bench/README.md): builds what it needs, then runs
# bench/run.py on the default build tree (build/).
#   scripts/bench.sh                   full run, ~15 min on 2 CPUs: 7 interleaved rounds, writes
#                                      bench/results/full-<time>.json (one record a line),
#                                      docs/benchmarks.md and docs/benchmarks.svg; commit the
#                                      new result in place of the previous one (git keeps that)
#   scripts/bench.sh --smoke           correctness only (CI's bench_smoke), under a minute
#   scripts/bench.sh [run.py options]  e.g. --rounds 9, --measure 2, --cases a,b (run.py --help)
# Run the full mode on an otherwise idle machine: run.py waits for idle CPUs before each round
# and retries runs disturbed by other processes, but cannot make a busy machine quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh bench default
exec python3 bench/run.py --build-dir build "$@"
