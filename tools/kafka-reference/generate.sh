#!/usr/bin/env bash
# Regenerates tests/fixtures/kafka/ from Apache Kafka itself (needs Java 17+ and Maven).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ -d target/lib ] || mvn -q dependency:copy-dependencies -DoutputDirectory=target/lib
java -cp "target/lib/*" Reference.java "$here/../../tests/fixtures/kafka"
