#!/usr/bin/env bash
# Runs the differential cases of DIR (DIR/<case>@<seed>.in.jsonl) on Kafka Streams' own
# TopologyTestDriver and writes DIR/<case>@<seed>.out.jsonl (see Differential.java).
# Needs Java 17+ and Maven; Kafka Streams 4.4.0 comes from Maven Central on the first run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$1" && pwd)
cd "$here"
if [ ! -f target/lib/kafka-streams-test-utils-4.4.0.jar ]; then
    mvn -q dependency:copy-dependencies -DoutputDirectory=target/lib
fi
exec java -cp "target/lib/*" Differential.java "$dir"
