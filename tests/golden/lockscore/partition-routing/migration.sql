-- the locks of the routed INSERTs below were checked on PostgreSQL 15 (pg_locks)
-- routed: events, events_2024, events_2024_views (NULL is in its list)
INSERT INTO events (id, at, kind, seq) VALUES (1, '2024-03-01 00:00+00', NULL, 5);
-- the second row is at 2024-01-01 01:00 UTC: events_2024_rest; the third
-- goes to events_old
INSERT INTO events VALUES (2, '2024-06-01T10:00:00Z', 'click', 0), (3, '2023-12-31 23:00-02', 'x', -1), (7, '2023-12-31 23:00+00', 'x', -1);
-- not told statically, so only events is predicted: a function, a
-- timestamptz without an offset (the session's time zone decides), hash
INSERT INTO events (id, at, kind, seq) VALUES (4, now(), 'view', 1);
INSERT INTO events (id, at, kind, seq) VALUES (5, '2024-03-01 00:00', 'view', 1);
INSERT INTO shards VALUES (1, 'a');
-- no partition takes 2026: the INSERT fails
INSERT INTO events (id, at, kind, seq) VALUES (6, '2026-02-01 00:00+00', 'view', 1);
