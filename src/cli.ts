#!/usr/bin/env node
// The command line: serve, migrate, create-user, demo. `npx ausculta help` lists them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasAdministrator, issueSetupToken } from './admin/setup.js';
import { createAccount } from './identity/accounts.js';
import { purgeExpiredIdentityRows } from './identity/maintenance.js';
import { pruneExpiredAuditEntries } from './audit/retention.js';
import { rotateDataKeys, wrappedKeyCensus } from './records/rotation.js';
import { addMasterKeyToFile } from './kernel/envelope.js';
import { ConfigError, loadConfig, type Config } from './kernel/config.js';
import { pgliteDirFor } from './kernel/db.js';
import { AppError } from './kernel/errors.js';
import { ROLES, type Role } from './kernel/schema.js';
import { buildApp } from './server.js';
import { sendDueReminders } from './consultation/reminders.js';
import { createServices } from './services.js';
import { DEMO_ORGANISATION, generatePassword, loadDemo } from './demo.js';

const HELP = `ausculta <command>

  serve                 start the server (PORT, DATA_DIR, DATABASE_URL, … see README)
  migrate               apply pending database migrations and exit
  create-user           --email E --name N --roles r1,r2 (--organisation ID | --new-organisation NAME)
                        [--rpps N] [--profession P]; prints a generated password once
  demo                  create the demo organisation "${DEMO_ORGANISATION}"
                        and print its accounts (passwords, TOTP secrets) once
  rotate-keys           re-wrap every stored data key under the current master key, in batches, while
                        the server runs [--new-key: first add a fresh master key to DATA_DIR/master-keys]
                        [--batch N]; ciphertexts are not touched (see README, encryption at rest).
                        PGlite: only adds the key (the server re-wraps at start) unless --offline
  help                  this text
roles: ${ROLES.join(', ')}`;

/**
 * Creating a PGlite database (initdb) leaves ~500 MB in the process that did it, never given back:
 * on first run a short-lived child process creates and migrates it, and the server opens it afterwards.
 */
function prepareEmbeddedDatabase(config: Config): void {
  if (config.databaseUrl || existsSync(pgliteDirFor(config.dataDir))) return;
  console.log('First run: creating the embedded database…');
  const result = spawnSync(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'migrate'], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new Error('could not create the embedded database');
}

async function serve(config: Config): Promise<void> {
  prepareEmbeddedDatabase(config);
  const services = await createServices(config);
  const app = await buildApp(services);
  const stop = async () => {
    await app.close();
    await services.close();
    process.exit(0);
  };
  services.audit.integrator.start(config.audit.integrateEveryMs, (error) => app.log.error({ err: error }, 'audit integration failed'));
  const housekeeping = setInterval(() => {
    purgeExpiredIdentityRows(services.db, services.now())
      .then(() => pruneExpiredAuditEntries(services.db, services.now(), config.audit.retentionDays))
      .catch((error: unknown) => app.log.error({ err: error }, 'housekeeping failed'));
  }, 10 * 60_000);
  housekeeping.unref();
  const reminders = setInterval(() => {
    sendDueReminders({ db: services.db, mailer: services.mailer, publicUrl: config.publicUrl }, new Date(services.now())).catch((error: unknown) => app.log.error({ err: error }, 'reminders failed'));
  }, config.consultation.reminderEveryMs);
  reminders.unref();
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await app.listen({ port: config.port, host: config.host });
  const setupToken = await issueSetupToken(services.db, services.now());
  if (setupToken) {
    console.log(`\nFirst run: create the first administrator at ${config.publicUrl}/#/installation`);
    console.log(`One-time setup token (valid 24 h, replaced at each start until used): ${setupToken}\n`);
  }
  console.log(`Ausculta listening on ${config.publicUrl} (database: ${services.databaseKind})`);
  // Data keys still wrapped by a retired master key are re-wrapped in small batches while serving:
  // after a new key is added and the server restarted, rotation needs nothing else (PGlite included).
  services.background.run('master key rotation', async () => {
    const rotation = await rotateDataKeys(services.db, services.envelope);
    if (rotation.rewrapped > 0 || rotation.failed > 0) app.log.info({ rewrapped: rotation.rewrapped, failed: rotation.failed, currentKeyId: rotation.currentKeyId }, 'data keys re-wrapped under the current master key');
  });
}

async function createUser(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      organisation: { type: 'string' },
      'new-organisation': { type: 'string' },
      rpps: { type: 'string' },
      profession: { type: 'string' },
    },
  });
  if (!values.email || !values.name || !values.roles) throw new ConfigError('create-user needs --email, --name and --roles');
  const roles = values.roles.split(',').map((role) => role.trim()) as Role[];
  const unknown = roles.filter((role) => !ROLES.includes(role));
  if (unknown.length > 0) throw new ConfigError(`unknown role(s): ${unknown.join(', ')}`);
  if (roles.includes('patient')) throw new ConfigError('patients sign up themselves or are invited (their identity traits are needed)');
  const services = await createServices(config);
  try {
    const password = generatePassword();
    const userId = await services.db.transaction().execute(async (tx) => {
      let organisationId = values.organisation;
      if (!organisationId) {
        if (!values['new-organisation']) throw new ConfigError('give --organisation ID or --new-organisation NAME');
        organisationId = (await tx.insertInto('organisations').values({ name: values['new-organisation'], finess: null }).returning('id').executeTakeFirstOrThrow()).id;
      }
      return createAccount(tx, services.hasher, {
        email: values.email!,
        displayName: values.name!,
        password,
        organisationId,
        roles,
        rpps: values.rpps,
        profession: values.profession,
      });
    });
    console.log(`Created user ${userId}\nPassword (shown once; enrol a second factor at first login): ${password}`);
  } finally {
    await services.close();
  }
}

async function demo(config: Config): Promise<void> {
  const services = await createServices(config);
  try {
    const accounts = await loadDemo(services);
    console.log(`\n${DEMO_ORGANISATION}\nFictitious people. Shown once — note them now.\n`);
    for (const account of accounts) {
      console.log(`${account.label.padEnd(26)} ${account.email.padEnd(34)} password: ${account.password}   TOTP secret: ${account.totpSecret}`);
    }
    if (!(await hasAdministrator(services.db))) console.log('\nNo real administrator yet: start the server for the setup token.');
  } finally {
    await services.close();
  }
}

async function rotateKeys(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'new-key': { type: 'boolean' }, batch: { type: 'string' }, offline: { type: 'boolean' } } });
  const batchSize = values.batch === undefined ? 500 : Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new ConfigError('--batch must be an integer between 1 and 10000');
  if (values['new-key']) {
    const id = await addMasterKeyToFile(config.dataDir, new Date());
    console.log(`Added master key ${id} to ${config.dataDir}/master-keys (back this file up, apart from the database backups).`);
    if (config.masterKeyId) console.log(`MASTER_KEY_ID=${config.masterKeyId} pins the current key: set it to ${id} to wrap with the new one.`);
  }
  if (!config.databaseUrl && !values.offline) {
    // PGlite is one process at a time: never open it beside a running server.
    console.log('Embedded database (PGlite): restart the server; it re-wraps the stored data keys itself, in the background, while serving.');
    console.log('(With the server stopped, `ausculta rotate-keys --offline` re-wraps them here.)');
    return;
  }
  const services = await createServices(config);
  try {
    const report = await rotateDataKeys(services.db, services.envelope, { batchSize });
    for (const [column, counts] of Object.entries(report.columns)) console.log(`${column.padEnd(40)} re-wrapped ${counts.rewrapped}, failed ${counts.failed}`);
    const census = Object.entries(await wrappedKeyCensus(services.db)).map(([id, count]) => `${id}: ${count}`);
    console.log(`Current master key: ${report.currentKeyId}. Stored values per master key: ${census.join(', ') || 'none'}.`);
    if (report.failed > 0) {
      console.log(`${report.failed} value(s) could not be re-wrapped (unknown master key or corrupt): keep every retired key until they are dealt with.`);
      process.exitCode = 1;
    }
  } finally {
    await services.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help') {
    console.log(HELP);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate': {
      const services = await createServices(config);
      await services.close();
      console.log(`Migrations applied (database: ${services.databaseKind}).`);
      return;
    }
    case 'create-user':
      return createUser(config, rest);
    case 'demo':
      return demo(config);
    case 'rotate-keys':
      return rotateKeys(config, rest);
    default:
      throw new ConfigError(`unknown command "${command}"\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const expected = error instanceof ConfigError || error instanceof AppError;
  console.error(expected ? `ausculta: ${error.message}` : error);
  process.exit(1);
});
