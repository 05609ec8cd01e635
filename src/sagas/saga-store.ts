import type { Sql, TransactionSql } from "postgres";
import type { TraceCarrier } from "../core/telemetry.ts";
import type { SagaStatus } from "./saga-definition.ts";

export type SagaInstance = {
  sagaId: string;
  sagaType: string;
  status: SagaStatus;
  data: unknown;
  currentStep: number;
  completedSteps: string[];
  compensationQueue: string[];
  attempts: number;
  nextAttemptAt: Date;
  leaseToken: string | null;
  lastError: string | null;
  failure: string | null;
  history: { at: string; step: string; outcome: string }[];
  /** The trace context of the event that started the instance. */
  trace: TraceCarrier | null;
  createdAt: Date;
  updatedAt: Date;
};

type Row = {
  saga_id: string;
  saga_type: string;
  status: SagaStatus;
  data: unknown;
  current_step: number;
  completed_steps: string[];
  compensation_queue: string[];
  attempts: number;
  next_attempt_at: Date;
  lease_token: string | null;
  last_error: string | null;
  failure: string | null;
  history: SagaInstance["history"];
  trace: TraceCarrier | null;
  created_at: Date;
  updated_at: Date;
};

const toInstance = (r: Row): SagaInstance => ({
  sagaId: r.saga_id,
  sagaType: r.saga_type,
  status: r.status,
  data: r.data,
  currentStep: r.current_step,
  completedSteps: r.completed_steps,
  compensationQueue: r.compensation_queue,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  leaseToken: r.lease_token,
  lastError: r.last_error,
  failure: r.failure,
  history: r.history,
  trace: r.trace,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Starts an instance unless one with this id exists (a redelivered start event changes nothing). */
export async function startSaga(
  tx: TransactionSql | Sql,
  saga: { sagaId: string; sagaType: string; data: unknown; startedBy?: string; trace?: TraceCarrier },
  notifyChannel: string,
) {
  const trace = saga.trace?.traceparent ? tx.json(saga.trace as never) : null;
  const rows = await tx`
    insert into eventline_saga_instances (saga_id, saga_type, data, started_by, trace)
    values (${saga.sagaId}, ${saga.sagaType}, ${tx.json(saga.data as never)}, ${saga.startedBy ?? null}::uuid, ${trace})
    on conflict (saga_id) do nothing returning saga_id`;
  if (rows.length > 0) await tx`select pg_notify(${notifyChannel}, ${saga.sagaId})`;
  return rows.length > 0;
}

/** Leases the instance that is due first, skipping those another worker holds. */
export async function claimDue(sql: Sql, types: string[], leaseMs: number): Promise<SagaInstance | undefined> {
  const [row] = await sql<Row[]>`
    update eventline_saga_instances set lease_token = gen_random_uuid(), lease_until = now() + make_interval(secs => ${leaseMs / 1000}::float8)
    where saga_id = (
      select saga_id from eventline_saga_instances
      where status in ('running', 'compensating') and next_attempt_at <= now()
        and saga_type = any(${types}::text[])
        and (lease_until is null or lease_until < now())
      order by next_attempt_at
      limit 1
      for update skip locked)
    returning *`;
  return row ? toInstance(row) : undefined;
}

export type Progress = Partial<{
  status: SagaStatus;
  currentStep: number;
  completedSteps: string[];
  compensationQueue: string[];
  attempts: number;
  delayMs: number;
  lastError: string | null;
  failure: string | null;
}> & { event: { step: string; outcome: string } };

/** Records a step's outcome and releases the lease; a worker whose lease was taken over records nothing. */
export async function recordProgress(sql: Sql, instance: SagaInstance, p: Progress): Promise<boolean> {
  const entry = [{ at: new Date().toISOString(), ...p.event }];
  const rows = await sql`
    update eventline_saga_instances set
      status = ${p.status ?? instance.status},
      current_step = ${p.currentStep ?? instance.currentStep},
      completed_steps = ${sql.json(p.completedSteps ?? instance.completedSteps)},
      compensation_queue = ${sql.json(p.compensationQueue ?? instance.compensationQueue)},
      attempts = ${p.attempts ?? instance.attempts},
      next_attempt_at = now() + make_interval(secs => ${(p.delayMs ?? 0) / 1000}::float8),
      last_error = ${p.lastError === undefined ? instance.lastError : p.lastError},
      failure = ${p.failure === undefined ? instance.failure : p.failure},
      history = history || ${sql.json(entry)},
      lease_token = null, lease_until = null, updated_at = now()
    where saga_id = ${instance.sagaId} and lease_token = ${instance.leaseToken}
    returning 1`;
  return rows.length > 0;
}

export async function listSagas(sql: Sql, status?: string, limit = 200): Promise<SagaInstance[]> {
  const rows = await sql<Row[]>`
    select * from eventline_saga_instances ${status ? sql`where status = ${status}` : sql``} order by updated_at desc limit ${limit}`;
  return rows.map(toInstance);
}

export async function findSaga(sql: Sql, sagaId: string): Promise<SagaInstance | undefined> {
  const [row] = await sql<Row[]>`select * from eventline_saga_instances where saga_id = ${sagaId}`;
  return row ? toInstance(row) : undefined;
}

/** An operator's retry of an instance that needs attention: its compensations run again from where they stopped. */
export async function retrySaga(sql: Sql, sagaId: string, notifyChannel: string): Promise<boolean> {
  const rows = await sql`
    update eventline_saga_instances set status = 'compensating', attempts = 0, next_attempt_at = now(), updated_at = now(),
      history = history || ${sql.json([{ at: new Date().toISOString(), step: "-", outcome: "retried by operator" }])}
    where saga_id = ${sagaId} and status = 'needs_attention' returning 1`;
  if (rows.length > 0) await sql`select pg_notify(${notifyChannel}, ${sagaId})`;
  return rows.length > 0;
}
