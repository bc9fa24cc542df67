-- A realistic, poorly compressible shop database for the benchmarks, deterministic from a seed.
--   psql -v seed=42 -v scale=130 -f bench/realistic.sql DBNAME      (≈ 8 MB per scale: 130 ≈ 1 GB on disk)
-- Natural-language-like text (words drawn with a Zipf-like skew from a generated vocabulary),
-- jsonb documents, numerics, timestamps, UUIDs, btree and GIN indexes. Same seed and scale, same
-- rows: random() is seeded and every INSERT reads its series in order on one backend.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SELECT setseed((:seed % 1000003) / 1000003.0) \gset

-- 6000 pseudo-words of 1 to 4 syllables; low indexes are short and frequent.
CREATE TEMP TABLE syllable(i int PRIMARY KEY, s text);
INSERT INTO syllable
SELECT row_number() OVER () - 1, c || v
FROM unnest(string_to_array('b c d f g h k l m n p r s t v w z st tr pl', ' ')) c,
     unnest(string_to_array('a e i o u ai ea ou', ' ')) v;
CREATE TEMP TABLE vocabulary(i int PRIMARY KEY, w text NOT NULL);
INSERT INTO vocabulary
SELECT g, (SELECT string_agg(s, '' ORDER BY k)
           FROM generate_series(1, 1 + least(3, g / 300)) k
           JOIN syllable ON syllable.i = ((g * 7919 + k * 104729) % 160))
FROM generate_series(0, 5999) g;

-- words(n): n words, the r-th most common word about 1/r as often (index = 6000^u - 1).
CREATE FUNCTION pg_temp.words(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(v.w, ' ' ORDER BY r.k)
  FROM (SELECT k, least(5999, floor(power(6000, random()) - 1)::int) AS idx FROM generate_series(1, n) k) r
  JOIN vocabulary v ON v.i = r.idx
$$;
CREATE FUNCTION pg_temp.uuid() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || '-' || lpad(to_hex((random() * 65535)::int), 4, '0')
      || '-4' || lpad(to_hex((random() * 4095)::int), 3, '0') || '-a' || lpad(to_hex((random() * 4095)::int), 3, '0')
      || '-' || lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || lpad(to_hex((random() * 65535)::int), 4, '0'))::uuid
$$;

CREATE TABLE customers (
  id bigint PRIMARY KEY,
  public_id uuid NOT NULL UNIQUE,
  email text NOT NULL,
  full_name text NOT NULL,
  country char(2) NOT NULL,
  signed_up_at timestamptz NOT NULL,
  bio text
);
CREATE TABLE products (
  id bigint PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  title text NOT NULL,
  description text NOT NULL,
  price numeric(10,2) NOT NULL,
  attributes jsonb NOT NULL
);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  public_id uuid NOT NULL,
  customer_id bigint NOT NULL REFERENCES customers,
  status text NOT NULL,
  placed_at timestamptz NOT NULL,
  total numeric(12,2) NOT NULL,
  shipping jsonb NOT NULL
);
CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders,
  line int NOT NULL,
  product_id bigint NOT NULL REFERENCES products,
  quantity int NOT NULL,
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE reviews (
  id bigint PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products,
  customer_id bigint NOT NULL REFERENCES customers,
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  written_at timestamptz NOT NULL,
  body text NOT NULL
);
CREATE TABLE events (
  id bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  session uuid NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL
);

\set customers (:scale * 2000)
\set products (:scale * 200)
\set orders (:scale * 6000)
\set reviews (:scale * 1500)
\set events (:scale * 8000)

INSERT INTO customers
SELECT g, pg_temp.uuid(),
       'user' || g || '.' || substr(md5(random()::text), 1, 6) || '@' || (ARRAY['example.com','mail.test','corp.test','shop.test'])[1 + (g % 4)],
       initcap(pg_temp.words(2)),
       (ARRAY['DE','FR','US','GB','NL','SE','PL','ES','IT','JP','BR','IN'])[1 + floor(random() * 12)::int],
       timestamptz '2019-01-01' + random() * interval '2500 days',
       CASE WHEN random() < 0.6 THEN pg_temp.words(10 + floor(random() * 40)::int) END
FROM generate_series(1, :customers) g;

INSERT INTO products
SELECT g, 'SKU-' || lpad(g::text, 8, '0'),
       initcap(pg_temp.words(3 + floor(random() * 4)::int)),
       pg_temp.words(40 + floor(random() * 120)::int),
       round((1 + random() * 499)::numeric, 2),
       jsonb_build_object('color', (ARRAY['red','blue','green','black','white','grey'])[1 + floor(random() * 6)::int],
                          'weight_g', floor(random() * 5000)::int,
                          'tags', to_jsonb(string_to_array(pg_temp.words(1 + floor(random() * 5)::int), ' ')),
                          'dimensions', jsonb_build_object('w', round(random() * 100), 'h', round(random() * 100), 'd', round(random() * 100)),
                          'in_stock', random() < 0.8)
FROM generate_series(1, :products) g;

INSERT INTO orders
SELECT g, pg_temp.uuid(), 1 + floor(random() * :customers)::bigint,
       (ARRAY['placed','paid','shipped','delivered','returned','cancelled'])[1 + floor(power(random(), 2) * 6)::int],
       timestamptz '2020-01-01' + random() * interval '2000 days',
       round((5 + random() * 995)::numeric, 2),
       jsonb_build_object('street', initcap(pg_temp.words(2)) || ' ' || (1 + floor(random() * 300)::int),
                          'city', initcap(pg_temp.words(1)), 'zip', lpad(floor(random() * 99999)::text, 5, '0'),
                          'carrier', (ARRAY['dhl','ups','fedex','post'])[1 + floor(random() * 4)::int],
                          'tracking', md5(random()::text))
FROM generate_series(1, :orders) g;

INSERT INTO order_lines
SELECT o, l, 1 + floor(random() * :products)::bigint, 1 + floor(power(random(), 3) * 9)::int, round((1 + random() * 499)::numeric, 2)
FROM generate_series(1, :orders) o, generate_series(1, 1 + (o % 4)) l;

INSERT INTO reviews
SELECT g, 1 + floor(random() * :products)::bigint, 1 + floor(random() * :customers)::bigint,
       1 + floor(power(random(), 0.5) * 5)::int, timestamptz '2020-01-01' + random() * interval '2000 days',
       pg_temp.words(20 + floor(random() * 150)::int)
FROM generate_series(1, :reviews) g;

INSERT INTO events
SELECT g, timestamptz '2024-01-01' + g * interval '1 second' * 3 + random() * interval '3 seconds', pg_temp.uuid(),
       (ARRAY['view','search','cart','checkout','login','click'])[1 + floor(power(random(), 2) * 6)::int],
       jsonb_build_object('path', '/' || replace(pg_temp.words(2), ' ', '/'),
                          'query', CASE WHEN random() < 0.3 THEN pg_temp.words(1 + floor(random() * 4)::int) END,
                          'duration_ms', floor(random() * 3000)::int,
                          'agent', (ARRAY['firefox','chrome','safari','edge','curl'])[1 + floor(random() * 5)::int],
                          'ip', (floor(random() * 223) + 1)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int)
FROM generate_series(1, :events) g;

CREATE INDEX ON customers (signed_up_at);
CREATE INDEX ON orders (customer_id, placed_at);
CREATE INDEX ON order_lines (product_id);
CREATE INDEX ON reviews (product_id);
CREATE INDEX reviews_body_fts ON reviews USING gin (to_tsvector('simple', body));
CREATE INDEX ON products USING gin (attributes jsonb_path_ops);
CREATE INDEX ON events USING gin (payload);
CREATE INDEX ON events (at);
VACUUM ANALYZE;
