-- The example table of docker/compose.yml, created when the PostgreSQL volume is first initialised.
CREATE TABLE IF NOT EXISTS public.orders (
  id              bigint           NOT NULL,
  user_id         bigint           NOT NULL,
  country         text,
  sku             text             NOT NULL,
  amount          double precision,
  created_at      timestamptz      NOT NULL,
  kafka_partition integer          NOT NULL,
  kafka_offset    bigint           NOT NULL
);
