// A role of its own for pharmacists: they mark prescriptions dispensed (and only they may), and, like
// organisation admins and security officers, they open no patient's record by their role.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    ALTER TABLE member_roles DROP CONSTRAINT member_roles_role_check;
    ALTER TABLE member_roles ADD CONSTRAINT member_roles_role_check CHECK (role IN ('patient', 'doctor', 'health_professional', 'pharmacist', 'org_admin', 'security_officer'));
  `);
}
