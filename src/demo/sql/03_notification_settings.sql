-- Push notification preferences (pending in the demo with holes: written, never applied).
CREATE TABLE notification_settings (
  profile_id uuid PRIMARY KEY REFERENCES profiles (id),
  push_enabled boolean NOT NULL DEFAULT true
);
ALTER TABLE notification_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own settings" ON notification_settings FOR ALL TO authenticated
  USING (profile_id = auth.uid()) WITH CHECK (profile_id = auth.uid());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_settings TO authenticated;
