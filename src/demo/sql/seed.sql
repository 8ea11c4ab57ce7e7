-- A few rows, so that the dumps and the views have something to show.
INSERT INTO profiles (id, display_name, phone) VALUES
  ('6f1c0c2e-8a3b-4d52-9e61-2b7f4a1d0c01', 'Amina', '+250788000001'),
  ('6f1c0c2e-8a3b-4d52-9e61-2b7f4a1d0c02', 'Jean', '+250788000002');
INSERT INTO wallets (owner_id, currency, balance_cents) VALUES
  ('6f1c0c2e-8a3b-4d52-9e61-2b7f4a1d0c01', 'RWF', 1250000),
  ('6f1c0c2e-8a3b-4d52-9e61-2b7f4a1d0c02', 'RWF', 40000);
INSERT INTO transactions (wallet_id, amount_cents, memo) VALUES
  (1, 1500000, 'top-up'), (1, -250000, 'rent'), (2, 40000, 'top-up');
