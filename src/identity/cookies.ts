// The cookies of identity: the session (browser-session lifetime, expiry enforced server-side) and the
// device cookie that marks a browser where the account already logged in (see throttle.ts).
import type { FastifyReply } from 'fastify';

export const SESSION_COOKIE = 'ausculta_session';
export const DEVICE_COOKIE = 'ausculta_device';
const DEVICE_COOKIE_MAX_AGE_S = 180 * 24 * 3600;

export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean): void {
  void reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, secure, sameSite: 'strict', path: '/' });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure, sameSite: 'strict', path: '/' });
}

export function setDeviceCookie(reply: FastifyReply, token: string, secure: boolean): void {
  void reply.setCookie(DEVICE_COOKIE, token, { httpOnly: true, secure, sameSite: 'strict', path: '/api/', maxAge: DEVICE_COOKIE_MAX_AGE_S });
}
