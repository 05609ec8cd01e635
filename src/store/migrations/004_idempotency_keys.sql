-- Responses to commands sent with an Idempotency-Key, written in the same transaction as their events.
create table idempotency_keys (
  key text primary key,
  fingerprint text not null,
  status int not null,
  body jsonb not null,
  created_at timestamptz not null default now()
);
