-- The wallet app's tables, as a Supabase project has them: the API roles `anon` and
-- `authenticated`, auth.uid(), and the default grants Supabase gives the API roles on `public`.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN;
  END IF;
END
$$;

CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated;
GRANT USAGE ON SCHEMA public TO anon, authenticated;

CREATE TABLE profiles (
  id uuid PRIMARY KEY,
  display_name text NOT NULL,
  phone text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wallets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES profiles (id),
  currency text NOT NULL,
  balance_cents bigint NOT NULL DEFAULT 0
);
CREATE INDEX wallets_owner_id_idx ON wallets (owner_id);

CREATE TABLE transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  wallet_id bigint NOT NULL REFERENCES wallets (id),
  amount_cents bigint NOT NULL,
  memo text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kyc_documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  profile_id uuid NOT NULL REFERENCES profiles (id),
  document_url text NOT NULL
);
CREATE INDEX kyc_documents_profile_id_idx ON kyc_documents (profile_id);

-- The audit trail lives outside the exposed schema; only its owner writes to it.
CREATE SCHEMA audit;
CREATE TABLE audit.logged_actions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name text NOT NULL,
  operation text NOT NULL,
  row_data jsonb,
  logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION audit.log_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = '' AS $$
BEGIN
  INSERT INTO audit.logged_actions (table_name, operation, row_data)
  VALUES (TG_TABLE_NAME, TG_OP,
          CASE WHEN TG_LEVEL = 'ROW' THEN to_jsonb(coalesce(NEW, OLD)) END);
  RETURN NULL;
END
$$;
CREATE TRIGGER wallets_audit AFTER INSERT OR UPDATE OR DELETE ON wallets
  FOR EACH ROW EXECUTE FUNCTION audit.log_change();
CREATE TRIGGER wallets_audit_truncate AFTER TRUNCATE ON wallets
  FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change();

-- A summary for the app's home screen.
CREATE VIEW spending_summary AS
  SELECT w.owner_id, w.currency, sum(t.amount_cents) AS spent_cents
  FROM transactions t JOIN wallets w ON w.id = t.wallet_id
  WHERE t.amount_cents < 0
  GROUP BY w.owner_id, w.currency;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO anon, authenticated;
