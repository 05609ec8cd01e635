-- The W3C trace context of the event that started a saga instance: each step's span continues it.
alter table eventline_saga_instances add column trace jsonb;
