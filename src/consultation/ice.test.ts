import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../kernel/config.js';
import { iceConfiguration, turnCredential } from './ice.js';

describe('TURN REST credentials (coturn use-auth-secret)', () => {
  it('username is expiry:user and the password is base64 HMAC-SHA1 of it under the shared secret', () => {
    const { username, credential } = turnCredential('s3cret', 'call-1', 1_700_000_000);
    expect(username).toBe('1700000000:call-1');
    expect(credential).toBe(createHmac('sha1', 's3cret').update('1700000000:call-1').digest('base64'));
    // A value computed independently (python3: base64(hmac.new(b's3cret', b'1700000000:call-1', sha1).digest())).
    expect(credential).toBe('eWu7deXxFMhJHrl2JpzXKs9cvnM=');
  });

  it('hands out STUN and TURN URLs from configuration, with credentials valid for the configured time', () => {
    const config = loadConfig({ STUN_URLS: 'stun:127.0.0.1:3478', TURN_URLS: 'turn:127.0.0.1:3478?transport=udp', TURN_SECRET: 'x', TURN_CREDENTIAL_TTL_SECONDS: '600', ICE_TRANSPORT_POLICY: 'relay' });
    const ice = iceConfiguration(config.calls, 'u', 1_000_000);
    expect(ice.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }, expect.objectContaining({ urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1600:u' })]);
    expect(ice.iceTransportPolicy).toBe('relay');
    expect(ice.expiresAt).toBe(new Date(1_600_000).toISOString());
  });

  it('hands out nothing by default: no third-party STUN server is contacted unless configured', () => {
    expect(iceConfiguration(loadConfig({}).calls, 'u', 0)).toEqual({ iceServers: [], iceTransportPolicy: 'all', expiresAt: null });
  });

  it('refuses URLs of the wrong scheme', () => {
    expect(() => loadConfig({ TURN_URLS: 'http://example.test' })).toThrow(/TURN_URLS/);
  });
});
