// The live hub alone: LocalHub (one process) and RedisHub (several processes, simulated by two hubs
// sharing one Redis under a prefix unique to this run). The Redis part needs a Redis at REDIS_TEST_URL
// (default redis://127.0.0.1:6379) and is skipped, with a warning, when none answers.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalHub, RedisHub, type LiveEvent, type LiveHub } from './hub.js';

const REDIS_URL = process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379';
const quiet = { error: () => undefined, warn: () => undefined };

async function redisAnswers(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Resolves with the next `count` events a listener of `topic` receives. */
function collect(hub: LiveHub, topic: string, count: number, timeoutMs = 3_000): Promise<LiveEvent[]> {
  const events: LiveEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`only ${events.length}/${count} events on ${topic}`));
    }, timeoutMs);
    const stop = hub.subscribe(topic, (event) => {
      events.push(event);
      if (events.length === count) {
        clearTimeout(timer);
        stop();
        resolve(events);
      }
    });
  });
}

const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('LocalHub', () => {
  it('delivers after publish returns, in order, to every listener of the topic and no other', async () => {
    const hub = new LocalHub(quiet);
    const seen: string[] = [];
    const stopA = hub.subscribe('consultation:a', (event) => seen.push(`a1:${event.type}`));
    hub.subscribe('consultation:a', (event) => seen.push(`a2:${event.type}`));
    hub.subscribe('consultation:b', (event) => seen.push(`b:${event.type}`));
    void hub.publish('consultation:a', { type: 'one' });
    expect(seen).toEqual([]);
    void hub.publish('consultation:a', { type: 'two' });
    await stopA.ready;
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['a1:one', 'a2:one', 'a1:two', 'a2:two']);
    stopA();
    stopA();
    await hub.publish('consultation:a', { type: 'three' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.slice(4)).toEqual(['a2:three']);
    await hub.close();
  });

  it('a listener that throws does not keep the others from their event', async () => {
    const hub = new LocalHub(quiet);
    hub.subscribe('user:x', () => {
      throw new Error('boom');
    });
    const events = collect(hub, 'user:x', 1);
    await hub.publish('user:x', { type: 'patient-waiting', consultationId: 'c' });
    expect(await events).toEqual([{ type: 'patient-waiting', consultationId: 'c' }]);
  });
});

const redisUp = await redisAnswers();
if (!redisUp) console.warn(`hub.test: no Redis at ${REDIS_URL}: RedisHub tests skipped`);

describe.runIf(redisUp)('RedisHub (two hubs = two processes sharing one Redis)', () => {
  const prefix = `ausculta-test-${randomBytes(6).toString('hex')}:`;
  let first: RedisHub;
  let second: RedisHub;
  let admin: Redis;
  const opened: RedisHub[] = [];

  beforeAll(async () => {
    first = new RedisHub({ url: REDIS_URL, channelPrefix: prefix, log: quiet });
    second = new RedisHub({ url: REDIS_URL, channelPrefix: prefix, log: quiet });
    admin = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    for (const hub of opened.splice(0)) await hub.close();
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    admin?.disconnect();
  });

  const subscribers = async (topic: string) => {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', prefix + topic)) as [string, number];
    return Number(reply[1]);
  };

  it('carries JSON events from one process to the other, and to the publisher’s own listeners once', async () => {
    const topic = 'consultation:relay';
    const onSecond = collect(second, topic, 2);
    const onFirst = collect(first, topic, 2);
    await until(async () => (await subscribers(topic)) === 2);
    await first.publish(topic, { type: 'signal', from: 'a', data: { candidate: null } });
    await second.publish(topic, { type: 'admitted' });
    // Two publishers: each one's events keep their order, but nothing orders one against the other.
    const byType = (events: LiveEvent[]) => [...events].sort((x, y) => x.type.localeCompare(y.type));
    expect(byType(await onSecond)).toEqual([{ type: 'admitted' }, { type: 'signal', from: 'a', data: { candidate: null } }]);
    expect(byType(await onFirst)).toEqual([{ type: 'admitted' }, { type: 'signal', from: 'a', data: { candidate: null } }]);
  });

  it('subscribes to a channel only while it has listeners here', async () => {
    const topic = 'user:listeners';
    expect(await subscribers(topic)).toBe(0);
    const stopA = second.subscribe(topic, () => undefined);
    const stopB = second.subscribe(topic, () => undefined);
    await stopA.ready;
    expect(await subscribers(topic)).toBe(1);
    stopA();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await subscribers(topic)).toBe(1);
    stopB();
    await until(async () => (await subscribers(topic)) === 0);
  });

  it('another prefix (another deployment) hears nothing', async () => {
    const other = new RedisHub({ url: REDIS_URL, channelPrefix: `${prefix}other:`, log: quiet });
    opened.push(other);
    const heard: LiveEvent[] = [];
    const stop = other.subscribe('user:same', (event) => heard.push(event));
    await stop.ready;
    const mine = collect(second, 'user:same', 1);
    await until(async () => (await subscribers('user:same')) === 1);
    await first.publish('user:same', { type: 'patient-waiting', consultationId: 'x' });
    await mine;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([]);
  });

  it('subscribes again after its subscriber connection was cut', async () => {
    const hub = new RedisHub({ url: REDIS_URL, channelPrefix: prefix, log: quiet });
    opened.push(hub);
    const topic = 'consultation:reconnect';
    const heard: LiveEvent[] = [];
    const stop = hub.subscribe(topic, (event) => heard.push(event));
    await stop.ready;
    // Kill only this hub's subscriber connection (other tests may share the Redis).
    const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = clients
      .split('\n')
      .filter((line) => line.includes(`name=${prefix}subscriber`) && line.includes('sub=1'))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBeGreaterThanOrEqual(1);
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id!);
    await until(async () => (await subscribers(topic)) === 1, 10_000);
    await first.publish(topic, { type: 'ended' });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ type: 'ended' }]);
  });
});
