#!/usr/bin/env bash
# Starts Kafka (KRaft, one node) with security on, from Compose secrets:
#   listeners  INTERNAL kafka:9092 and EXTERNAL localhost:9094 (host) take SASL/SCRAM-SHA-512;
#              CONTROLLER :9093 takes SASL/PLAIN with a password only this node knows.
#   ACLs       StandardAuthorizer, nothing allowed without an ACL; super users: the node
#              itself (newsflow-broker, controller) and the administrator (newsflow-admin),
#              whose SCRAM credentials are added when the storage is formatted.
# Passwords are read from /run/secrets and written only into files inside the container.
set -euo pipefail

secret() { tr -d '\r\n' < "/run/secrets/$1"; }
ADMIN_PASSWORD=$(secret kafka-admin.password)
BROKER_PASSWORD=$(secret kafka-broker.password)
CONTROLLER_PASSWORD=$(secret kafka-controller.password)

mkdir -p /tmp/newsflow
chmod 700 /tmp/newsflow
umask 077
cat > /tmp/newsflow/server.properties <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:9094
advertised.listeners=INTERNAL://kafka:9092,EXTERNAL://localhost:9094
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.internal.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="newsflow-broker" password="${BROKER_PASSWORD}";
listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="${CONTROLLER_PASSWORD}" user_controller="${CONTROLLER_PASSWORD}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:newsflow-broker;User:controller;User:newsflow-admin
log.dirs=/var/lib/kafka/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=16777216
PROPERTIES

# The health check's client, as the administrator.
cat > /tmp/newsflow/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="newsflow-admin" password="${ADMIN_PASSWORD}";
PROPERTIES

if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "${CLUSTER_ID}" -c /tmp/newsflow/server.properties \
    --add-scram "SCRAM-SHA-512=[name=newsflow-broker,password=${BROKER_PASSWORD}]" \
    --add-scram "SCRAM-SHA-512=[name=newsflow-admin,password=${ADMIN_PASSWORD}]" >/dev/null
fi
unset ADMIN_PASSWORD BROKER_PASSWORD CONTROLLER_PASSWORD
exec /opt/kafka/bin/kafka-server-start.sh /tmp/newsflow/server.properties
