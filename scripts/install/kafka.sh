#!/usr/bin/env bash
# Installs the Apache Kafka broker the Kafka mappings' tests run: Kafka's own jars from Maven
# Central (kafka-pom.xml beside this script), copied with their dependencies into
# ~/.cache/lamina/kafka-<version>/ (LAMINA_KAFKA_HOME overrides it). The tests start a single-node
# KRaft broker from there (tests/kafka.py); Java 17 or later runs it. Idempotent: a no-op when the
# jars are there.
set -euo pipefail
cd "$(dirname "$0")"

version=$(sed -n 's:.*<version>\(4\.[0-9.]*\)</version>.*:\1:p' kafka-pom.xml | head -1)
home=${LAMINA_KAFKA_HOME:-$HOME/.cache/lamina/kafka-$version}

if [ -f "$home/.complete" ]; then
    echo "kafka: $home already installed"
    exit 0
fi
command -v java >/dev/null 2>&1 || { echo "kafka: Java 17 or later is needed (scripts/install/java.sh)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "kafka: Maven is needed to fetch Kafka's jars" >&2; exit 1; }

echo "kafka: copying Apache Kafka $version's jars into $home"
mkdir -p "$home/libs"
mvn -q -B -f kafka-pom.xml dependency:copy-dependencies -DoutputDirectory="$home/libs" -DincludeScope=runtime
touch "$home/.complete"
echo "kafka: $home installed"
