// Versioned, forward-only migrations. Add a file, then list it here: order is the key order.
import type { Migration, MigrationProvider } from 'kysely';
import * as identity from './0001_identity.js';
import * as accessAudit from './0002_access_audit.js';
import * as accessUniqueness from './0003_access_uniqueness.js';
import * as consultation from './0004_consultation.js';
import * as auditTiles from './0005_audit_tiles.js';
import * as prescriptions from './0006_prescriptions.js';
import * as observations from './0007_observations.js';
import * as reportVersions from './0008_report_versions.js';
import * as pharmacistRole from './0009_pharmacist_role.js';
import * as accessFacts from './0010_access_facts.js';
import * as conditions from './0011_conditions.js';
import * as oauth from './0012_oauth.js';
import * as signedReportsGuard from './0013_signed_reports_guard.js';
import * as cheaperDecisions from './0014_cheaper_decisions.js';

const migrations: Record<string, Migration> = {
  '0001_identity': identity,
  '0002_access_audit': accessAudit,
  '0003_access_uniqueness': accessUniqueness,
  '0004_consultation': consultation,
  '0005_audit_tiles': auditTiles,
  '0006_prescriptions': prescriptions,
  '0007_observations': observations,
  '0008_report_versions': reportVersions,
  '0009_pharmacist_role': pharmacistRole,
  '0010_access_facts': accessFacts,
  '0011_conditions': conditions,
  '0012_oauth': oauth,
  '0013_signed_reports_guard': signedReportsGuard,
  '0014_cheaper_decisions': cheaperDecisions,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
