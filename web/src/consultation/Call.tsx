// #/consultations/<id> — one consultation: the waiting room (patient) or the admission (doctor), the
// call itself (video both ways, controls, state, chat, documents), then the report (../reports) and
// the prescriptions.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ConsultationReport } from '../reports/ConsultationReport';
import { ErrorAlert, Page, Submit, useAction } from '../ui';
import { CallSession, type CallPhase, type IceConfiguration, type PeerState } from './call';
import { PathwaySummary } from './PathwaySummary';
import { Prescriptions } from './Prescriptions';
import type { Consultation } from './model';
import { useConsultationTexts } from './texts';

interface Loaded {
  consultation: Consultation;
  role: 'doctor' | 'patient';
}

export function Call({ consultationId }: { consultationId: string }) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const load = useAction();
  const reload = useCallback(async () => setLoaded(await api.get<Loaded>(`/api/consultations/${consultationId}`)), [consultationId]);
  useEffect(() => void load.run(reload), [reload]);

  if (!loaded) {
    return (
      <Page title={c.call.title}>
        <ErrorAlert error={load.error} />
        {!load.error && <p>{t.common.loading}</p>}
      </Page>
    );
  }
  const { consultation, role } = loaded;
  const title = `${c.call.title} — ${role === 'doctor' ? (consultation.patient?.name ?? '') : consultation.doctor.name}`;
  if (consultation.status === 'ended' || consultation.status === 'cancelled') {
    return (
      <Page title={title}>
        <p>
          {formatDateTime(t, consultation.startsAt)} · {c.statuses[consultation.status]}
          {consultation.durationSeconds !== null && ` · ${c.call.ended(Math.round(consultation.durationSeconds / 60))}`}
        </p>
        {consultation.status === 'ended' && <ConsultationReport consultationId={consultation.id} role={role} />}
        {consultation.status === 'ended' && <Prescriptions consultationId={consultation.id} role={role} />}
      </Page>
    );
  }
  // Keyed by the time: a moved appointment starts a fresh room (out of the waiting room, new time shown).
  return <Room key={consultation.startsAt} consultation={consultation} role={role} title={title} onEnded={() => void load.run(reload)} />;
}

function Room({ consultation, role, title, onEnded }: Loaded & { title: string; onEnded: () => void }) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [joined, setJoined] = useState(role === 'doctor' || consultation.waitingSince !== null);
  const [phase, setPhase] = useState<CallPhase>('idle');
  const [peerPresent, setPeerPresent] = useState(false);
  const [peer, setPeer] = useState<PeerState>({});
  const [local, setLocal] = useState<PeerState>({ microphone: 'on', camera: 'on', screenSharing: false, audioOnly: false });
  const [mediaError, setMediaError] = useState(false);
  const [admitted, setAdmitted] = useState(consultation.status === 'in_progress');
  const [events, setEvents] = useState(0);
  const [relayed, setRelayed] = useState<boolean | null>(null);
  const session = useRef<CallSession | null>(null);
  const localVideo = useRef<HTMLVideoElement>(null);
  const remoteVideo = useRef<HTMLVideoElement>(null);
  const action = useAction();

  useEffect(() => {
    if (!joined) return;
    let cancelled = false;
    void (async () => {
      let stream: MediaStream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } });
      } catch {
        setMediaError(true);
        stream = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => new MediaStream());
      }
      const ice = await api.get<IceConfiguration>(`/api/consultations/${consultation.id}/ice-servers`);
      if (cancelled) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      if (localVideo.current) localVideo.current.srcObject = stream;
      const call = new CallSession(consultation.id, role === 'patient', stream, ice, {
        onPhase: setPhase,
        onRemoteStream: (remote) => {
          if (remoteVideo.current) remoteVideo.current.srcObject = remote;
        },
        onPeerState: (state) => {
          setPeer((previous) => ({ ...previous, ...state }));
          // Audio-only applies both ways: the session followed the other side, the buttons follow too.
          if (state.audioOnly !== undefined) setLocal((previous) => ({ ...previous, audioOnly: state.audioOnly }));
        },
        onPeerPresence: setPeerPresent,
        onEvent: (event) => {
          if (event.type === 'admitted') setAdmitted(true);
          if (event.type === 'ended' || event.type === 'cancelled' || event.type === 'moved') onEnded();
          setEvents((n) => n + 1);
        },
        onError: () => undefined,
      });
      session.current = call;
      (window as unknown as { ausculta?: { call: CallSession } }).ausculta = { call };
      call.connect();
    })();
    const stats = setInterval(() => setRelayed(session.current?.stats.inboundKbps ? session.current.stats.relayed : null), 2_000);
    return () => {
      cancelled = true;
      clearInterval(stats);
      session.current?.close();
      session.current = null;
    };
  }, [joined, consultation.id, role]);

  const enterWaitingRoom = () =>
    void action.run(async () => {
      await api.post(`/api/consultations/${consultation.id}/waiting-room`, {});
      setJoined(true);
    });
  const admit = () =>
    void action.run(async () => {
      await api.post(`/api/consultations/${consultation.id}/admit`, {});
      setAdmitted(true);
    });
  const hangUp = () =>
    void action.run(async () => {
      await api.post(`/api/consultations/${consultation.id}/end`, {});
      session.current?.close();
      onEnded();
    });
  const toggle = (change: (call: CallSession) => Promise<void> | void, state: PeerState) =>
    void action.run(async () => {
      if (!session.current) return;
      await change(session.current);
      setLocal((previous) => ({ ...previous, ...state }));
    });

  if (!joined) {
    return (
      <Page title={title}>
        <h2>{c.call.waitingRoom}</h2>
        <p>{formatDateTime(t, consultation.startsAt)}</p>
        <p>
          {c.appointments.deviceHint} <a href="#/test-materiel">{c.nav.deviceCheck}</a>
        </p>
        <ErrorAlert error={action.error} />
        <button type="button" className="button" onClick={enterWaitingRoom} aria-disabled={action.busy || undefined}>
          {c.call.enterWaiting}
        </button>
      </Page>
    );
  }

  const phaseText = peerPresent || phase === 'ended' ? c.call.phases[phase] : `${c.call.phases[phase]} — ${c.call.peerAbsent}`;
  return (
    <Page title={title} wide>
      <p className="call-state" role="status" aria-live="polite" data-phase={phase}>
        {phaseText}
        {phase === 'connected' && relayed !== null && ` (${relayed ? c.call.relayed : c.call.direct})`}
      </p>
      <ErrorAlert error={action.error} />
      {mediaError && <p className="alert alert-warning">{c.call.mediaError}</p>}
      {role === 'patient' && !admitted && <p className="alert alert-info">{c.call.waitingText}</p>}
      {role === 'doctor' && !admitted && (
        <section aria-labelledby="before-call" className="before-call">
          <h2 id="before-call">{c.call.pathwayTitle}</h2>
          <PathwaySummary pathway={consultation.pathway} />
          <p>{peerPresent ? c.call.patientWaiting(formatDateTime(t, consultation.waitingSince ?? new Date().toISOString())) : c.call.patientNotHere}</p>
          <button type="button" className="button" onClick={admit} aria-disabled={action.busy || undefined}>
            {c.call.admit}
          </button>
        </section>
      )}
      <div className="call-layout">
        <div className="videos">
          <figure className="remote">
            <video ref={remoteVideo} autoPlay playsInline aria-label={c.call.remote} />
            <figcaption>
              {c.call.remote}
              {peer.microphone === 'muted' && ` · ${c.call.peerMuted}`}
              {peer.camera === 'off' && ` · ${c.call.peerCameraOff}`}
              {peer.screenSharing && ` · ${c.call.peerSharing}`}
              {peer.network === 'poor' && ` · ${c.call.peerPoor}`}
            </figcaption>
          </figure>
          <figure className="local">
            <video ref={localVideo} autoPlay playsInline muted aria-label={c.call.you} />
            <figcaption>{c.call.you}</figcaption>
          </figure>
        </div>
        {local.audioOnly && <p className="alert alert-info">{c.call.audioOnlyOn}</p>}
        <div className="call-controls" role="toolbar" aria-label={c.call.title}>
          <button type="button" className="button secondary" aria-pressed={local.microphone === 'muted'} onClick={() => toggle((call) => call.setMuted(local.microphone !== 'muted'), { microphone: local.microphone === 'muted' ? 'on' : 'muted' })}>
            {c.call.mute}
          </button>
          <button type="button" className="button secondary" aria-pressed={local.camera === 'off'} onClick={() => toggle((call) => call.setCameraOff(local.camera !== 'off'), { camera: local.camera === 'off' ? 'on' : 'off' })}>
            {c.call.cameraOff}
          </button>
          <CameraSwitch onSwitch={(deviceId) => toggle((call) => call.switchCamera(deviceId), {})} />
          {'getDisplayMedia' in navigator.mediaDevices && (
            <button type="button" className="button secondary" aria-pressed={local.screenSharing === true} onClick={() => toggle((call) => (local.screenSharing ? call.stopScreenShare() : call.startScreenShare()), { screenSharing: !local.screenSharing })}>
              {c.call.share}
            </button>
          )}
          <button type="button" className="button secondary" aria-pressed={local.audioOnly === true} onClick={() => toggle((call) => call.setAudioOnly(!local.audioOnly), { audioOnly: !local.audioOnly })}>
            {c.call.audioOnly}
          </button>
          {admitted && (
            <button type="button" className="button danger" onClick={hangUp} aria-disabled={action.busy || undefined}>
              {c.call.hangUp}
            </button>
          )}
        </div>
      </div>
      {admitted && (
        <div className="call-side">
          <Chat consultationId={consultation.id} refresh={events} />
          <Documents consultationId={consultation.id} refresh={events} />
        </div>
      )}
    </Page>
  );
}

/** Front/back camera on a phone, or another webcam: shown only when there is a choice. */
function CameraSwitch({ onSwitch }: { onSwitch: (deviceId: string) => void }) {
  const c = useConsultationTexts();
  const [cameras, setCameras] = useState<MediaDeviceInfo[]>([]);
  const [index, setIndex] = useState(0);
  useEffect(() => {
    void navigator.mediaDevices.enumerateDevices().then((devices) => setCameras(devices.filter((device) => device.kind === 'videoinput')));
  }, []);
  if (cameras.length < 2) return null;
  return (
    <button
      type="button"
      className="button secondary"
      onClick={() => {
        const next = (index + 1) % cameras.length;
        setIndex(next);
        onSwitch(cameras[next]!.deviceId);
      }}
    >
      {c.call.switchCamera}
    </button>
  );
}

interface Message {
  id: string;
  senderId: string | null;
  senderName: string;
  sentAt: string;
  text: string;
}

function Chat({ consultationId, refresh }: { consultationId: string; refresh: number }) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const load = useAction();
  const send = useAction();
  useEffect(() => {
    void load.run(async () => setMessages((await api.get<{ messages: Message[] }>(`/api/consultations/${consultationId}/messages`)).messages));
  }, [consultationId, refresh]);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    void send.run(async () => {
      await api.post(`/api/consultations/${consultationId}/messages`, { text });
      setDraft('');
      setMessages((await api.get<{ messages: Message[] }>(`/api/consultations/${consultationId}/messages`)).messages);
    });
  };
  return (
    <section aria-labelledby="chat" className="chat">
      <h2 id="chat">{c.call.chat}</h2>
      <ErrorAlert error={load.error ?? send.error} />
      <ol className="messages" aria-live="polite">
        {messages.length === 0 && <li>{c.call.noMessages}</li>}
        {messages.map((message) => (
          <li key={message.id}>
            <span className="meta">
              {message.senderName} · {formatDateTime(t, message.sentAt)}
            </span>
            <span className="text">{message.text}</span>
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="chat-form">
        <label htmlFor="chat-text">{c.call.chatLabel}</label>
        <textarea id="chat-text" name="text" rows={2} maxLength={2000} value={draft} onChange={(event) => setDraft(event.target.value)} />
        <Submit busy={send.busy}>{c.call.send}</Submit>
      </form>
    </section>
  );
}

interface DocumentSummary {
  id: string;
  fileName: string;
  mediaType: string;
  sizeBytes: number;
  createdAt: string;
}

function Documents({ consultationId, refresh }: { consultationId: string; refresh: number }) {
  const c = useConsultationTexts();
  const [documents, setDocuments] = useState<DocumentSummary[]>([]);
  const [sent, setSent] = useState(false);
  const load = useAction();
  const upload = useAction();
  const fileInput = useRef<HTMLInputElement>(null);
  const reload = useCallback(async () => setDocuments((await api.get<{ documents: DocumentSummary[] }>(`/api/consultations/${consultationId}/documents`)).documents), [consultationId]);
  useEffect(() => void load.run(reload), [reload, refresh]);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return;
    void upload.run(async () => {
      setSent(false);
      await api.upload(`/api/consultations/${consultationId}/documents`, file);
      if (fileInput.current) fileInput.current.value = '';
      setSent(true);
      await reload();
    });
  };
  return (
    <section aria-labelledby="documents" className="documents">
      <h2 id="documents">{c.call.files}</h2>
      <ErrorAlert error={load.error ?? upload.error} />
      <div role="status" aria-live="polite">
        {sent && <p className="alert alert-success">{c.call.uploaded}</p>}
      </div>
      {documents.length === 0 ? (
        <p>{c.call.noFiles}</p>
      ) : (
        <ul className="items compact">
          {documents.map((document) => (
            <li key={document.id} className="item">
              <a href={`/api/documents/${document.id}`} download={document.fileName}>
                {c.call.download} {document.fileName}
              </a>{' '}
              <span className="hint">({Math.ceil(document.sizeBytes / 1024)} Ko)</span>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={submit}>
        <label htmlFor="document-file">{c.call.fileLabel}</label>
        <input ref={fileInput} id="document-file" type="file" accept="application/pdf,image/jpeg,image/png,image/webp,image/heic,text/plain" />
        <Submit busy={upload.busy}>{c.call.upload}</Submit>
      </form>
    </section>
  );
}
