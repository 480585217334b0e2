#!/usr/bin/env bash
# Three Apache Kafka 4.x nodes in KRaft mode on 127.0.0.1, each a broker and a controller (a
# quorum of three voters, so any one node may be down), for the fault tests of a rolling
# restart: partitions are replicated three times and keep a leader while one node is away.
# The Kafka libraries are scripts/kafka-broker.sh's (installed from Maven Central on first use).
#
#   scripts/kafka-cluster.sh start          format storage if needed, start every node, wait
#   scripts/kafka-cluster.sh stop           stop every node
#   scripts/kafka-cluster.sh stop-node N    stop node N (1-3) with SIGTERM (a controlled shutdown)
#   scripts/kafka-cluster.sh start-node N   start node N again, with its data
#   scripts/kafka-cluster.sh bootstrap      print the bootstrap servers
#
# BASE_PORT (default 19500) places node N's broker on BASE_PORT + 2(N-1) and its controller one
# above; each node logs to $KAFKA_HOME/cluster-node-N.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KAFKA_HOME=${KAFKA_HOME:-$HOME/.cache/streams-rs/kafka-4.4.0}
BASE_PORT=${BASE_PORT:-19500}
NODES=(1 2 3)

port() { echo $((BASE_PORT + 2 * ($1 - 1))); }
controller_port() { echo $((BASE_PORT + 2 * ($1 - 1) + 1)); }
data() { echo "$KAFKA_HOME/cluster-$BASE_PORT/node-$1"; }
pidfile() { echo "$KAFKA_HOME/cluster-$BASE_PORT/node-$1.pid"; }
java_run() { java -Xmx512m -cp "$KAFKA_HOME/lib/*" "$@" 2>/dev/null; }
answers() { (exec 3<>/dev/tcp/127.0.0.1/"$(port "$1")") 2>/dev/null; }

bootstrap() {
  local servers=()
  for n in "${NODES[@]}"; do servers+=("127.0.0.1:$(port "$n")"); done
  (IFS=,; echo "${servers[*]}")
}

configure() {
  local n=$1 voters=()
  for m in "${NODES[@]}"; do voters+=("$m@127.0.0.1:$(controller_port "$m")"); done
  mkdir -p "$(data "$n")"
  cat > "$(data "$n").properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://127.0.0.1:$(port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(port "$n")
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$(data "$n")
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.ms=-1
PROPS
  # Some of Kafka's libraries log through log4j2: the same file.
  cat > "$(data "$n").log4j2.properties" <<LOG
status = error
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = $KAFKA_HOME/cluster-node-$n.log2
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
LOG
  cat > "$(data "$n").log4j.properties" <<LOG
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_HOME/cluster-node-$n.log
log4j.appender.file.MaxFileSize=100MB
log4j.appender.file.MaxBackupIndex=1
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
LOG
}

format_all() {
  local cluster_id
  cluster_id=$(java_run kafka.tools.StorageTool random-uuid)
  for n in "${NODES[@]}"; do
    configure "$n"
    if [ ! -f "$(data "$n")/meta.properties" ]; then
      java_run kafka.tools.StorageTool format --no-initial-controllers -t "$cluster_id" \
        -c "$(data "$n").properties" >/dev/null
    fi
  done
}

start_node() {
  local n=$1
  if [ -f "$(pidfile "$n")" ] && kill -0 "$(cat "$(pidfile "$n")")" 2>/dev/null; then return 0; fi
  java -Xmx512m -Dlog4j.configuration="file:$(data "$n").log4j.properties" \
    -Dlog4j2.configurationFile="$(data "$n").log4j2.properties" -cp "$KAFKA_HOME/lib/*" \
    kafka.Kafka "$(data "$n").properties" > "$KAFKA_HOME/cluster-node-$n.out" 2>&1 &
  echo $! > "$(pidfile "$n")"
}

wait_node() {
  local n=$1
  for _ in $(seq 1 240); do
    if answers "$n"; then return 0; fi
    kill -0 "$(cat "$(pidfile "$n")")" 2>/dev/null || {
      tail -20 "$KAFKA_HOME/cluster-node-$n.log" "$KAFKA_HOME/cluster-node-$n.out" >&2
      return 1
    }
    sleep 0.5
  done
  echo "kafka node $n did not answer on 127.0.0.1:$(port "$n")" >&2
  return 1
}

stop_node() {
  local n=$1 pid
  [ -f "$(pidfile "$n")" ] || return 0
  pid=$(cat "$(pidfile "$n")")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$(pidfile "$n")"
}

case "${1:-}" in
  start)
    "$here/kafka-broker.sh" install
    mkdir -p "$KAFKA_HOME/cluster-$BASE_PORT"
    format_all
    for n in "${NODES[@]}"; do start_node "$n"; done
    for n in "${NODES[@]}"; do wait_node "$n"; done
    echo "kafka cluster on $(bootstrap)" >&2
    ;;
  stop) for n in "${NODES[@]}"; do stop_node "$n"; done ;;
  stop-node) stop_node "$2" ;;
  start-node) start_node "$2"; wait_node "$2" ;;
  bootstrap) bootstrap ;;
  *) echo "usage: $0 start|stop|stop-node N|start-node N|bootstrap" >&2; exit 2 ;;
esac
