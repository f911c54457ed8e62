-- e2e_src.sql - the small source database config.test.mjs adds as a source
-- (tests/run.sh's e2e stage loads it into database e2e_src of the harness
-- cluster): two tables with a primary key and an updated_at watermark.
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    total numeric(12, 2) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (id, name, updated_at)
SELECT g, 'customer ' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 20) g;
INSERT INTO orders (id, total, updated_at)
SELECT g, (g * 7 % 500) + 0.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '10 minutes'
FROM generate_series(1, 100) g;
ANALYZE;
