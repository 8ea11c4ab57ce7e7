-- Row level security as first shipped. Its holes: `profiles` has no RLS although `anon` can read
-- it; `kyc_documents` has RLS but no policy; anyone signed in may insert any transaction; the
-- summary view runs as its owner, past RLS; `transactions` is not audited and its foreign key
-- to `wallets` has no index.
ALTER TABLE wallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE wallets FORCE ROW LEVEL SECURITY;
CREATE POLICY "own wallets" ON wallets FOR SELECT TO authenticated
  USING (owner_id = auth.uid());

ALTER TABLE transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE transactions FORCE ROW LEVEL SECURITY;
CREATE POLICY "own transactions" ON transactions FOR SELECT TO authenticated
  USING (wallet_id IN (SELECT id FROM wallets WHERE owner_id = auth.uid()));
CREATE POLICY "insert transactions" ON transactions FOR INSERT TO authenticated
  WITH CHECK (true);

ALTER TABLE kyc_documents ENABLE ROW LEVEL SECURITY;
