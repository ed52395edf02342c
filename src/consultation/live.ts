// GET /api/live: the signed-in person's own event stream (topic `user:<id>`) — "a patient is waiting"
// for a doctor, and whatever else concerns them between two page loads. Identifiers only, never health
// content: the page fetches the details through the REST routes, which go through the access gate.
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { SESSION_COOKIE } from '../identity/cookies.js';
import { sessionOf } from '../identity/guard.js';
import { contextOf } from '../kernel/http.js';
import { topics, type LiveHub, type Unsubscribe } from './hub.js';
import { SUBSCRIBE_TIMEOUT_MS } from './call-room.js';
import { CLOSE, LiveSocket, type LiveEnvironment, type LiveSockets } from './live-socket.js';
import { LIVE_MESSAGES } from './protocol.js';

/** Tabs of one person on one process; the oldest stream is closed beyond this. */
export const MAX_STREAMS_PER_USER = 8;

export class LiveStreams {
  readonly #byUser = new Map<string, LiveSocket[]>();

  constructor(
    private readonly hub: LiveHub,
    private readonly env: LiveEnvironment,
    private readonly registry: LiveSockets,
  ) {}

  async open(ws: WebSocket, request: FastifyRequest): Promise<void> {
    const { userId, id: sessionId } = sessionOf(request);
    const socket = new LiveSocket(
      ws,
      {
        endpoint: 'live',
        userId,
        sessionId,
        sessionToken: request.cookies[SESSION_COOKIE] ?? '',
        context: contextOf(request),
        traceDetail: {},
        accepts: LIVE_MESSAGES,
        onMessage: () => undefined,
        // 'close' comes as an event, after `unsubscribe` below is assigned.
        onClose: () => {
          unsubscribe();
          this.#forget(socket);
        },
      },
      this.env,
      this.registry,
    );
    const mine = this.#byUser.get(userId) ?? [];
    this.#byUser.set(userId, mine);
    mine.push(socket);
    if (mine.length > MAX_STREAMS_PER_USER) mine[0]!.close(CLOSE.replaced, 'too many live streams');
    const unsubscribe: Unsubscribe = this.hub.subscribe(topics.user(userId), (event) => socket.send(event));
    await Promise.race([unsubscribe.ready, new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_TIMEOUT_MS).unref())]);
    if (!socket.open) {
      unsubscribe();
      return;
    }
    socket.send({ type: 'ready' });
  }

  #forget(socket: LiveSocket): void {
    const mine = this.#byUser.get(socket.userId);
    if (!mine) return;
    const index = mine.indexOf(socket);
    if (index >= 0) mine.splice(index, 1);
    if (mine.length === 0) this.#byUser.delete(socket.userId);
  }
}
