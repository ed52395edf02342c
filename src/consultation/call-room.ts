// A consultation's call as one process sees it: the participants' sockets connected here, and the
// hub topic `consultation:<id>` that links them to those connected elsewhere. Everything between the
// two sides goes through the hub — signals, call state, presence — so that it does not matter which
// process each side reached. Presence needs no shared store: a newcomer announces itself ("joined") and
// the other side answers ("here"); a participant's newer connection replaces the older one wherever it is.
import { randomUUID } from 'node:crypto';
import type { ConsultationStatus } from '../kernel/schema.js';
import { SERIALIZED, topics, type LiveEvent, type LiveHub, type Unsubscribe } from './hub.js';
import { CLOSE, type LiveSocket } from './live-socket.js';
import type { Participation } from './participation.js';
import type { ClientMessage, PeerState, ServerMessage } from './protocol.js';

/** How long a join waits for Redis to acknowledge the subscription before going on anyway. */
export const SUBSCRIBE_TIMEOUT_MS = 2_000;

/** The call's own events on the consultation topic; every other event is forwarded as published. */
interface PresenceEvent extends LiveEvent {
  type: 'presence';
  from: string;
  connection: string;
  event: 'joined' | 'here' | 'left';
  state: PeerState | null;
}

export class CallMember {
  readonly connectionId = randomUUID();
  status: ConsultationStatus;
  readonly #topic: string;
  /** The other side's connection we know to be present. */
  #peer: string | null = null;
  /** The call state this side last announced, merged. */
  #state: PeerState | null = null;
  #replaced = false;
  #announced = false;
  #queue: string[] | null = [];

  constructor(
    readonly socket: LiveSocket,
    readonly participation: Participation,
    private readonly hub: LiveHub,
  ) {
    this.status = participation.consultation.status;
    this.#topic = topics.consultation(participation.consultation.id);
  }

  get userId(): string {
    return this.socket.userId;
  }

  get peerPresent(): boolean {
    return this.#peer !== null;
  }

  /** A peer already connected to this process: known at once, before any answer through the hub. */
  notePeer(peer: CallMember): void {
    this.#peer = peer.connectionId;
  }

  /** Sends `ready`, then what arrived meanwhile, then tells the other side. */
  start(): void {
    const queued = this.#queue ?? [];
    this.#queue = null;
    const ready: ServerMessage = { type: 'ready', role: this.participation.role, peerPresent: this.peerPresent, status: this.status };
    this.socket.send(ready);
    for (const text of queued) this.socket.sendText(text);
    this.#announce('joined');
  }

  /** A newer connection of the same participant took over. */
  replace(): void {
    if (this.#replaced) return;
    this.#replaced = true;
    this.socket.close(CLOSE.replaced, 'replaced by a newer connection');
  }

  /** After the socket closed: the other side learns it, unless a newer connection took over. */
  left(): void {
    if (this.#announced && !this.#replaced) this.#announce('left');
  }

  /** `frame`: the message as received; a signal is `{type, data}` exactly, so the peer gets it as it came. */
  onClientMessage(message: ClientMessage, frame?: Buffer): void {
    switch (message.type) {
      case 'signal':
        if (this.status !== 'in_progress') {
          this.#deliver({ type: 'error', code: 'not_admitted' });
          return;
        }
        void this.hub.publish(this.#topic, { type: 'signal', from: this.userId, data: message.data, ...(frame ? { [SERIALIZED]: frame } : {}) });
        return;
      case 'peer-state':
        this.#state = { ...this.#state, ...message.state };
        void this.hub.publish(this.#topic, { type: 'peer-state', from: this.userId, state: message.state });
        return;
      case 'ping':
        return;
    }
  }

  onEvent(event: LiveEvent): void {
    switch (event.type) {
      case 'signal':
        if (event['from'] === this.userId) return;
        if (event[SERIALIZED] instanceof Buffer && !this.#queue) this.socket.sendText(event[SERIALIZED]);
        else this.#deliver({ type: 'signal', data: event['data'] });
        return;
      case 'peer-state':
        if (event['from'] !== this.userId) this.#deliver({ type: 'peer-state', state: event['state'] });
        return;
      case 'presence':
        this.#onPresence(event as PresenceEvent);
        return;
      case 'admitted':
        this.status = 'in_progress';
        this.#deliver(event);
        return;
      case 'ended':
      case 'cancelled':
        this.status = event.type === 'ended' ? 'ended' : 'cancelled';
        this.#deliver(event);
        this.socket.close(CLOSE.normal, `consultation ${this.status}`);
        return;
      default:
        this.#deliver(event);
    }
  }

  #onPresence(presence: PresenceEvent): void {
    if (presence.from === this.userId) {
      if (presence.event === 'joined' && presence.connection !== this.connectionId) this.replace();
      return;
    }
    if (presence.event === 'left') {
      if (presence.connection === this.#peer) {
        this.#peer = null;
        this.#deliver({ type: 'peer-left' });
      }
      return;
    }
    const isNew = presence.connection !== this.#peer;
    this.#peer = presence.connection;
    if (isNew) this.#deliver({ type: 'peer-joined' });
    if (presence.state) this.#deliver({ type: 'peer-state', state: presence.state });
    if (presence.event === 'joined' && this.#announced && !this.#replaced) this.#announce('here');
  }

  #announce(event: PresenceEvent['event']): void {
    this.#announced = true;
    const presence: PresenceEvent = { type: 'presence', from: this.userId, connection: this.connectionId, event, state: this.#state };
    void this.hub.publish(this.#topic, presence);
  }

  #deliver(message: ServerMessage | LiveEvent): void {
    const text = JSON.stringify(message);
    if (this.#queue) this.#queue.push(text);
    else this.socket.sendText(text);
  }
}

interface Room {
  members: Set<CallMember>;
  unsubscribe: Unsubscribe;
}

/** The calls with at least one participant connected to this process. */
export class CallRooms {
  readonly #rooms = new Map<string, Room>();

  constructor(private readonly hub: LiveHub) {}

  get size(): number {
    return this.#rooms.size;
  }

  /** Adds the member (replacing an older connection of the same participant) and listens to the hub. */
  async enter(member: CallMember): Promise<void> {
    const consultationId = member.participation.consultation.id;
    let room = this.#rooms.get(consultationId);
    if (!room) {
      const members = new Set<CallMember>();
      const unsubscribe = this.hub.subscribe(topics.consultation(consultationId), (event) => {
        for (const each of members) each.onEvent(event);
      });
      room = { members, unsubscribe };
      this.#rooms.set(consultationId, room);
    }
    for (const other of room.members) {
      if (other.userId === member.userId) other.replace();
      else member.notePeer(other);
    }
    room.members.add(member);
    await withTimeout(room.unsubscribe.ready, SUBSCRIBE_TIMEOUT_MS);
  }

  leave(member: CallMember): void {
    const consultationId = member.participation.consultation.id;
    const room = this.#rooms.get(consultationId);
    if (!room || !room.members.delete(member)) return;
    if (room.members.size === 0) {
      room.unsubscribe();
      this.#rooms.delete(consultationId);
    }
  }
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
