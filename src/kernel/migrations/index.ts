// Versioned, forward-only migrations. Add a file, then list it here: order is the key order.
import type { Migration, MigrationProvider } from 'kysely';
import * as identity from './0001_identity.js';

const migrations: Record<string, Migration> = {
  '0001_identity': identity,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
