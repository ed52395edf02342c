// #/test-materiel — before the call: browser support, camera preview, microphone level, a test sound,
// a quick bandwidth estimate, and a summary with advice. Public, so that a patient can test from the
// reminder's link before signing in. Nothing leaves the device but the bandwidth probe's download.
// The checks (browserSupport, mediaProblem, measureBandwidth, useDeviceCheck) serve the call page too.
import { useEffect, useId, useRef, useState } from 'react';
import { useI18n } from '../i18n';
import { Page } from '../ui';
import { useDeviceTexts, type DeviceTexts } from './device-texts';

/** Bandwidth verdicts, kbit/s: low-resolution video with headroom; Opus speech (16–20 kbit/s) with headroom. */
export const VIDEO_KBPS = 1_500;
export const AUDIO_KBPS = 100;
/** The bandwidth probe stops after this long, this many bytes or this many downloads, whichever first. */
const PROBE_MAX_MS = 1_000;
const PROBE_MAX_BYTES = 400_000;
const PROBE_MAX_FETCHES = 6;
const PROBE_URL = '/api/openapi.json';
/** The microphone is silent if its level (0–100) stays under this for this long. */
const SILENCE_LEVEL = 5;
const SILENCE_MS = 5_000;
const METER_INTERVAL_MS = 100;
const TONE_MS = 1_200;
/** Enough for a preview and light on a phone; the call chooses its own resolution. */
const VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 } };

// ---- Browser support

export type SupportKey = 'secure' | 'webrtc' | 'getUserMedia' | 'websocket' | 'webAudio' | 'displayMedia';
export interface SupportItem {
  key: SupportKey;
  ok: boolean;
  /** A missing required feature makes calls impossible; the others only limit the checks or sharing. */
  required: boolean;
}

function audioContextClass(): typeof AudioContext | undefined {
  const legacy = (window as Window & { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  return typeof window.AudioContext === 'function' ? window.AudioContext : legacy;
}

export function browserSupport(): SupportItem[] {
  // navigator.mediaDevices is undefined outside a secure context.
  const media = (navigator.mediaDevices as MediaDevices | undefined) ?? null;
  return [
    { key: 'secure', ok: window.isSecureContext, required: true },
    { key: 'webrtc', ok: typeof RTCPeerConnection === 'function', required: true },
    { key: 'getUserMedia', ok: typeof media?.getUserMedia === 'function', required: true },
    { key: 'websocket', ok: typeof WebSocket === 'function', required: true },
    { key: 'webAudio', ok: audioContextClass() !== undefined, required: false },
    { key: 'displayMedia', ok: typeof media?.getDisplayMedia === 'function', required: false },
  ];
}

// ---- Camera and microphone

export type MediaKind = 'video' | 'audio';
export type MediaProblem = 'denied' | 'notFound' | 'busy' | 'ended' | 'unsupported' | 'other';

/** getUserMedia's errors (https://w3c.github.io/mediacapture-main/#dom-mediadevices-getusermedia), old names included. */
export function mediaProblem(error: unknown): MediaProblem {
  const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
  if (['NotAllowedError', 'PermissionDeniedError', 'SecurityError'].includes(name)) return 'denied';
  if (['NotFoundError', 'DevicesNotFoundError', 'OverconstrainedError', 'ConstraintNotSatisfiedError'].includes(name)) return 'notFound';
  if (['NotReadableError', 'TrackStartError', 'AbortError'].includes(name)) return 'busy';
  return 'other';
}

export interface MediaSide {
  track: MediaStreamTrack | null;
  problem: MediaProblem | null;
}
const NONE: MediaSide = { track: null, problem: null };

/** The camera and microphone tracks, the device lists, one AudioContext; all released on unmount. */
export function useDeviceCheck() {
  const [phase, setPhase] = useState<'idle' | 'starting' | 'started'>('idle');
  const [video, setVideo] = useState<MediaSide>(NONE);
  const [audio, setAudio] = useState<MediaSide>(NONE);
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const tracks = useRef<Record<MediaKind, MediaStreamTrack | null>>({ video: null, audio: null });
  const context = useRef<AudioContext | null>(null);
  const [contextState, setContextState] = useState<AudioContext | null>(null);
  const alive = useRef(true);

  const refreshDevices = async () => {
    const list = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    // Before permission, browsers list anonymous placeholders: keep real devices only.
    if (alive.current) setDevices(list.filter((d) => d.deviceId !== ''));
  };

  useEffect(() => {
    alive.current = true;
    const media = navigator.mediaDevices as MediaDevices | undefined;
    const onChange = () => void refreshDevices();
    void refreshDevices();
    media?.addEventListener('devicechange', onChange);
    const current = tracks.current;
    return () => {
      alive.current = false;
      media?.removeEventListener('devicechange', onChange);
      current.video?.stop();
      current.audio?.stop();
      void context.current?.close().catch(() => undefined);
      context.current = null;
    };
  }, []);

  const adopt = (kind: MediaKind, track: MediaStreamTrack | null, problem: MediaProblem | null) => {
    const previous = tracks.current[kind];
    if (previous && previous !== track) previous.stop();
    if (!alive.current) {
      track?.stop();
      return;
    }
    tracks.current[kind] = track;
    if (track) track.addEventListener('ended', () => tracks.current[kind] === track && adopt(kind, null, 'ended'));
    (kind === 'video' ? setVideo : setAudio)({ track, problem });
  };

  /** Opens one device, after releasing the current one (phones cannot open two cameras at once). */
  const acquire = async (kind: MediaKind, constraints: MediaTrackConstraints): Promise<boolean> => {
    tracks.current[kind]?.stop();
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
      adopt(kind, stream.getTracks()[0] ?? null, null);
      return true;
    } catch (error) {
      adopt(kind, null, mediaProblem(error));
      return false;
    }
  };

  /** Creates or resumes the AudioContext; call it from a click so that autoplay rules let it run. */
  const audioContext = (): AudioContext | null => {
    const Class = audioContextClass();
    if (!Class) return null;
    if (!context.current) {
      context.current = new Class();
      setContextState(context.current);
    }
    if (context.current.state === 'suspended') void context.current.resume().catch(() => undefined);
    return context.current;
  };

  const start = async () => {
    if (phase === 'starting') return;
    audioContext();
    if (typeof (navigator.mediaDevices as MediaDevices | undefined)?.getUserMedia !== 'function') {
      adopt('video', null, 'unsupported');
      adopt('audio', null, 'unsupported');
      setPhase('started');
      return;
    }
    setPhase('starting');
    tracks.current.video?.stop();
    tracks.current.audio?.stop();
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO, facingMode: 'user' }, audio: true });
      adopt('video', stream.getVideoTracks()[0] ?? null, null);
      adopt('audio', stream.getAudioTracks()[0] ?? null, null);
    } catch (error) {
      const problem = mediaProblem(error);
      if (problem === 'denied') {
        adopt('video', null, problem);
        adopt('audio', null, problem);
      } else {
        // Which one failed? Without a camera, audio alone still makes a consultation.
        await acquire('video', { ...VIDEO, facingMode: 'user' });
        await acquire('audio', {});
      }
    }
    await refreshDevices();
    if (alive.current) setPhase('started');
  };

  const choose = (kind: MediaKind, deviceId: string) =>
    acquire(kind, { ...(kind === 'video' ? VIDEO : {}), deviceId: { exact: deviceId } });

  const facing = video.track?.getSettings().facingMode;
  const switchFacing = async () => {
    const next = facing === 'environment' ? 'user' : 'environment';
    if (!(await acquire('video', { ...VIDEO, facingMode: { exact: next } }))) await acquire('video', { ...VIDEO, facingMode: facing ?? 'user' });
  };

  return { phase, video, audio, devices, facing, context: contextState, start, choose, switchFacing, audioContext };
}

// ---- Network

export interface Bandwidth {
  kbps: number;
  latencyMs: number;
}
export type BandwidthVerdict = 'video' | 'audio' | 'poor';

export function bandwidthVerdict(kbps: number): BandwidthVerdict {
  return kbps >= VIDEO_KBPS ? 'video' : kbps >= AUDIO_KBPS ? 'audio' : 'poor';
}

/**
 * Downloads the API description (~30 KB, never cached) a few times within about a second. Each download
 * is timed from its first to its last byte (Resource Timing), which leaves out the round trip and the
 * server's own time; the best download, once TCP's window has grown, estimates the speed towards this
 * device. The fastest time to first byte is the response time. Without timings, the whole fetch counts.
 */
export async function measureBandwidth(signal?: AbortSignal): Promise<Bandwidth> {
  const started = performance.now();
  let url = PROBE_URL;
  let bytes = 0;
  let best = 0;
  let latency = Infinity;
  for (let i = 0; i < PROBE_MAX_FETCHES && bytes < PROBE_MAX_BYTES && performance.now() - started < PROBE_MAX_MS; i++) {
    const probe = new URL(`${url}?probe=${Date.now().toString(36)}${i}`, window.location.href).href;
    const before = performance.now();
    const response = await fetch(probe, { cache: 'no-store', credentials: 'omit', signal });
    const size = (await response.arrayBuffer()).byteLength;
    const after = performance.now();
    if (!response.ok) {
      // No API description: the app's own script, downloaded again, will do.
      const script = document.querySelector<HTMLScriptElement>('script[src]')?.src;
      if (url !== PROBE_URL || !script) throw new Error(`bandwidth probe: HTTP ${response.status}`);
      url = script;
      continue;
    }
    const timing = performance.getEntriesByName(probe).at(-1) as PerformanceResourceTiming | undefined;
    const measured = timing !== undefined && timing.responseEnd > 0 && timing.requestStart > 0;
    const wire = (measured && timing.encodedBodySize) || size;
    const duration = measured ? timing.responseEnd - timing.responseStart : after - before;
    bytes += wire;
    best = Math.max(best, (wire * 8) / Math.max(duration, 1)); // bits per millisecond = kbit/s
    latency = Math.min(latency, measured ? timing.responseStart - timing.requestStart : after - before);
  }
  if (best === 0) throw new Error('bandwidth probe: nothing downloaded');
  return { kbps: best, latencyMs: Math.max(1, Math.round(latency)) };
}

type NetworkState = { status: 'measuring' } | { status: 'offline' } | { status: 'failed' } | ({ status: 'done' } & Bandwidth);

function useNetworkCheck() {
  const [state, setState] = useState<NetworkState>({ status: 'measuring' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (!navigator.onLine) {
      setState({ status: 'offline' });
      return;
    }
    const abort = new AbortController();
    setState({ status: 'measuring' });
    measureBandwidth(abort.signal).then(
      (result) => setState({ status: 'done', ...result }),
      () => !abort.signal.aborted && setState({ status: 'failed' }),
    );
    return () => abort.abort();
  }, [round]);
  return { state, again: () => setRound((n) => n + 1) };
}

// ---- The page

type MicStatus = 'listening' | 'heard' | 'silent';
type SpeakerAnswer = 'heard' | 'notHeard' | null;
interface Finding {
  fail: boolean;
  text: string;
  advice?: string;
}

export function DeviceCheck() {
  const d = useDeviceTexts();
  const { t } = useI18n();
  const support = useState(browserSupport)[0];
  const check = useDeviceCheck();
  const network = useNetworkCheck();
  const [mic, setMic] = useState<{ track: MediaStreamTrack | null; status: MicStatus }>({ track: null, status: 'listening' });
  const micStatus = mic.track === check.audio.track ? mic.status : 'listening';
  const [speaker, setSpeaker] = useState<SpeakerAnswer>(null);
  const number = new Intl.NumberFormat(t.common.dateTime, { maximumFractionDigits: 1 });

  const findings: Finding[] = [];
  for (const item of support) {
    if (!item.ok && item.key !== 'displayMedia') findings.push({ fail: item.required, text: d.support.unavailable(d.support[item.key]), advice: supportAdvice(d, item.key) });
  }
  const { problem: videoProblem } = check.video;
  const { problem: audioProblem } = check.audio;
  if (videoProblem && videoProblem === audioProblem) {
    // One cause for both (most often a refused permission): one piece of advice.
    findings.push({ fail: true, text: `${d.problems[videoProblem].video} ${d.problems[videoProblem].audio}`, advice: d.problems[videoProblem].advice });
  } else {
    if (videoProblem === 'notFound' && check.audio.track) findings.push({ fail: false, text: d.camera.summaryNone });
    else if (videoProblem) findings.push({ fail: true, text: d.problems[videoProblem].video, advice: d.problems[videoProblem].advice });
    if (audioProblem) findings.push({ fail: true, text: d.problems[audioProblem].audio, advice: d.problems[audioProblem].advice });
  }
  if (check.audio.track && micStatus === 'silent') findings.push({ fail: false, text: d.microphone.silent });
  if (speaker === 'notHeard') findings.push({ fail: false, text: d.speakers.summary, advice: d.speakers.advice });
  const net = network.state;
  if (net.status === 'offline') findings.push({ fail: true, text: d.network.offline });
  if (net.status === 'failed') findings.push({ fail: false, text: d.network.failed });
  if (net.status === 'done' && bandwidthVerdict(net.kbps) !== 'video') findings.push({ fail: bandwidthVerdict(net.kbps) === 'poor', text: d.network[bandwidthVerdict(net.kbps)] });

  const pending = check.phase === 'starting' || net.status === 'measuring' || (check.audio.track !== null && micStatus === 'listening');
  const fails = findings.some((f) => f.fail);
  const tone = fails ? 'error' : findings.length > 0 ? 'warning' : check.phase === 'idle' || pending ? 'info' : 'success';

  return (
    <Page title={d.title} wide>
      <p className="lead">{d.intro}</p>
      <section aria-labelledby="device-summary" className="device-summary">
        <h2 id="device-summary">{d.summary.title}</h2>
        <div role="status" aria-live="polite" className={`alert alert-${tone}`} data-testid="device-summary">
          <p className="alert-title">
            {fails ? d.summary.notReady : findings.length > 0 ? d.summary.almost : check.phase === 'idle' ? d.summary.startFirst : pending ? d.summary.checking : d.summary.ready}
          </p>
          {findings.length > 0 && (
            <ul className="device-findings">
              {findings.map((f) => (
                <li key={f.text}>
                  <strong>{f.fail ? d.summary.problem : d.summary.warning}</strong> {f.text} {f.advice}
                </li>
              ))}
            </ul>
          )}
          {findings.length > 0 && check.phase === 'idle' && <p>{d.summary.startFirst}</p>}
          {tone === 'success' && speaker === null && <p>{d.summary.readySpeakers}</p>}
        </div>
        <p className="actions">
          <button type="button" className="button" aria-disabled={check.phase === 'starting' || undefined} onClick={() => void check.start()}>
            {check.phase === 'idle' ? d.camera.start : check.video.problem || check.audio.problem ? d.camera.retry : d.camera.restart}
          </button>
        </p>
        {check.phase !== 'started' && <p className="hint">{check.phase === 'starting' ? d.camera.starting : d.camera.startHint}</p>}
      </section>

      <div className="sections device-sections">
        <section aria-labelledby="device-camera" className="card">
          <h2 id="device-camera">{d.camera.title}</h2>
          <Problem texts={d} kind="video" problem={check.video.problem} />
          <DeviceSelect label={d.camera.choose} devices={check.devices.filter((x) => x.kind === 'videoinput')} current={check.video.track} fallback={d.camera.device} onChange={(id) => void check.choose('video', id)} />
          {check.facing && check.devices.filter((x) => x.kind === 'videoinput').length > 1 && (
            <p>
              <button type="button" className="button secondary" onClick={() => void check.switchFacing()}>
                {d.camera.switchFacing(check.facing === 'environment')}
              </button>
            </p>
          )}
          {check.video.track && <CameraPreview texts={d} track={check.video.track} mirrored={check.facing !== 'environment'} />}
        </section>

        <section aria-labelledby="device-microphone" className="card">
          <h2 id="device-microphone">{d.microphone.title}</h2>
          <Problem texts={d} kind="audio" problem={check.audio.problem} />
          <DeviceSelect label={d.microphone.choose} devices={check.devices.filter((x) => x.kind === 'audioinput')} current={check.audio.track} fallback={d.microphone.device} onChange={(id) => void check.choose('audio', id)} />
          {check.audio.track && (
            <MicMeter key={check.audio.track.id} texts={d} track={check.audio.track} context={check.context} status={micStatus} onStatus={(status) => setMic({ track: check.audio.track, status })} />
          )}
        </section>

        <SpeakerTest texts={d} outputs={check.devices.filter((x) => x.kind === 'audiooutput')} audioContext={check.audioContext} answer={speaker} onAnswer={setSpeaker} />

        <section aria-labelledby="device-network" className="card">
          <h2 id="device-network">{d.network.title}</h2>
          <p className="hint">{d.network.intro}</p>
          {net.status === 'measuring' && <p>{d.network.measuring}</p>}
          {net.status === 'offline' && <Verdict ok={false} text={d.network.offline} />}
          {net.status === 'failed' && <Verdict ok={false} text={d.network.failed} />}
          {net.status === 'done' && (
            <>
              <p data-testid="bandwidth">
                <strong>{d.network.speed(net.kbps >= 1000 ? `${number.format(net.kbps / 1000)} Mbit/s` : `${Math.round(net.kbps)} kbit/s`)}</strong>
                <br />
                {d.network.latency(net.latencyMs)}
              </p>
              <Verdict ok={bandwidthVerdict(net.kbps) === 'video'} text={d.network[bandwidthVerdict(net.kbps)]} />
            </>
          )}
          <p>
            <button type="button" className="button secondary" aria-disabled={net.status === 'measuring' || undefined} onClick={() => net.status !== 'measuring' && network.again()}>
              {d.network.again}
            </button>
          </p>
        </section>

        <section aria-labelledby="device-browser" className="card">
          <h2 id="device-browser">{d.support.title}</h2>
          <p className="hint">{d.support.intro}</p>
          <ul className="device-checklist">
            {support.map((item) => (
              <li key={item.key} data-ok={item.ok}>
                <span>{d.support[item.key]}</span>
                <span className={`check ${item.ok ? 'check-ok' : item.required ? 'check-bad' : 'check-pending'}`}>
                  <span aria-hidden="true">{item.ok ? '✓' : '✗'}</span> {item.ok ? d.status.ok : item.required ? d.status.missing : d.status.optionalMissing}
                </span>
                {!item.ok && <p className="hint">{supportAdvice(d, item.key)}</p>}
              </li>
            ))}
          </ul>
        </section>
      </div>
    </Page>
  );
}

function supportAdvice(d: DeviceTexts, key: SupportKey): string {
  switch (key) {
    case 'secure':
      return d.support.secureAdvice;
    case 'websocket':
      return d.support.websocketAdvice;
    case 'webAudio':
      return d.support.webAudioAdvice;
    case 'displayMedia':
      return d.support.displayMediaAdvice;
    case 'webrtc':
    case 'getUserMedia':
      return d.support.update;
  }
}

/** A result: a short line when it is good, a warning box with its advice when it is not. */
function Verdict({ ok, text }: { ok: boolean; text: string }) {
  if (ok) {
    return (
      <p className="device-verdict check-ok">
        <span aria-hidden="true">✓ </span>
        {text}
      </p>
    );
  }
  return (
    <div className="alert alert-warning">
      <p>
        <span aria-hidden="true">⚠ </span>
        {text}
      </p>
    </div>
  );
}

function Problem({ texts, kind, problem }: { texts: DeviceTexts; kind: MediaKind; problem: MediaProblem | null }) {
  if (!problem) return null;
  return (
    <div className="alert alert-error">
      <p className="alert-title">{texts.problems[problem][kind]}</p>
      <p>{texts.problems[problem].advice}</p>
    </div>
  );
}

function DeviceSelect(props: { label: string; devices: MediaDeviceInfo[]; current: MediaStreamTrack | null; fallback: (n: number) => string; onChange: (deviceId: string) => void }) {
  const id = useId();
  if (props.devices.length === 0 || !props.current) return null;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.current.getSettings().deviceId ?? ''} onChange={(event) => props.onChange(event.target.value)}>
        {props.devices.map((device, i) => (
          <option key={device.deviceId} value={device.deviceId}>
            {device.label || props.fallback(i + 1)}
          </option>
        ))}
      </select>
    </div>
  );
}

export function CameraPreview({ texts, track, mirrored }: { texts: DeviceTexts; track: MediaStreamTrack; mirrored: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  const [size, setSize] = useState('');
  const captionId = useId();
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    const update = () => setSize(video.videoWidth > 0 ? `${video.videoWidth} × ${video.videoHeight}` : '');
    video.srcObject = new MediaStream([track]);
    video.addEventListener('resize', update);
    void video.play().catch(() => undefined);
    return () => {
      video.removeEventListener('resize', update);
      video.srcObject = null;
    };
  }, [track]);
  return (
    <figure className="device-preview">
      <video ref={ref} className={mirrored ? 'device-mirrored' : undefined} autoPlay muted playsInline aria-label={texts.camera.preview} aria-describedby={captionId} />
      <figcaption id={captionId}>{size ? texts.camera.seeYourself(track.label || texts.camera.device(1), size) : texts.camera.waiting}</figcaption>
    </figure>
  );
}

export function MicMeter(props: { texts: DeviceTexts; track: MediaStreamTrack; context: AudioContext | null; status: MicStatus; onStatus: (status: MicStatus) => void }) {
  const { texts, track, context, status, onStatus } = props;
  const [level, setLevel] = useState(0);
  const id = useId();
  const report = useRef(onStatus);
  useEffect(() => {
    report.current = onStatus;
  });
  useEffect(() => {
    if (!context) return;
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const since = performance.now();
    let shown = 0;
    let verdict: MicStatus = 'listening';
    const timer = window.setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const rms = Math.sqrt(sum / samples.length);
      // −60 dBFS (a quiet room) reads 0, full scale 100; the bar falls back slowly so a word stays visible.
      const now = rms > 0 ? Math.round(Math.min(100, Math.max(0, ((20 * Math.log10(rms) + 60) * 100) / 60))) : 0;
      shown = Math.max(now, Math.floor(shown * 0.8));
      setLevel(shown);
      const next: MicStatus = shown >= SILENCE_LEVEL || verdict === 'heard' ? 'heard' : performance.now() - since > SILENCE_MS ? 'silent' : 'listening';
      if (next !== verdict) report.current((verdict = next));
    }, METER_INTERVAL_MS);
    return () => {
      window.clearInterval(timer);
      source.disconnect();
    };
  }, [track, context]);

  if (!context) return <p>{texts.microphone.noMeter}</p>;
  return (
    <>
      <div className="field">
        <label htmlFor={id}>{texts.microphone.level}</label>
        <div className="device-meter">
          <meter id={id} min={0} max={100} value={level} />
          <span aria-hidden="true">{texts.microphone.levelValue(level)}</span>
        </div>
      </div>
      {status === 'heard' ? <Verdict ok text={texts.microphone.ok} /> : status === 'silent' ? <Verdict ok={false} text={texts.microphone.silent} /> : <p>{texts.microphone.speak}</p>}
    </>
  );
}

function SpeakerTest(props: { texts: DeviceTexts; outputs: MediaDeviceInfo[]; audioContext: () => AudioContext | null; answer: SpeakerAnswer; onAnswer: (answer: SpeakerAnswer) => void }) {
  const { texts, outputs, answer, onAnswer } = props;
  const s = texts.speakers;
  const [sink, setSink] = useState('');
  const [state, setState] = useState<'idle' | 'playing' | 'played' | 'failed'>('idle');
  const id = useId();
  const canChoose = outputs.length > 1 && 'setSinkId' in HTMLMediaElement.prototype;

  const play = async () => {
    if (state === 'playing') return;
    const context = props.audioContext();
    if (!context) return setState('failed');
    setState('playing');
    try {
      await context.resume();
      const out = context.createGain();
      let element: HTMLAudioElement | null = null;
      if (canChoose && sink) {
        // A chosen output: through a media element, the way the call plays the other side's sound.
        const destination = context.createMediaStreamDestination();
        out.connect(destination);
        element = new Audio();
        element.srcObject = destination.stream;
        await element.setSinkId(sink);
        await element.play();
      } else {
        out.connect(context.destination);
      }
      // Three rising notes (C5, E5, G5), each faded in and out: no click, no file to download.
      const start = context.currentTime + 0.05;
      [523.25, 659.25, 783.99].forEach((frequency, i) => {
        const at = start + i * 0.35;
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.3, at + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.32);
        oscillator.connect(gain).connect(out);
        oscillator.start(at);
        oscillator.stop(at + 0.33);
      });
      window.setTimeout(() => {
        out.disconnect();
        element?.pause();
        setState('played');
      }, TONE_MS);
    } catch {
      setState('failed');
    }
  };

  return (
    <section aria-labelledby="device-speakers" className="card">
      <h2 id="device-speakers">{s.title}</h2>
      {canChoose && (
        <div className="field">
          <label htmlFor={id}>{s.choose}</label>
          <select id={id} value={sink} onChange={(event) => setSink(event.target.value)}>
            {outputs.map((device, i) => (
              <option key={device.deviceId} value={device.deviceId === 'default' ? '' : device.deviceId}>
                {device.label || s.device(i + 1)}
              </option>
            ))}
          </select>
        </div>
      )}
      <p>
        <button type="button" className="button" aria-disabled={state === 'playing' || undefined} onClick={() => void play()}>
          {s.play}
        </button>
      </p>
      {state === 'playing' && <p>{s.playing}</p>}
      {state === 'failed' && <Verdict ok={false} text={s.failed} />}
      {state === 'played' && (
        <fieldset className="plain">
          <legend>{s.question}</legend>
          <div className="actions">
            <button type="button" className="button secondary" aria-pressed={answer === 'heard'} onClick={() => onAnswer('heard')}>
              {s.heard}
            </button>
            <button type="button" className="button secondary" aria-pressed={answer === 'notHeard'} onClick={() => onAnswer('notHeard')}>
              {s.notHeard}
            </button>
          </div>
        </fieldset>
      )}
      {answer === 'heard' && <Verdict ok text={s.ok} />}
      {answer === 'notHeard' && <Verdict ok={false} text={s.advice} />}
    </section>
  );
}
