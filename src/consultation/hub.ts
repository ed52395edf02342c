// Live events by topic: what reaches open WebSockets (signaling, the waiting room, in-call chat and
// documents). One process needs nothing but `LocalHub`; several processes behind a load balancer share a
// Redis and use `RedisHub` (pub/sub fan-out, DESIGN "Growing past one machine"). Events carry
// identifiers and signaling data, never health content: whoever publishes keeps to that.
//
// Topics: `consultation:<id>` (both participants' signaling sockets), `user:<id>` (that person's
// /api/live stream) and `sessions` (revocations, see identity/sessions.ts). Delivery is always asynchronous (never inside `publish`), in publication order
// within a process; across processes, Redis keeps the order of one publisher. Events published while a
// process is cut from Redis are lost for it: live events are hints, the database stays the truth.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RevokedSessions } from '../identity/sessions.js';

/**
 * A frame already serialized, attached to an event under a symbol: listeners of the same process may send
 * it as it is, while JSON (and so Redis) ignores it.
 */
export const SERIALIZED: unique symbol = Symbol('serialized frame');

/** A JSON object with a `type`. Listeners must not mutate it: one object may reach several of them. */
export interface LiveEvent {
  readonly type: string;
  readonly [field: string]: unknown;
  /** The same event already serialized as a client frame (same process only; see SERIALIZED). */
  readonly [SERIALIZED]?: Buffer;
}

export type LiveListener = (event: LiveEvent) => void;

/** Stops the listener; `ready` settles once the hub really listens (a Redis SUBSCRIBE acknowledged). */
export type Unsubscribe = (() => void) & { readonly ready: Promise<void> };

export interface LiveHub {
  readonly kind: 'local' | 'redis';
  /** Never rejects: a failure to reach Redis is logged, the local listeners still get the event. */
  publish(topic: string, event: LiveEvent): Promise<void>;
  subscribe(topic: string, listener: LiveListener): Unsubscribe;
  close(): Promise<void>;
}

export const topics = {
  consultation: (consultationId: string) => `consultation:${consultationId}`,
  user: (userId: string) => `user:${userId}`,
  /** Session revocations (identifiers only): each process drops them from its cache, sockets look again. */
  sessions: 'sessions',
};

export interface HubLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** The listeners of one process, by topic. */
class Listeners {
  readonly #byTopic = new Map<string, Set<LiveListener>>();

  constructor(private readonly log: HubLogger) {}

  /** Returns true when this is the topic's first listener. */
  add(topic: string, listener: LiveListener): boolean {
    let set = this.#byTopic.get(topic);
    const first = set === undefined;
    if (!set) this.#byTopic.set(topic, (set = new Set()));
    set.add(listener);
    return first;
  }

  /** Returns true when the topic has no listener left. */
  remove(topic: string, listener: LiveListener): boolean {
    const set = this.#byTopic.get(topic);
    if (!set || !set.delete(listener)) return false;
    if (set.size > 0) return false;
    this.#byTopic.delete(topic);
    return true;
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  topics(): string[] {
    return [...this.#byTopic.keys()];
  }

  deliver(topic: string, event: LiveEvent): void {
    const set = this.#byTopic.get(topic);
    if (!set) return;
    // A listener may unsubscribe (or subscribe another) while we deliver: walk a copy when there are several.
    for (const listener of set.size === 1 ? set : [...set]) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, topic, eventType: event.type }, 'live event listener failed');
      }
    }
  }

  clear(): void {
    this.#byTopic.clear();
  }
}

const DELIVERED = Promise.resolve();

function unsubscribeHandle(stop: () => void, ready: Promise<void>): Unsubscribe {
  let stopped = false;
  const handle = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  return Object.assign(handle, { ready });
}

/** One process: events go from `publish` to the listeners of this process, nowhere else. */
export class LocalHub implements LiveHub {
  readonly kind = 'local';
  readonly #listeners: Listeners;

  constructor(log: HubLogger = console) {
    this.#listeners = new Listeners(log);
  }

  publish(topic: string, event: LiveEvent): Promise<void> {
    queueMicrotask(() => this.#listeners.deliver(topic, event));
    return DELIVERED;
  }

  subscribe(topic: string, listener: LiveListener): Unsubscribe {
    this.#listeners.add(topic, listener);
    return unsubscribeHandle(() => this.#listeners.remove(topic, listener), Promise.resolve());
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

export interface RedisHubOptions {
  url: string;
  /** Prepended to every channel, so several deployments (or test runs) can share one Redis. */
  channelPrefix: string;
  log?: HubLogger;
}

/** The envelope on the wire: the publishing process (`o`) skips its own events, already delivered locally. */
interface Envelope {
  o: string;
  e: LiveEvent;
}

/**
 * Several processes: one connection publishes, one subscribes. A channel is subscribed only while this
 * process has a listener for it, and every subscribed channel is subscribed again after a reconnection.
 * Events are delivered to this process's own listeners directly (no round trip through Redis).
 */
export class RedisHub implements LiveHub {
  readonly kind = 'redis';
  readonly #origin = randomUUID();
  readonly #prefix: string;
  readonly #log: HubLogger;
  readonly #listeners: Listeners;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  /** The SUBSCRIBE in flight or done for each channel this process listens to. */
  readonly #subscribed = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: RedisHubOptions) {
    this.#prefix = options.channelPrefix;
    this.#log = options.log ?? console;
    this.#listeners = new Listeners(this.#log);
    const common = { maxRetriesPerRequest: 3, lazyConnect: false } as const;
    this.#publisher = new Redis(options.url, { ...common, connectionName: `${this.#prefix}publisher` });
    // We resubscribe ourselves on 'ready' (below): the set of channels is ours, not the client's memory.
    this.#subscriber = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `${this.#prefix}subscriber` });
    for (const [role, client] of [['publisher', this.#publisher], ['subscriber', this.#subscriber]] as const) {
      client.on('error', (error: Error) => this.#log.warn({ err: error, role }, 'redis hub connection error'));
    }
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (connectedBefore) this.#resubscribeAll();
      connectedBefore = true;
    });
    this.#subscriber.on('message', (channel: string, payload: string) => this.#onMessage(channel, payload));
  }

  async publish(topic: string, event: LiveEvent): Promise<void> {
    queueMicrotask(() => this.#listeners.deliver(topic, event));
    if (this.#closed) return;
    const envelope: Envelope = { o: this.#origin, e: event };
    try {
      await this.#publisher.publish(this.#prefix + topic, JSON.stringify(envelope));
    } catch (error) {
      this.#log.error({ err: error, topic, eventType: event.type }, 'redis hub publish failed');
    }
  }

  subscribe(topic: string, listener: LiveListener): Unsubscribe {
    const first = this.#listeners.add(topic, listener);
    const channel = this.#prefix + topic;
    if (first || !this.#subscribed.has(channel)) this.#subscribed.set(channel, this.#subscribeChannel(channel));
    const ready = this.#subscribed.get(channel) ?? Promise.resolve();
    return unsubscribeHandle(() => {
      if (!this.#listeners.remove(topic, listener) || this.#closed) return;
      this.#subscribed.delete(channel);
      this.#subscriber.unsubscribe(channel).catch((error: unknown) => this.#log.warn({ err: error, channel }, 'redis hub unsubscribe failed'));
    }, ready);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#subscribed.clear();
    await Promise.all([this.#publisher, this.#subscriber].map((client) => client.quit().then(() => undefined, () => client.disconnect())));
  }

  /** Resolves (never rejects) once Redis acknowledged the subscription or refused it. */
  async #subscribeChannel(channel: string): Promise<void> {
    try {
      await this.#subscriber.subscribe(channel);
    } catch (error) {
      this.#log.error({ err: error, channel }, 'redis hub subscribe failed');
    }
  }

  #resubscribeAll(): void {
    const channels = this.#listeners.topics().map((topic) => this.#prefix + topic);
    if (channels.length === 0) return;
    this.#log.warn({ channels: channels.length }, 'redis hub reconnected: subscribing again');
    this.#subscriber.subscribe(...channels).catch((error: unknown) => this.#log.error({ err: error }, 'redis hub resubscribe failed'));
  }

  #onMessage(channel: string, payload: string): void {
    if (!channel.startsWith(this.#prefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      this.#log.warn({ channel }, 'redis hub: unreadable message ignored');
      return;
    }
    if (envelope.o === this.#origin) return;
    const event = envelope.e;
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') return;
    this.#listeners.deliver(channel.slice(this.#prefix.length), event);
  }
}

export function createHub(config: { redisUrl: string | null; redisChannelPrefix: string }, log?: HubLogger): LiveHub {
  if (!config.redisUrl) return new LocalHub(log);
  return new RedisHub({ url: config.redisUrl, channelPrefix: config.redisChannelPrefix, ...(log ? { log } : {}) });
}

/** A session revocation as it travels on `topics.sessions`; `origin` is the publishing process. */
export function revokedSessionsEvent(origin: string, revoked: RevokedSessions): LiveEvent {
  return { type: 'sessions-revoked', origin, ...revoked };
}

/** Reads a `sessions-revoked` event back; anything malformed (it may come from Redis) gives null. */
export function revokedSessionsOf(event: LiveEvent): { origin: string; revoked: RevokedSessions } | null {
  const { type, origin, sessionId, userId, keep } = event as Record<string, unknown>;
  if (type !== 'sessions-revoked' || typeof origin !== 'string') return null;
  if (typeof sessionId === 'string') return { origin, revoked: { sessionId } };
  if (typeof userId === 'string') return { origin, revoked: typeof keep === 'string' ? { userId, keep } : { userId } };
  return null;
}
