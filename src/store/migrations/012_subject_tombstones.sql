-- A forgotten subject keeps its row with no key: a command that decided before the forget and seals
-- after it finds the tombstone and writes its personal fields redacted, instead of making a new key.
alter table subject_keys alter column key drop not null;
alter table subject_keys add column forgotten_at timestamptz;
