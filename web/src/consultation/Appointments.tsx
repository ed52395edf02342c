// #/rendez-vous — the patient's appointments: upcoming and past, book a free slot (with the care-pathway
// questions the reimbursement rules need), cancel or move, enter the waiting room, read the report.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Page, Submit, formValues, useAction } from '../ui';
import type { Consultation, Slot } from './model';
import { MoveForm } from './MoveForm';
import { useConsultationTexts } from './texts';

export function Appointments() {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [consultations, setConsultations] = useState<Consultation[] | null>(null);
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = useAction();
  const action = useAction();

  const reload = useCallback(async () => {
    const [mine, free] = await Promise.all([api.get<{ consultations: Consultation[] }>('/api/me/consultations'), api.get<{ slots: Slot[] }>('/api/slots')]);
    setConsultations(mine.consultations);
    setSlots(free.slots);
  }, []);
  useEffect(() => void load.run(reload), [reload]);

  const now = Date.now();
  const upcoming = (consultations ?? []).filter((item) => (item.status === 'scheduled' || item.status === 'in_progress') && Date.parse(item.endsAt) + 3600_000 > now).reverse();
  const past = (consultations ?? []).filter((item) => !upcoming.includes(item));

  const cancel = (id: string) =>
    void action.run(async () => {
      await api.post(`/api/consultations/${id}/cancel`, {});
      setDone(c.appointments.cancelled);
      await reload();
    });

  return (
    <Page title={c.appointments.title} wide>
      <p className="lead">{c.appointments.intro}</p>
      <p>
        {c.appointments.deviceHint} <a href="#/test-materiel">{c.nav.deviceCheck}</a>
      </p>
      <ErrorAlert error={load.error ?? action.error} />
      <div role="status" aria-live="polite">
        {done && <p className="alert alert-success">{done}</p>}
      </div>
      {!consultations && !load.error && <p>{t.common.loading}</p>}
      {consultations && (
        <>
          <section aria-labelledby="upcoming">
            <h2 id="upcoming">{c.appointments.upcoming}</h2>
            {upcoming.length === 0 ? (
              <p>{c.appointments.none}</p>
            ) : (
              <ul className="items">
                {upcoming.map((item) => (
                  <li key={item.id} className="item" data-consultation={item.id}>
                    <p>
                      <strong>{formatDateTime(t, item.startsAt)}</strong> — {c.appointments.with(item.doctor.name)} · {c.modes[item.mode]} · {c.statuses[item.status]}
                    </p>
                    <div className="actions">
                      {item.mode === 'video' && (
                        <a className="button" href={`#/consultations/${item.id}`}>
                          {c.appointments.join}
                        </a>
                      )}
                      {item.status === 'scheduled' && (
                        <>
                          <button type="button" className="button secondary" onClick={() => cancel(item.id)} aria-disabled={action.busy || undefined}>
                            {c.appointments.cancel}
                          </button>
                          <MoveForm consultation={item} slots={slots ?? []} onMoved={async () => {
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
          <BookingForm slots={slots ?? []} onBooked={async () => {
            setDone(c.appointments.booked);
            await reload();
          }} />
          <section aria-labelledby="past">
            <h2 id="past">{c.appointments.past}</h2>
            {past.length === 0 ? (
              <p>{c.appointments.none}</p>
            ) : (
              <ul className="items">
                {past.map((item) => (
                  <li key={item.id} className="item">
                    <p>
                      {formatDateTime(t, item.startsAt)} — {c.appointments.with(item.doctor.name)} · {c.statuses[item.status]}
                    </p>
                    {item.status === 'ended' && (
                      <a href={`#/consultations/${item.id}`}>{c.appointments.report}</a>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </Page>
  );
}

function BookingForm({ slots, onBooked }: { slots: Slot[]; onBooked: () => Promise<void> }) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [role, setRole] = useState('referred');
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    void run(async () => {
      const pathway = {
        role,
        ...(role === 'exempt' && v.exemption ? { exemption: v.exemption } : {}),
        ...(v.lastInPersonVisit ? { lastInPersonVisit: v.lastInPersonVisit } : {}),
      };
      const created = await api.post<{ id: string }>('/api/consultations', { slotId: v.slotId, pathway });
      await onBooked();
      navigate(`/rendez-vous`);
      document.querySelector<HTMLElement>(`[data-consultation="${created.id}"] a`)?.focus();
    });
  };

  return (
    <section aria-labelledby="book">
      <h2 id="book">{c.appointments.book}</h2>
      {slots.length === 0 ? (
        <p>{c.appointments.noSlots}</p>
      ) : (
        <form onSubmit={submit} noValidate>
          <ErrorAlert error={error} />
          <div className="field">
            <label htmlFor="slotId">{c.appointments.chooseSlot}</label>
            <select id="slotId" name="slotId" required>
              {slots.map((slot) => (
                <option key={slot.id} value={slot.id}>
                  {c.appointments.slotLabel(slot.doctorName, formatDateTime(t, slot.startsAt), c.modes[slot.mode] ?? slot.mode)}
                </option>
              ))}
            </select>
          </div>
          <fieldset className="field">
            <legend>{c.pathway.question}</legend>
            {(['referred', 'exempt', 'outside_pathway'] as const).map((value) => (
              <div key={value} className="choice">
                <input type="radio" id={`pathway-${value}`} name="pathwayRole" value={value} checked={role === value} onChange={() => setRole(value)} />
                <label htmlFor={`pathway-${value}`}>{c.pathway.choose[value]}</label>
              </div>
            ))}
          </fieldset>
          {role === 'exempt' && (
            <div className="field">
              <label htmlFor="exemption">{c.pathway.exemptionLabel}</label>
              <select id="exemption" name="exemption" required>
                {Object.entries(c.pathway.exemptions).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label htmlFor="lastInPersonVisit">
              {c.pathway.lastVisitLabel} <span className="optional">{t.common.optional}</span>
            </label>
            <p className="hint" id="lastInPersonVisit-hint">
              {c.pathway.lastVisitHint}
            </p>
            <input type="date" id="lastInPersonVisit" name="lastInPersonVisit" aria-describedby="lastInPersonVisit-hint" max={new Date().toISOString().slice(0, 10)} />
          </div>
          <Submit busy={busy}>{c.appointments.confirm}</Submit>
        </form>
      )}
    </section>
  );
}
