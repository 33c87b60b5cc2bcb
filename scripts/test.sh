#!/usr/bin/env bash
# Second command of the README (and all that CI runs): install what the tests need where it is missing, start
# a throwaway redis-server, run the test suite. Arguments go to pytest (default: all of tests/).
set -euo pipefail
cd "$(dirname "$0")/.."
# redis-server: the standalone server the tests also run against; chromium: the page test; Java: the dbt
# Spark target (Iceberg's jars come from Maven Central) and the Kafka broker; maven: fetches Kafka's jars;
# postgresql: the Postgres catalog tests start a throwaway cluster with its initdb and pg_ctl; python3-venv:
# scripts/env.sh makes .tools with it.
bash scripts/system.sh python3-venv redis-server chromium default-jre-headless postgresql maven
bash scripts/env.sh
# Apache Kafka's own jars (Maven Central, KRaft mode on Java 17): the stream tests start a throwaway broker.
bash scripts/kafka.sh
# nvForest (env.sh's sync removes it): its CPU mode by default, no CUDA libraries, so the GPU bento's parity test
# runs here and never skips (tests/outscaled/models/test_forest.py); OUTSCALED_NVFOREST=gpu on a GPU machine.
.venv/bin/python -c 'import nvforest' 2>/dev/null || bash scripts/nvforest.sh "${OUTSCALED_NVFOREST:-cpu}"
export OUTSCALED_TEST_NVFOREST=required
# Tools that look for uv on PATH (`bentoml build`, tested) find the one env.sh installed.
export PATH="$PWD/.tools/bin:$PATH"

if [ -z "${OUTSCALED_TEST_REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
  redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/outscaled-test-redis.XXXXXX")"
  port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # Stopped on exit, and dies with this script even if the script is killed (parent-death signal).
  dies_with_us=(); command -v setpriv >/dev/null && dies_with_us=(setpriv --pdeathsig TERM)
  "${dies_with_us[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$redis_dir" --logfile "$redis_dir/redis.log" &
  redis_pid=$!
  trap 'kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$redis_dir"' EXIT
  export OUTSCALED_TEST_REDIS_URL="redis://127.0.0.1:${port}/0"
  .venv/bin/python -c '
import sys, time, redis
client = redis.Redis.from_url(sys.argv[1])
for _ in range(100):
    try:
        client.ping()
        break
    except redis.ConnectionError:
        time.sleep(0.05)
else:
    sys.exit("redis-server did not answer on " + sys.argv[1])' "$OUTSCALED_TEST_REDIS_URL"
fi
.venv/bin/python -m pytest "$@"
