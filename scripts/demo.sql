-- demo.sql - the "Demo shop" source database that `make run` offers a new
-- user: a small online shop with realistic tables, so the first pipeline has
-- something real to sync.
--
-- Run by scripts/stack.sh (psql -1 -v ON_ERROR_STOP=1) in the database
-- sluice_demo of the embedded cluster. It replaces whatever demo tables
-- exist, so running it twice is harmless. The data is deterministic: every
-- value is derived from generate_series with integer arithmetic (no
-- random(), no now()), anchored at 2025-06-30 UTC, so two stacks hold the
-- same shop.
--
--   countries    ~30 rows   code primary key, no watermark column (full refresh)
--   customers   2,000 rows  bigint key, created_at / updated_at
--   orders      5,000 rows  an enum status, numeric(12,2), char(3), jsonb items
--   events      8,000 rows  bigserial key, jsonb payload, occurred_at / updated_at
--   page_views  3,000 rows  no primary key (full refresh)

SET client_min_messages = warning;
SET TIME ZONE 'UTC';

DROP TABLE IF EXISTS public.page_views, public.events, public.orders, public.customers,
    public.countries CASCADE;
DROP TYPE IF EXISTS public.order_status;

CREATE TYPE public.order_status AS ENUM ('pending', 'paid', 'shipped', 'refunded');

CREATE TABLE public.countries (
    code  char(2) PRIMARY KEY,
    name  text NOT NULL
);

INSERT INTO public.countries (code, name) VALUES
    ('AR', 'Argentina'), ('AT', 'Austria'), ('AU', 'Australia'), ('BE', 'Belgium'),
    ('BR', 'Brazil'), ('CA', 'Canada'), ('CH', 'Switzerland'), ('CL', 'Chile'),
    ('CZ', 'Czechia'), ('DE', 'Germany'), ('DK', 'Denmark'), ('ES', 'Spain'),
    ('FI', 'Finland'), ('FR', 'France'), ('GB', 'United Kingdom'), ('IE', 'Ireland'),
    ('IN', 'India'), ('IT', 'Italy'), ('JP', 'Japan'), ('KR', 'South Korea'),
    ('MX', 'Mexico'), ('NL', 'Netherlands'), ('NO', 'Norway'), ('NZ', 'New Zealand'),
    ('PL', 'Poland'), ('PT', 'Portugal'), ('SE', 'Sweden'), ('SG', 'Singapore'),
    ('US', 'United States'), ('ZA', 'South Africa');

CREATE TABLE public.customers (
    id          bigint PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    country     char(2) NOT NULL REFERENCES public.countries (code),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX customers_updated_at_idx ON public.customers (updated_at);

-- Names from two lists walked at different strides; countries weighted
-- towards a few big markets (every third customer is in the US).
INSERT INTO public.customers (id, email, name, country, created_at, updated_at)
SELECT i,
       translate(lower(f.first || '.' || l.last), 'áéíóúüöë', 'aeiouuoe') || i || '@example.' ||
           (ARRAY['com', 'net', 'org', 'io'])[1 + i % 4],
       f.first || ' ' || l.last,
       CASE WHEN i % 3 = 0 THEN 'US'
            WHEN i % 7 = 0 THEN 'GB'
            WHEN i % 11 = 0 THEN 'DE'
            ELSE (SELECT code FROM public.countries ORDER BY code OFFSET (i * 7) % 30 LIMIT 1)
       END,
       created,
       created + ((i * 37) % 200) * interval '1 day' * (i % 4 = 0)::int
                + ((i * 13) % 1440) * interval '1 minute'
FROM generate_series(1, 2000) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['Ada', 'Ben', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grace',
    'Hiro', 'Ines', 'Jonas', 'Kemi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quinn',
    'Rosa', 'Sven', 'Tomás', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoë'])[1 + i % 25] AS first) f
CROSS JOIN LATERAL (SELECT (ARRAY['Adams', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer',
    'García', 'Hansen', 'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Martin', 'Nakamura',
    'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Novak', 'Weber', 'Young',
    'Müller'])[1 + (i * 7) % 23] AS last) l
CROSS JOIN LATERAL (SELECT timestamptz '2023-01-01 00:00+00'
    + ((i * 911) % 520) * interval '1 day' + ((i * 53) % 86400) * interval '1 second'
    AS created) c;

CREATE TABLE public.orders (
    id           bigint PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES public.customers (id),
    status       public.order_status NOT NULL,
    total        numeric(12,2) NOT NULL,
    currency     char(3) NOT NULL,
    items        jsonb NOT NULL,
    placed_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX orders_customer_idx ON public.orders (customer_id);
CREATE INDEX orders_updated_at_idx ON public.orders (updated_at);

-- One to three line items from a small catalogue; the total is their sum.
-- Most orders are shipped; recent ones are pending or paid; a few refunded.
WITH o AS (
    SELECT i,
           1 + (i * 7919) % 2000 AS customer_id,
           timestamptz '2024-07-01 00:00+00' + ((i * 104729) % 31536000) * interval '1 second'
               AS placed_at,
           1 + i % 3 AS nitems
    FROM generate_series(1, 5000) AS i
), lines AS (
    SELECT o.i, k,
           (ARRAY['SKU-1001', 'SKU-1002', 'SKU-1003', 'SKU-2001', 'SKU-2002', 'SKU-3001',
                  'SKU-3002', 'SKU-4001'])[1 + (o.i * 3 + k * 5) % 8] AS sku,
           (ARRAY['Espresso beans 1kg', 'Filter papers (100)', 'Ceramic dripper',
                  'Gooseneck kettle', 'Burr grinder', 'Travel mug', 'Milk frother',
                  'Gift card'])[1 + (o.i * 3 + k * 5) % 8] AS title,
           (ARRAY[24.90, 4.50, 19.00, 59.00, 139.00, 22.50, 34.90, 50.00])
               [1 + (o.i * 3 + k * 5) % 8]::numeric(12,2) AS price,
           1 + (o.i + k) % 3 AS qty
    FROM o CROSS JOIN LATERAL generate_series(1, o.nitems) AS k
), agg AS (
    SELECT i,
           jsonb_agg(jsonb_build_object('sku', sku, 'title', title, 'qty', qty,
                                        'unit_price', price) ORDER BY k) AS items,
           sum(price * qty)::numeric(12,2) AS total
    FROM lines GROUP BY i
)
INSERT INTO public.orders (id, customer_id, status, total, currency, items, placed_at,
                           updated_at)
SELECT o.i, o.customer_id,
       (CASE WHEN o.i % 41 = 0 THEN 'refunded'
             WHEN o.i > 4850 THEN (ARRAY['pending', 'paid'])[1 + o.i % 2]
             WHEN o.i % 9 = 0 THEN 'paid'
             ELSE 'shipped' END)::public.order_status,
       agg.total,
       (ARRAY['EUR', 'USD', 'GBP', 'EUR', 'USD'])[1 + o.i % 5],
       agg.items,
       o.placed_at,
       o.placed_at + ((o.i * 17) % 72) * interval '1 hour'
FROM o JOIN agg USING (i);

CREATE TABLE public.events (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX events_updated_at_idx ON public.events (updated_at);

INSERT INTO public.events (kind, payload, occurred_at, updated_at)
SELECT kind,
       jsonb_build_object('customer_id', 1 + (i * 31) % 2000, 'session',
                          'sess-' || to_hex(i * 2654435761 % 4294967296))
           || CASE kind
                  WHEN 'search' THEN jsonb_build_object('query',
                      (ARRAY['espresso', 'kettle', 'grinder', 'decaf', 'mug'])[1 + i % 5],
                      'results', (i * 13) % 40)
                  WHEN 'cart.add' THEN jsonb_build_object('sku', 'SKU-' || (1001 + i % 4),
                      'qty', 1 + i % 2)
                  WHEN 'checkout' THEN jsonb_build_object('order_id', 1 + (i * 3) % 5000)
                  WHEN 'login' THEN jsonb_build_object('method',
                      (ARRAY['password', 'google', 'magic_link'])[1 + i % 3])
                  ELSE jsonb_build_object('path', '/products/' || (1 + i % 60))
              END,
       at, at + ((i % 5 = 0)::int * ((i * 7) % 600)) * interval '1 second'
FROM generate_series(1, 8000) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['page.view', 'search', 'cart.add', 'page.view',
    'checkout', 'page.view', 'search', 'login'])[1 + (i * 5) % 8] AS kind) k
CROSS JOIN LATERAL (SELECT timestamptz '2025-06-01 00:00+00'
    + (i * 324) * interval '1 second' + (i % 17) * interval '1 millisecond' AS at) t
ORDER BY i;

-- No primary key: a raw clickstream; full refresh (or append) only.
CREATE TABLE public.page_views (
    path       text NOT NULL,
    referrer   text,
    viewed_at  timestamptz NOT NULL
);

INSERT INTO public.page_views (path, referrer, viewed_at)
SELECT (ARRAY['/', '/products', '/products/espresso-beans', '/products/burr-grinder',
              '/cart', '/checkout', '/blog/how-to-brew', '/about'])[1 + (i * 3) % 8],
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE (ARRAY['https://www.google.com/', 'https://news.ycombinator.com/',
                        'https://www.instagram.com/', 'https://duckduckgo.com/'])[1 + i % 4]
       END,
       timestamptz '2025-06-23 00:00+00' + (i * 201) * interval '1 second'
FROM generate_series(1, 3000) AS i;

ANALYZE public.countries, public.customers, public.orders, public.events, public.page_views;
