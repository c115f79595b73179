#!/usr/bin/env bash
# Starts STEPSIZE_BROKERS (default 3) KRaft nodes, each a broker and a controller, as separate
# processes from the project's shaded jar. Every topic gets min(3, brokers) replicas and needs
# one fewer in sync for a write, so one node may die without losing an acknowledged record.
# Nodes already running are left alone, so this also restarts a node that was killed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

voters=""
for i in $(seq 1 "$BROKERS"); do
  voters="${voters:+$voters,}$i@localhost:$(( CONTROLLER_PORT + i - 1 ))"
done

# one cluster id for all nodes, kept across restarts (formatting again with another id fails)
if [ ! -f "$RUN_DIR/cluster.id" ]; then
  java -cp "$JAR" kafka.tools.StorageTool random-uuid >"$RUN_DIR/cluster.id"
fi
cluster_id="$(cat "$RUN_DIR/cluster.id")"

for i in $(seq 1 "$BROKERS"); do
  dir="$RUN_DIR/kafka-$i"
  mkdir -p "$dir/data"
  port=$(( KAFKA_PORT + i - 1 ))
  cport=$(( CONTROLLER_PORT + i - 1 ))
  cat >"$dir/server.properties" <<PROPS
# written by deploy/local/start-cluster.sh
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://localhost:$port,CONTROLLER://localhost:$cport
advertised.listeners=PLAINTEXT://localhost:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# replication: no acknowledged write is lost while one node is down
default.replication.factor=$RF
min.insync.replicas=$MIN_ISR
offsets.topic.replication.factor=$RF
transaction.state.log.replication.factor=$RF
transaction.state.log.min.isr=$MIN_ISR
share.coordinator.state.topic.replication.factor=$RF
share.coordinator.state.topic.min.isr=$MIN_ISR
unclean.leader.election.enable=false
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# a dead node is fenced, and a restarted one back, within seconds
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
leader.imbalance.check.interval.seconds=30
# small machines: the default 128 MiB cleaner buffer is allocated at start
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.threads=1
num.network.threads=2
num.io.threads=4
PROPS
  if [ ! -f "$dir/data/meta.properties" ]; then
    java -cp "$JAR" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
      --ignore-formatted >>"$RUN_DIR/kafka-$i.log" 2>&1
  fi
  launch "kafka-$i" java "${JVM_FLAGS[@]}" "-Xmx$BROKER_HEAP" -Xms64m -cp "$JAR" kafka.Kafka "$dir/server.properties"
done

for i in $(seq 1 "$BROKERS"); do
  await_port $(( KAFKA_PORT + i - 1 ))
done
echo "Kafka cluster up: $(bootstrap_servers)"
