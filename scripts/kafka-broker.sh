#!/usr/bin/env bash
# A single Apache Kafka 4.x broker in KRaft mode on 127.0.0.1, installed from Maven Central
# (cached under $KAFKA_HOME, default ~/.cache/streams-rs/kafka-4.4.0: a second run downloads
# nothing).
#
#   scripts/kafka-broker.sh start     format storage if needed, start, wait until it answers
#   scripts/kafka-broker.sh stop      stop it
#   scripts/kafka-broker.sh crash     kill it (SIGKILL: no controlled shutdown, as a crashed host)
#   scripts/kafka-broker.sh install   install the Kafka libraries only
#   scripts/kafka-broker.sh run CMD   start, run CMD with KAFKA_BOOTSTRAP set, stop on exit
#   scripts/kafka-broker.sh abort-hanging   abort transactions hanging for over MINUTES (1)
#   scripts/kafka-broker.sh abort-transaction TOPIC PARTITION START_OFFSET   abort that one
#
# PORT (default 9092) and CONTROLLER_PORT (9093) choose the ports; the broker logs to
# $KAFKA_HOME/broker-PORT.log (rolled at 100 MB, two old files kept: a day of fault runs wrote
# 51 GB to one file and filled the disk). Starting a broker this script already runs on PORT succeeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KAFKA_HOME=${KAFKA_HOME:-$HOME/.cache/streams-rs/kafka-4.4.0}
PORT=${PORT:-9092}
CONTROLLER_PORT=${CONTROLLER_PORT:-9093}
data="$KAFKA_HOME/data-$PORT"
pidfile="$KAFKA_HOME/broker-$PORT.pid"

install() {
  if [ ! -f "$KAFKA_HOME/lib/.complete" ]; then
    mkdir -p "$KAFKA_HOME/lib"
    (cd "$here/kafka" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/lib")
    touch "$KAFKA_HOME/lib/.complete"
  fi
}

java_run() { java -Xmx512m -cp "$KAFKA_HOME/lib/*" "$@"; }

configure() {
  mkdir -p "$data"
  cat > "$KAFKA_HOME/server-$PORT.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# A broker for tests and demos, whose records carry event times years in the past: keep them.
log.retention.ms=-1
PROPS
  if [ ! -f "$data/meta.properties" ]; then
    java_run kafka.tools.StorageTool format --standalone -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$KAFKA_HOME/server-$PORT.properties" >/dev/null
  fi
}

answers() { (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# Our own broker already running on the port is fine (start says so; run uses it and leaves it
# running); anything else listening there is not.
already=false
if [ "${1:-}" = start ] || [ "${1:-}" = run ]; then
  if answers; then
    if running; then already=true; else
      echo "port $PORT is already in use on 127.0.0.1; set PORT or stop what listens there" >&2; exit 1
    fi
  fi
fi

start() {
  if $already; then echo "kafka broker already running on 127.0.0.1:$PORT" >&2; return 0; fi
  install
  configure
  # The broker logs through slf4j to reload4j: INFO for the broker's own classes (the
  # transaction and group coordinators say what they do with markers), WARN for the rest.
  cat > "$KAFKA_HOME/log4j-$PORT.properties" <<LOG
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_HOME/broker-$PORT.log
log4j.appender.file.MaxFileSize=100MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
LOG
  # Some of its libraries log through log4j2: the same file.
  cat > "$KAFKA_HOME/log4j2-$PORT.properties" <<LOG
status = error
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KAFKA_HOME/broker-$PORT.log
appender.file.filePattern = $KAFKA_HOME/broker-$PORT.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 100MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
LOG
  # java itself in the background (not through a function), so that $! is the JVM.
  java -Xmx512m -Dlog4j.configuration="file:$KAFKA_HOME/log4j-$PORT.properties" \
    -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2-$PORT.properties" -cp "$KAFKA_HOME/lib/*" \
    kafka.Kafka "$KAFKA_HOME/server-$PORT.properties" > "$KAFKA_HOME/broker-$PORT.out" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if answers; then echo "kafka broker on 127.0.0.1:$PORT" >&2; return 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$KAFKA_HOME/broker-$PORT.log" "$KAFKA_HOME/broker-$PORT.out" >&2; return 1; }
    sleep 0.5
  done
  echo "kafka broker did not answer on 127.0.0.1:$PORT; see $KAFKA_HOME/broker-$PORT.log" >&2
  return 1
}

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

# Kafka's own `kafka-transactions.sh find-hanging` and `abort`: ends every transaction open on
# this broker for longer than MINUTES (default 1). A transaction hangs when the broker lost its
# markers: Kafka 4.x's transaction coordinator skips the markers of a partition without a
# leader as if it were deleted, and every partition of a one-broker cluster has none while the
# broker shuts down. Prints one line per partition aborted.
abort_hanging() {
  local tool=org.apache.kafka.tools.TransactionsCommand bootstrap=127.0.0.1:$PORT
  java_run $tool --bootstrap-server "$bootstrap" find-hanging --broker-id 1 \
      --max-transaction-timeout "${MINUTES:-1}" 2>/dev/null \
    | awk 'NR > 1 && NF >= 6 { print $1, $2, $6 }' \
    | while read -r topic partition offset; do
        if java_run $tool --bootstrap-server "$bootstrap" abort --topic "$topic" --partition "$partition" \
            --start-offset "$offset" >/dev/null 2>&1; then
          echo "aborted the hanging transaction on $topic-$partition from offset $offset"
        else
          echo "could not abort the hanging transaction on $topic-$partition from offset $offset" >&2
        fi
      done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  # The Kafka libraries only (scripts/kafka-cluster.sh uses them).
  install) install ;;
  crash)
    if [ -f "$pidfile" ]; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.25; done
      rm -f "$pidfile"
    fi ;;
  abort-hanging) install; abort_hanging ;;
  # What a task's log names: `abort-transaction TOPIC PARTITION START_OFFSET`.
  abort-transaction)
    install
    java_run org.apache.kafka.tools.TransactionsCommand --bootstrap-server "127.0.0.1:$PORT" abort \
      --topic "$2" --partition "$3" --start-offset "$4" 2>/dev/null
    echo "aborted the transaction on $2-$3 from offset $4"
    ;;
  run)
    shift
    start
    $already || trap stop EXIT
    KAFKA_BOOTSTRAP=127.0.0.1:$PORT "$@"
    ;;
  *) echo "usage: $0 start|stop|crash|install|abort-hanging|abort-transaction T P O|run CMD..." >&2; exit 2 ;;
esac
