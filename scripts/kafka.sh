#!/usr/bin/env bash
# Apache Kafka 4.1.1 (broker and KRaft controller) from Maven Central into .tools/kafka/libs, once: the real
# broker the Kafka stream tests start (tests/kafka_broker.py). Needs Java 17 and Maven (scripts/system.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
libs=.tools/kafka/libs
if [ -f "$libs/.complete" ]; then exit 0; fi
bash scripts/system.sh maven default-jre-headless
rm -rf "$libs.partial"
mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$libs.partial" \
  -DincludeScope=runtime
rm -rf "$libs" && mv "$libs.partial" "$libs" && touch "$libs/.complete"
echo "Kafka broker jars in $libs ($(ls "$libs" | wc -l) files)"
