/** `eventline/rabbitmq`: the relay that publishes the outbox, and the consumers and sagas fed by RabbitMQ. */

/** A reconnecting broker connection (amqp-connection-manager), and a one-off connection for a task. */
export { connectBroker, withBrokerConnection } from "./broker/amqp-connection.ts";
/** The relay: outbox rows to a topic exchange with publisher confirms, in per-stream order. */
export { createRelay, type Relay, type RelayOptions } from "./outbox/relay.ts";
/** A read model's consumer: its queue, inbox, catch-up sweep, retries and dead letters. */
export { createConsumer, type Consumer, type ConsumerOptions } from "./consumers/consumer-runtime.ts";
/** Dead letters of a consumer: list, replay, purge. */
export { listDeadLetters, purgeDeadLetters, replayDeadLetters, type DeadLetter } from "./consumers/dead-letters.ts";
/** The worker that drives saga instances step by step. */
export { createSagaWorker, type SagaWorker, type SagaWorkerOptions } from "./sagas/saga-worker.ts";
/** The consumer that starts a saga's instances from its start events. */
export { sagaStarter } from "./sagas/saga-starter.ts";
/** The routing key of an event: `<category>.<type>`. */
export { routingKeyOf } from "./broker/event-message.ts";
