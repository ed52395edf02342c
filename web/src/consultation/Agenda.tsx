// #/agenda — the doctor's side: who is in the waiting room (live), the consultations ahead with their
// care-pathway status (cancel or move them), publishing slots, and scheduling a teleconsultation for someone without an account.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Page, Submit, formValues, useAction } from '../ui';
import { ConfirmButton } from '../pages/care-ui';
import { MoveForm } from './MoveForm';
import { PathwaySummary } from './PathwaySummary';
import { useLiveEvents, type Consultation, type Slot } from './model';
import { useConsultationTexts } from './texts';

export function Agenda() {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [waiting, setWaiting] = useState<Consultation[] | null>(null);
  const [consultations, setConsultations] = useState<Consultation[]>([]);
  const [slots, setSlots] = useState<Slot[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const load = useAction();
  const action = useAction();

  const reload = useCallback(async () => {
    const [room, agenda, mine] = await Promise.all([
      api.get<{ waiting: Consultation[] }>('/api/consultations/waiting'),
      api.get<{ consultations: Consultation[] }>('/api/consultations'),
      api.get<{ slots: Slot[] }>('/api/availability'),
    ]);
    setWaiting(room.waiting);
    setConsultations(agenda.consultations);
    setSlots(mine.slots);
  }, []);
  useEffect(() => void load.run(reload), [reload]);
  useLiveEvents((event) => {
    if (event.type === 'patient-waiting') setDone(c.agenda.notified);
    if (event.type === 'patient-waiting' || event.type === 'agenda-changed') void load.run(reload);
  });

  const admit = (id: string) =>
    void action.run(async () => {
      await api.post(`/api/consultations/${id}/admit`, {});
      navigate(`/consultations/${id}`);
    });
  const cancel = (id: string) =>
    void action.run(async () => {
      await api.post(`/api/consultations/${id}/cancel`, {});
      setDone(c.move.cancelled);
      await reload();
    });
  const withdraw = (id: string) =>
    void action.run(async () => {
      await api.del(`/api/availability/${id}`);
      await reload();
    });

  return (
    <Page title={c.agenda.title} wide>
      <ErrorAlert error={load.error ?? action.error} />
      <div role="status" aria-live="polite">
        {done && <p className="alert alert-success">{done}</p>}
      </div>
      <section aria-labelledby="waiting-room" className="waiting-room">
        <h2 id="waiting-room">{c.agenda.waitingTitle}</h2>
        {!waiting && !load.error && <p>{t.common.loading}</p>}
        {waiting && waiting.length === 0 && <p>{c.agenda.waitingNone}</p>}
        {waiting && waiting.length > 0 && (
          <ul className="items">
            {waiting.map((item) => (
              <li key={item.id} className="item" data-waiting={item.id}>
                <p>
                  <strong>{item.patient?.name}</strong> — {c.agenda.waitingSince(formatDateTime(t, item.waitingSince))} · {formatDateTime(t, item.startsAt)}
                </p>
                <PathwaySummary pathway={item.pathway} />
                <button type="button" className="button" onClick={() => admit(item.id)} aria-disabled={action.busy || undefined}>
                  {c.agenda.admit} — {item.patient?.name}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="agenda-list">
        <h2 id="agenda-list">{c.agenda.consultations}</h2>
        {consultations.length === 0 ? (
          <p>{c.agenda.none}</p>
        ) : (
          <ul className="items">
            {consultations.map((item) => (
              <li key={item.id} className="item">
                <p>
                  <strong>{formatDateTime(t, item.startsAt)}</strong> — {item.patient?.name ?? (item.invitedEmail ? c.agenda.invitedLabel(item.invitedEmail) : '')} · {c.modes[item.mode]} · {c.statuses[item.status]}
                </p>
                <div className="actions">
                  {item.patient && <a href={`#/consultations/${item.id}`}>{c.agenda.open}</a>}
                  {item.status === 'scheduled' && item.patient && (
                    <>
                      <ConfirmButton
                        label={c.move.cancel}
                        accessibleLabel={`${c.move.cancel} — ${formatDateTime(t, item.startsAt)}`}
                        question={c.appointments.cancelQuestion}
                        onConfirm={() => cancel(item.id)}
                        busy={action.busy}
                      />
                      <MoveForm consultation={item} slots={slots} onMoved={async () => {
                        setDone(c.move.moved);
                        await reload();
                      }} />
                    </>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>

      <PublishSlots
        onPublished={async (count) => {
          setDone(c.agenda.published(count));
          await reload();
        }}
      />

      <section aria-labelledby="my-slots">
        <h2 id="my-slots">{c.agenda.slots}</h2>
        {slots.length === 0 ? (
          <p>{c.agenda.none}</p>
        ) : (
          <ul className="items compact">
            {slots.map((slot) => (
              <li key={slot.id} className="item">
                <span>
                  {formatDateTime(t, slot.startsAt)} · {c.modes[slot.mode]} · {slot.booked ? c.agenda.booked : c.agenda.free}
                </span>
                {!slot.booked && (
                  <button type="button" className="button link" onClick={() => withdraw(slot.id)} aria-label={`${c.agenda.withdraw} ${formatDateTime(t, slot.startsAt)}`}>
                    {c.agenda.withdraw}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <InviteForm
        slots={slots.filter((slot) => !slot.booked && slot.mode === 'video')}
        onInvited={async () => {
          setDone(c.agenda.invited);
          await reload();
        }}
      />
    </Page>
  );
}

function PublishSlots({ onPublished }: { onPublished: (count: number) => Promise<void> }) {
  const c = useConsultationTexts();
  const { busy, error, run } = useAction();
  const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    const form = event.currentTarget;
    void run(async () => {
      const startsAt = new Date(`${v.date}T${v.time}`);
      const count = Number(v.count);
      await api.post('/api/availability', { startsAt: startsAt.toISOString(), durationMinutes: Number(v.durationMinutes), count, mode: v.mode });
      form.reset();
      await onPublished(count);
    });
  };
  return (
    <section aria-labelledby="publish">
      <h2 id="publish">{c.agenda.publishTitle}</h2>
      <form onSubmit={submit} noValidate className="inline-form">
        <ErrorAlert error={error} />
        <Field label={c.agenda.date} name="date" type="date" defaultValue={tomorrow} problem={error} pointer="/startsAt" />
        <Field label={c.agenda.time} name="time" type="time" defaultValue="09:00" problem={error} pointer="/startsAt" />
        <Field label={c.agenda.duration} name="durationMinutes" type="number" min={5} max={120} defaultValue={20} problem={error} />
        <Field label={c.agenda.count} name="count" type="number" min={1} max={48} defaultValue={4} problem={error} />
        <div className="field">
          <label htmlFor="slot-mode">{c.agenda.mode}</label>
          <select id="slot-mode" name="mode" defaultValue="video">
            <option value="video">{c.modes['video']}</option>
            <option value="in_person">{c.modes['in_person']}</option>
          </select>
        </div>
        <Submit busy={busy}>{c.agenda.publish}</Submit>
      </form>
    </section>
  );
}

function InviteForm({ slots, onInvited }: { slots: Slot[]; onInvited: () => Promise<void> }) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const { busy, error, run } = useAction();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    const form = event.currentTarget;
    void run(async () => {
      await api.post('/api/consultations', { slotId: v.slotId, inviteEmail: v.email, pathway: { role: 'referred' } });
      form.reset();
      await onInvited();
    });
  };
  if (slots.length === 0) return null;
  return (
    <section aria-labelledby="invite">
      <h2 id="invite">{c.agenda.inviteTitle}</h2>
      <p className="hint">{c.agenda.inviteHint}</p>
      <form onSubmit={submit} noValidate>
        <ErrorAlert error={error} />
        <div className="field">
          <label htmlFor="invite-slot">{c.appointments.chooseSlot}</label>
          <select id="invite-slot" name="slotId" required>
            {slots.map((slot) => (
              <option key={slot.id} value={slot.id}>
                {formatDateTime(t, slot.startsAt)}
              </option>
            ))}
          </select>
        </div>
        <Field label={c.agenda.inviteEmail} name="email" type="email" autoComplete="off" problem={error} pointer="/inviteEmail" />
        <Submit busy={busy}>{c.agenda.invite}</Submit>
      </form>
    </section>
  );
}
