// Moving an upcoming consultation to another free slot of the same doctor, from the patient's
// appointments or the doctor's agenda. A disclosure: the button opens a small form in place, and focus
// goes to the slot list so that keyboard users land where they act.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Submit, formValues, useAction } from '../ui';
import type { Consultation, Slot } from './model';
import { useConsultationTexts } from './texts';

interface MoveFormProps {
  consultation: Consultation;
  /** Free slots the person can see; only the consultation's doctor's are offered. */
  slots: Slot[];
  onMoved: () => Promise<void>;
}

export function MoveForm({ consultation, slots, onMoved }: MoveFormProps) {
  const { t } = useI18n();
  const c = useConsultationTexts();
  const [open, setOpen] = useState(false);
  const { busy, error, run } = useAction();
  const formId = useId();
  const select = useRef<HTMLSelectElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const choices = slots.filter((slot) => !slot.booked && slot.doctorId === consultation.doctor.id);

  useEffect(() => {
    if (open) select.current?.focus();
  }, [open]);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const { slotId } = formValues(event);
    void run(async () => {
      await api.post(`/api/consultations/${consultation.id}/move`, { slotId });
      setOpen(false);
      // The form disappears under the focus: give it back to the button that opened it.
      toggle.current?.focus();
      await onMoved();
    });
  };

  return (
    <>
      <button ref={toggle} type="button" className="button secondary" aria-expanded={open} aria-controls={formId} aria-label={`${c.move.button} — ${formatDateTime(t, consultation.startsAt)}`} onClick={() => setOpen(!open)}>
        {c.move.button}
      </button>
      <div id={formId} className="move-panel" hidden={!open}>
        <p role="status">{open && choices.length === 0 ? c.move.noSlot : ''}</p>
        {open && choices.length > 0 && (
          <form onSubmit={submit} noValidate className="move-form">
            <ErrorAlert error={error} />
            <div className="field">
              <label htmlFor={`${formId}-slot`}>{c.move.label(formatDateTime(t, consultation.startsAt))}</label>
              <select id={`${formId}-slot`} name="slotId" ref={select} required>
                {choices.map((slot) => (
                  <option key={slot.id} value={slot.id}>
                    {formatDateTime(t, slot.startsAt)} ({c.modes[slot.mode] ?? slot.mode})
                  </option>
                ))}
              </select>
            </div>
            <Submit busy={busy}>{c.move.confirm}</Submit>
          </form>
        )}
      </div>
    </>
  );
}
