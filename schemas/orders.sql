-- The table the reference Order record (schemas/order.avsc) lands in; :"table" is psql's variable.
CREATE TABLE IF NOT EXISTS :"table" (
  id          bigint      NOT NULL,
  user_id     bigint      NOT NULL,
  country     text,
  sku         text        NOT NULL,
  amount      double precision,
  created_at  timestamptz NOT NULL,
  tags        text[],
  attrs       jsonb
);
