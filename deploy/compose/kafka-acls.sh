#!/usr/bin/env bash
# The ACLs of deploy/k8s/users.yaml for any Kafka cluster whose brokers authenticate clients and
# run an authorizer (KRaft: authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer,
# SASL or mTLS listeners). Kafka write access is full control of Stepsize (docs/SECURITY.md), so each
# process gets only what it uses. The shipped compose.yaml is a single-host development setup with
# plaintext listeners published on 127.0.0.1 only: there is no principal to grant anything to until
# its listeners authenticate.
#
#   KAFKA_BOOTSTRAP=kafka-1:9092 KAFKA_ADMIN_CONFIG=admin.properties deploy/compose/kafka-acls.sh
#   # inside the compose network, with the image's tool:
#   docker compose -f deploy/compose/compose.yaml exec -e KAFKA_ACLS=/opt/kafka/bin/kafka-acls.sh \
#     -e KAFKA_BOOTSTRAP=kafka-1:9092 -e KAFKA_ADMIN_CONFIG=/path/admin.properties kafka-1 sh < deploy/compose/kafka-acls.sh
#
# Settings: KAFKA_BOOTSTRAP (required), KAFKA_ADMIN_CONFIG (client properties of a principal allowed
# to alter ACLs), KAFKA_ACLS (default kafka-acls.sh), TOPIC_PREFIX (the topics' prefix with its separator, e.g. "dev." for --topic-prefix dev),
# and the principals SERVICE_PRINCIPAL (User:stepsize-service), ESTIMATOR_PRINCIPAL
# (User:stepsize-estimator), TRAINER_PRINCIPAL (User:stepsize-trainer).
set -eu

acls="${KAFKA_ACLS:-kafka-acls.sh}"
bootstrap="${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to the bootstrap servers}"
p="${TOPIC_PREFIX:-}"
service="${SERVICE_PRINCIPAL:-User:stepsize-service}"
estimator="${ESTIMATOR_PRINCIPAL:-User:stepsize-estimator}"
trainer="${TRAINER_PRINCIPAL:-User:stepsize-trainer}"
app="${p}stepsize-estimator"

add() {
  if [ -n "${KAFKA_ADMIN_CONFIG:-}" ]; then
    "$acls" --bootstrap-server "$bootstrap" --command-config "$KAFKA_ADMIN_CONFIG" --add "$@"
  else
    "$acls" --bootstrap-server "$bootstrap" --add "$@"
  fi
}

# stepsize serve: writes jobs and probes, reads every stepsize topic, creates them when missing
add --allow-principal "$service" --operation Describe --operation Read --operation Create \
  --topic "${p}stepsize." --resource-pattern-type prefixed
add --allow-principal "$service" --operation Write --topic "${p}stepsize.jobs"
add --allow-principal "$service" --operation Write --topic "${p}stepsize.probes"

# stepsize estimator: reads probes and jobs, writes curvature, history, gradient stats and dead
# letters; owns its internal topics, group and transactional ids (all named after the application id)
add --allow-principal "$estimator" --operation Describe --operation Create \
  --topic "${p}stepsize." --resource-pattern-type prefixed
add --allow-principal "$estimator" --operation Read --topic "${p}stepsize.probes"
add --allow-principal "$estimator" --operation Read --topic "${p}stepsize.jobs"
add --allow-principal "$estimator" --operation Read --operation Write --topic "${p}stepsize.curvature"
add --allow-principal "$estimator" --operation Write --topic "${p}stepsize.curvature.history"
add --allow-principal "$estimator" --operation Write --topic "${p}stepsize.gradient-stats"
add --allow-principal "$estimator" --operation Write --topic "${p}stepsize.probes.dlq"
add --allow-principal "$estimator" --operation All --topic "$app" --resource-pattern-type prefixed
add --allow-principal "$estimator" --operation Read --operation Describe --group "$app" --resource-pattern-type prefixed
add --allow-principal "$estimator" --operation Write --operation Describe \
  --transactional-id "$app" --resource-pattern-type prefixed

# trainers' own producers: write probes, nothing else
add --allow-principal "$trainer" --operation Write --operation Describe --topic "${p}stepsize.probes"
