-- Saga instances: where each one is, what it has done, and when it may run next.
create table saga_instances (
  saga_id text primary key,
  saga_type text not null,
  status text not null default 'running'
    check (status in ('running', 'completed', 'compensating', 'compensated', 'needs_attention')),
  data jsonb not null,
  current_step int not null default 0,
  completed_steps jsonb not null default '[]',
  -- steps still to compensate, last completed first
  compensation_queue jsonb not null default '[]',
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  -- a worker's claim on the instance; a crashed worker's lease simply runs out
  lease_token uuid,
  lease_until timestamptz,
  last_error text,
  failure text,
  history jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index saga_instances_due on saga_instances (next_attempt_at) where status in ('running', 'compensating');
create index saga_instances_status on saga_instances (status);
