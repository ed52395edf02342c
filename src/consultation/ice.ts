// ICE servers for a call: STUN/TURN URLs from configuration and short-lived TURN credentials derived
// from coturn's shared secret (the "TURN REST API" scheme, coturn's use-auth-secret): username =
// "<expiry unix time>:<opaque user>", password = base64(HMAC-SHA1(secret, username)). The secret never
// leaves the server; a leaked credential expires on its own.
import { createHmac } from 'node:crypto';
import type { Config } from '../kernel/config.js';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceConfiguration {
  iceServers: IceServer[];
  iceTransportPolicy: 'all' | 'relay';
  /** When the TURN credential stops working (ISO), so that a long call can fetch a new one. */
  expiresAt: string | null;
}

export function turnCredential(secret: string, user: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** `user` is opaque to coturn: a per-call pseudonym, so TURN logs do not name patients. */
export function iceConfiguration(calls: Config['calls'], user: string, nowMs: number): IceConfiguration {
  const iceServers: IceServer[] = [];
  if (calls.stunUrls.length > 0) iceServers.push({ urls: [...calls.stunUrls] });
  let expiresAt: string | null = null;
  if (calls.turnUrls.length > 0 && calls.turnSecret) {
    const expiry = Math.floor(nowMs / 1000) + calls.turnCredentialTtlSeconds;
    iceServers.push({ urls: [...calls.turnUrls], ...turnCredential(calls.turnSecret, user, expiry) });
    expiresAt = new Date(expiry * 1000).toISOString();
  }
  return { iceServers, iceTransportPolicy: calls.iceTransportPolicy, expiresAt };
}
