// Public routes that send mail or create accounts are limited per source address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { setupOrganisation, uniqueEmail } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_SCALE: '1' });
  await setupOrganisation(server);
});
afterAll(() => server?.close());

describe('per-address limits', () => {
  it('a mailbox cannot be flooded with reset mails', async () => {
    const client = new Client(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await client.post('/api/password-reset/request', { email: uniqueEmail() })).status);
    expect(statuses.slice(0, 10).every((status) => status === 202)).toBe(true);
    const refused = await client.post('/api/password-reset/request', { email: uniqueEmail() });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('too_many_attempts');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});
