-- Where each saga instance came from: the event that started it (the console links the two), and that
-- event's W3C trace context, which each step's span continues.
alter table eventline_saga_instances add column started_by uuid, add column trace jsonb;
create index eventline_saga_instances_started_by on eventline_saga_instances (started_by) where started_by is not null;
