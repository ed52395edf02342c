// The browser side of a call: one RTCPeerConnection between the doctor and the patient (media go peer
// to peer, DTLS-SRTP end to end) and the signaling WebSocket that carries offers, answers and ICE
// candidates through the server (docs/signaling.md). Negotiation follows the "perfect negotiation"
// pattern of the WebRTC spec: the patient is the polite peer, so simultaneous offers resolve by
// themselves; a failed or lost connection is repaired by an ICE restart.

export type CallPhase = 'idle' | 'waiting' | 'connecting' | 'connected' | 'poor' | 'reconnecting' | 'ended';
export type NetworkQuality = 'good' | 'fair' | 'poor';

export interface PeerState {
  microphone?: 'on' | 'muted';
  camera?: 'on' | 'off';
  screenSharing?: boolean;
  audioOnly?: boolean;
  network?: NetworkQuality;
  connection?: RTCPeerConnectionState;
}

export interface LiveEvent {
  type: string;
  [field: string]: unknown;
}

export interface CallHandlers {
  onPhase(phase: CallPhase): void;
  onRemoteStream(stream: MediaStream | null): void;
  onPeerState(state: PeerState): void;
  onPeerPresence(present: boolean): void;
  /** Hub events forwarded by the server: admitted, ended, chat, document, cancelled… */
  onEvent(event: LiveEvent): void;
  onError(code: string): void;
}

export interface IceConfiguration {
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
}

type SignalData = { description: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit | null };

/** Audio-only mode: speech stays intelligible at 32 kbit/s Opus; nothing else is sent. */
const AUDIO_ONLY_BITRATE = 32_000;
const STATS_EVERY_MS = 2_000;
const RESTART_AFTER_DISCONNECTED_MS = 3_000;
const JOURNAL_SIZE = 80;
/**
 * The polite side (patient) lets the doctor's offer come first: two offers crossing make the patient roll
 * its own back while its candidates are being gathered, and Chromium can then gather nothing for the
 * answer — with a relay-only policy the call never connects. It offers itself only if none arrives.
 */
const OFFER_GRACE_MS = 2_000;
/** Not connected this long after starting (or restarting): ICE is restarted, the doctor's side first. */
const CONNECT_WATCHDOG_MS = { impolite: 8_000, polite: 13_000 };

export class CallSession {
  #socket: WebSocket | null = null;
  #pc: RTCPeerConnection | null = null;
  #makingOffer = false;
  #ignoreOffer = false;
  #admitted = false;
  #peerPresent = false;
  #closed = false;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #offerTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdogTimer: ReturnType<typeof setTimeout> | undefined;
  #lastInbound = { bytes: 0, at: 0 };
  #cameraTrack: MediaStreamTrack | null = null;
  #screenTrack: MediaStreamTrack | null = null;
  #audioOnly = false;
  readonly local: PeerState = { microphone: 'on', camera: 'on', screenSharing: false, audioOnly: false };
  /** Figures of the last stats round, for the page (and tests). */
  stats = { inboundVideoBytes: 0, outboundAudioBitrate: 0, outboundVideoBitrate: 0, inboundKbps: 0, roundTripMs: null as number | null, relayed: false };
  #lastOutbound = { audio: 0, video: 0, at: 0 };
  /** Wall-clock instant (ms) the connection last became connected: benchmarks read it. */
  connectedAt: number | null = null;
  /** The last steps of negotiation (no SDP, no addresses): what support and tests read when a call does not connect. */
  readonly journal: string[] = [];
  readonly #startedAt = performance.now();

  constructor(
    readonly consultationId: string,
    readonly polite: boolean,
    readonly localStream: MediaStream,
    readonly ice: IceConfiguration,
    readonly handlers: CallHandlers,
  ) {
    this.#cameraTrack = localStream.getVideoTracks()[0] ?? null;
    if (!this.#cameraTrack) this.local.camera = 'off';
  }

  /** Opens the signaling socket; the call itself starts once both sides are present and admitted. */
  connect(): void {
    if (this.#closed) return;
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${window.location.host}/api/consultations/${this.consultationId}/signal`);
    this.#socket = socket;
    socket.onmessage = (message) => this.#onMessage(message.data);
    socket.onclose = (event) => {
      if (this.#socket !== socket || this.#closed) return;
      this.#socket = null;
      // 1008 (policy), 4401 (session over), 4404 (not a participant): retrying would not help.
      if (event.code === 1008 || event.code === 4401 || event.code === 4403 || event.code === 4404 || event.code === 4409) {
        this.handlers.onError(`closed_${event.code}`);
        return;
      }
      this.handlers.onPhase('reconnecting');
      this.#reconnectTimer = setTimeout(() => this.connect(), 1_500);
    };
  }

  #note(step: string): void {
    this.journal.push(`${Math.round(performance.now() - this.#startedAt)} ms ${step}`);
    if (this.journal.length > JOURNAL_SIZE) this.journal.shift();
  }

  #send(message: object): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let message: LiveEvent;
    try {
      message = JSON.parse(raw) as LiveEvent;
    } catch {
      return;
    }
    if (message.type !== 'signal' && message.type !== 'pong') this.#note(`in ${message.type}`);
    switch (message.type) {
      case 'ready':
        // A reconnected socket: the other side resets on our peer-joined, so start afresh here too.
        if (this.#pc) this.#resetPeerConnection();
        this.#admitted = message['status'] === 'in_progress';
        this.#setPeerPresent(message['peerPresent'] === true);
        if (message['status'] === 'ended') this.#ended();
        else this.handlers.onPhase(this.#admitted ? 'connecting' : 'waiting');
        // Admitted while this socket was not yet open: the page learns it here.
        if (this.#admitted) this.handlers.onEvent({ type: 'admitted' });
        this.#maybeStart();
        this.#send({ type: 'peer-state', state: this.local });
        break;
      case 'peer-joined':
        this.#setPeerPresent(true);
        // The other side reloaded: start afresh on both sides.
        this.#resetPeerConnection();
        this.#maybeStart();
        this.#send({ type: 'peer-state', state: this.local });
        break;
      case 'peer-left':
        this.#setPeerPresent(false);
        // Alone: nothing to restart towards until the other side is back (peer-joined starts afresh).
        clearTimeout(this.#watchdogTimer);
        this.#stopWaitingForOffer();
        break;
      case 'signal':
        void this.#onSignal(message['data'] as SignalData);
        break;
      case 'peer-state':
        this.#onPeerState(message['state'] as PeerState);
        break;
      case 'admitted':
        this.#admitted = true;
        this.handlers.onPhase('connecting');
        this.#maybeStart();
        this.handlers.onEvent(message);
        break;
      case 'ended':
      case 'cancelled':
        this.handlers.onEvent(message);
        this.#ended();
        break;
      case 'error':
        this.handlers.onError(String(message['code']));
        break;
      case 'pong':
        break;
      default:
        this.handlers.onEvent(message);
    }
  }

  #setPeerPresent(present: boolean): void {
    this.#peerPresent = present;
    this.handlers.onPeerPresence(present);
  }

  #maybeStart(): void {
    if (!this.#canStart()) return;
    if (!this.polite) {
      this.#createPeerConnection();
      return;
    }
    this.#offerTimer ??= setTimeout(() => {
      this.#offerTimer = undefined;
      if (this.#canStart()) {
        this.#note('no offer received: offering');
        this.#createPeerConnection();
      }
    }, OFFER_GRACE_MS);
  }

  #stopWaitingForOffer(): void {
    clearTimeout(this.#offerTimer);
    this.#offerTimer = undefined;
  }

  #canStart(): boolean {
    return this.#admitted && this.#peerPresent && !this.#pc && !this.#closed;
  }

  /** Lost candidates or a stuck gathering leave ICE checking forever: restart it until connected. */
  #armWatchdog(pc: RTCPeerConnection, attempt = 0): void {
    clearTimeout(this.#watchdogTimer);
    // Doubling delays (up to a minute): a slow network gets the time to connect between restarts.
    const delay = Math.min(60_000, (this.polite ? CONNECT_WATCHDOG_MS.polite : CONNECT_WATCHDOG_MS.impolite) * 2 ** attempt);
    this.#watchdogTimer = setTimeout(() => {
      if (pc !== this.#pc || pc.connectionState === 'connected' || this.#closed || !this.#peerPresent) return;
      this.#note('not connected in time: ICE restart');
      // An offer left unanswered blocks renegotiation: take it back first.
      const rollback = pc.signalingState === 'have-local-offer' ? pc.setLocalDescription({ type: 'rollback' }) : Promise.resolve();
      void rollback.then(() => pc.restartIce()).catch((error: unknown) => this.#note(`restart failed: ${String(error)}`));
      this.#armWatchdog(pc, attempt + 1);
    }, delay);
  }

  #createPeerConnection(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: this.ice.iceServers, iceTransportPolicy: this.ice.iceTransportPolicy });
    this.#pc = pc;
    this.#stopWaitingForOffer();
    this.#armWatchdog(pc);
    this.#makingOffer = false;
    this.#ignoreOffer = false;
    const remote = new MediaStream();
    pc.ontrack = (event) => {
      remote.addTrack(event.track);
      this.handlers.onRemoteStream(remote);
    };
    this.#note('peer connection created');
    pc.onicecandidate = ({ candidate }) => {
      this.#note(`out candidate ${candidate ? (candidate.type ?? '?') : 'end'}`);
      this.#send({ type: 'signal', data: { candidate: candidate ? candidate.toJSON() : null } });
    };
    pc.oniceconnectionstatechange = () => this.#note(`ice ${pc.iceConnectionState}`);
    pc.onicegatheringstatechange = () => this.#note(`gathering ${pc.iceGatheringState}`);
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        this.#note(`out ${pc.localDescription?.type ?? '?'}`);
        this.#send({ type: 'signal', data: { description: pc.localDescription?.toJSON() } });
      } catch (error) {
        this.#note(`negotiation failed: ${String(error)}`);
        console.warn('negotiation failed', error);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => this.#onConnectionState(pc);
    for (const track of this.localStream.getAudioTracks()) pc.addTrack(track, this.localStream);
    // A video sender always exists (camera, screen, or nothing in audio-only), so switching never renegotiates.
    const video = this.#audioOnly ? null : (this.#screenTrack ?? this.#cameraTrack);
    if (video) pc.addTrack(video, this.localStream);
    else pc.addTransceiver('video', { direction: 'sendrecv' });
    if (this.#audioOnly) void this.#applyAudioOnly(pc);
    this.#statsTimer ??= setInterval(() => void this.#collectStats(), STATS_EVERY_MS);
    return pc;
  }

  #resetPeerConnection(): void {
    if (this.#pc) this.#note('peer connection reset');
    this.#pc?.close();
    this.#pc = null;
    this.handlers.onRemoteStream(null);
  }

  async #onSignal(data: SignalData): Promise<void> {
    const pc = this.#pc ?? (this.#admitted ? this.#createPeerConnection() : null);
    if (!pc) {
      this.#note('signal dropped: not admitted yet');
      return;
    }
    try {
      if ('description' in data) {
        const description = data.description;
        const collision = description.type === 'offer' && (this.#makingOffer || pc.signalingState !== 'stable');
        this.#ignoreOffer = !this.polite && collision;
        this.#note(`in ${description.type ?? '?'}${this.#ignoreOffer ? ' (ignored: collision)' : ''}`);
        if (this.#ignoreOffer) return;
        await pc.setRemoteDescription(description);
        if (description.type === 'offer') {
          await pc.setLocalDescription();
          this.#note(`out ${pc.localDescription?.type ?? '?'}`);
          this.#send({ type: 'signal', data: { description: pc.localDescription?.toJSON() } });
        }
      } else if (data.candidate) {
        this.#note(`in candidate ${/ typ (\w+)/.exec(data.candidate.candidate ?? '')?.[1] ?? '?'}`);
        try {
          await pc.addIceCandidate(data.candidate);
        } catch (error) {
          if (!this.#ignoreOffer) throw error;
        }
      }
    } catch (error) {
      this.#note(`signal failed: ${String(error)}`);
      console.warn('signal failed', error);
    }
  }

  #onConnectionState(pc: RTCPeerConnection): void {
    const state = pc.connectionState;
    this.#note(`connection ${state}`);
    this.#send({ type: 'peer-state', state: { connection: state } });
    clearTimeout(this.#restartTimer);
    if (state === 'connected') {
      clearTimeout(this.#watchdogTimer);
      this.connectedAt ??= Date.now();
      this.handlers.onPhase('connected');
    }
    else if (state === 'failed') {
      this.handlers.onPhase('reconnecting');
      // The doctor restarts; the patient waits for that offer (crossing restarts would roll back), with
      // its watchdog as the fallback.
      if (!this.polite) pc.restartIce();
      this.#armWatchdog(pc);
    } else if (state === 'disconnected') {
      // A network blip: give ICE a moment to recover by itself, then restart it.
      this.handlers.onPhase('reconnecting');
      this.#restartTimer = setTimeout(() => {
        if (pc.connectionState !== 'disconnected') return;
        if (!this.polite) pc.restartIce();
        this.#armWatchdog(pc);
      }, RESTART_AFTER_DISCONNECTED_MS);
    } else if (state === 'connecting' || state === 'new') this.handlers.onPhase('connecting');
  }

  #onPeerState(state: PeerState): void {
    // Audio-only is for both directions: the side with the poor link asks, the other stops sending video too.
    if (state.audioOnly !== undefined && state.audioOnly !== this.#audioOnly) void this.setAudioOnly(state.audioOnly, false);
    this.handlers.onPeerState(state);
  }

  async #collectStats(): Promise<void> {
    const pc = this.#pc;
    if (!pc) return;
    const report = await pc.getStats();
    let inboundVideo = 0;
    let inboundAll = 0;
    let outboundAudio = 0;
    let outboundVideo = 0;
    let roundTrip: number | null = null;
    let lost = 0;
    let received = 0;
    let relayed = false;
    const candidates = new Map<string, RTCStats & { candidateType?: string }>();
    report.forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type === 'local-candidate') candidates.set(entry.id, entry);
    });
    report.forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type === 'inbound-rtp') {
        inboundAll += Number(entry['bytesReceived'] ?? 0);
        if (entry['kind'] === 'video') inboundVideo += Number(entry['bytesReceived'] ?? 0);
        lost += Number(entry['packetsLost'] ?? 0);
        received += Number(entry['packetsReceived'] ?? 0);
      } else if (entry.type === 'outbound-rtp') {
        if (entry['kind'] === 'audio') outboundAudio += Number(entry['bytesSent'] ?? 0);
        else outboundVideo += Number(entry['bytesSent'] ?? 0);
      } else if (entry.type === 'candidate-pair' && entry['nominated'] && entry['state'] === 'succeeded') {
        if (typeof entry['currentRoundTripTime'] === 'number') roundTrip = entry['currentRoundTripTime'] * 1000;
        relayed = candidates.get(String(entry['localCandidateId']))?.candidateType === 'relay';
      }
    });
    const now = performance.now();
    const seconds = this.#lastInbound.at ? (now - this.#lastInbound.at) / 1000 : 0;
    const kbps = seconds > 0 ? ((inboundAll - this.#lastInbound.bytes) * 8) / 1000 / seconds : 0;
    const outSeconds = this.#lastOutbound.at ? (now - this.#lastOutbound.at) / 1000 : 0;
    this.stats = {
      inboundVideoBytes: inboundVideo,
      inboundKbps: Math.round(kbps),
      outboundAudioBitrate: outSeconds > 0 ? Math.round(((outboundAudio - this.#lastOutbound.audio) * 8) / outSeconds) : 0,
      outboundVideoBitrate: outSeconds > 0 ? Math.round(((outboundVideo - this.#lastOutbound.video) * 8) / outSeconds) : 0,
      roundTripMs: roundTrip,
      relayed,
    };
    this.#lastInbound = { bytes: inboundAll, at: now };
    this.#lastOutbound = { audio: outboundAudio, video: outboundVideo, at: now };
    const lossRate = received + lost > 0 ? lost / (received + lost) : 0;
    const network: NetworkQuality = lossRate > 0.08 || (roundTrip ?? 0) > 600 ? 'poor' : lossRate > 0.02 || (roundTrip ?? 0) > 300 ? 'fair' : 'good';
    if (network !== this.local.network) {
      this.local.network = network;
      this.#send({ type: 'peer-state', state: { network } });
      if (pc.connectionState === 'connected') this.handlers.onPhase(network === 'poor' ? 'poor' : 'connected');
    }
  }

  #videoSender(): RTCRtpSender | undefined {
    return this.#pc?.getTransceivers().find((transceiver) => transceiver.receiver.track.kind === 'video')?.sender;
  }

  #announce(state: PeerState): void {
    Object.assign(this.local, state);
    this.#send({ type: 'peer-state', state });
  }

  setMuted(muted: boolean): void {
    for (const track of this.localStream.getAudioTracks()) track.enabled = !muted;
    this.#announce({ microphone: muted ? 'muted' : 'on' });
  }

  setCameraOff(off: boolean): void {
    if (this.#cameraTrack) this.#cameraTrack.enabled = !off;
    this.#announce({ camera: off ? 'off' : 'on' });
  }

  /** Another camera (front/back on a phone): the new track replaces the old one without renegotiation. */
  async switchCamera(deviceId: string): Promise<void> {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: deviceId } } });
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    const previous = this.#cameraTrack;
    track.enabled = this.local.camera !== 'off';
    this.#cameraTrack = track;
    if (previous) {
      this.localStream.removeTrack(previous);
      previous.stop();
    }
    this.localStream.addTrack(track);
    if (!this.#screenTrack && !this.#audioOnly) await this.#videoSender()?.replaceTrack(track);
  }

  async startScreenShare(): Promise<void> {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    this.#screenTrack = track;
    track.onended = () => void this.stopScreenShare();
    if (!this.#audioOnly) await this.#videoSender()?.replaceTrack(track);
    this.#announce({ screenSharing: true });
  }

  async stopScreenShare(): Promise<void> {
    if (!this.#screenTrack) return;
    this.#screenTrack.stop();
    this.#screenTrack = null;
    if (!this.#audioOnly) await this.#videoSender()?.replaceTrack(this.#cameraTrack);
    this.#announce({ screenSharing: false });
  }

  /** Low bandwidth: no video either way, speech capped; `tellPeer` is false when the peer asked first. */
  async setAudioOnly(on: boolean, tellPeer = true): Promise<void> {
    this.#audioOnly = on;
    if (this.#pc) await this.#applyAudioOnly(this.#pc);
    if (tellPeer) this.#announce({ audioOnly: on });
    else this.local.audioOnly = on;
  }

  async #applyAudioOnly(pc: RTCPeerConnection): Promise<void> {
    const videoSender = pc.getTransceivers().find((transceiver) => transceiver.receiver.track.kind === 'video')?.sender;
    await videoSender?.replaceTrack(this.#audioOnly ? null : (this.#screenTrack ?? this.#cameraTrack));
    for (const sender of pc.getSenders()) {
      if (sender.track?.kind !== 'audio') continue;
      const parameters = sender.getParameters();
      if (!parameters.encodings || parameters.encodings.length === 0) continue;
      for (const encoding of parameters.encodings) {
        if (this.#audioOnly) encoding.maxBitrate = AUDIO_ONLY_BITRATE;
        else delete encoding.maxBitrate;
      }
      await sender.setParameters(parameters).catch(() => undefined);
    }
  }

  #ended(): void {
    this.handlers.onPhase('ended');
    this.close();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#statsTimer);
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#reconnectTimer);
    this.#stopWaitingForOffer();
    clearTimeout(this.#watchdogTimer);
    this.#pc?.close();
    this.#pc = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000);
    this.#screenTrack?.stop();
    for (const track of this.localStream.getTracks()) track.stop();
  }
}
