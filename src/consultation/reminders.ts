// Appointment reminders by e-mail: the day before and shortly before, each with an .ics file. A
// reminder is claimed by a conditional UPDATE before it is sent, so two server processes never send
// the same one twice; a mail that cannot leave releases its claim and is tried again next round.
// Mails carry the time and a link only (DESIGN invariant 6).
import type { Db } from '../kernel/db.js';
import type { Mailer } from '../kernel/mail.js';
import { icsFor } from './calendar.js';

const HOUR = 3600_000;
export const DAY_BEFORE_WINDOW = { from: 2 * HOUR, to: 24 * HOUR } as const;
export const SOON_WINDOW_MS = 15 * 60_000;

type Kind = 'day_before' | 'soon';
const COLUMN = { day_before: 'reminder_day_before_at', soon: 'reminder_soon_at' } as const;

export interface ReminderDeps {
  db: Db;
  mailer: Mailer;
  publicUrl: string;
}

const PARIS = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'full', timeStyle: 'short' });
const PARIS_EN = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', dateStyle: 'full', timeStyle: 'short' });

/** Sends the reminders due at `now`; returns how many left. */
export async function sendDueReminders(deps: ReminderDeps, now: Date): Promise<number> {
  let sent = 0;
  sent += await sendKind(deps, 'day_before', now, new Date(now.getTime() + DAY_BEFORE_WINDOW.from), new Date(now.getTime() + DAY_BEFORE_WINDOW.to));
  sent += await sendKind(deps, 'soon', now, now, new Date(now.getTime() + SOON_WINDOW_MS));
  return sent;
}

async function sendKind(deps: ReminderDeps, kind: Kind, now: Date, from: Date, to: Date): Promise<number> {
  const column = COLUMN[kind];
  const claimed = await deps.db
    .updateTable('consultations')
    .set({ [column]: now })
    .where('status', '=', 'scheduled')
    .where('mode', '=', 'video')
    .where(column, 'is', null)
    .where('starts_at', '>', from)
    .where('starts_at', '<=', to)
    .returning(['id', 'starts_at', 'ends_at', 'patient_id', 'invitation_id'])
    .execute();
  let sent = 0;
  for (const consultation of claimed) {
    const email = await recipientOf(deps.db, consultation.patient_id, consultation.invitation_id);
    try {
      if (email) await deps.mailer.send(reminderMail(deps.publicUrl, kind, { id: consultation.id, email, startsAt: consultation.starts_at, endsAt: consultation.ends_at, now }));
      sent += email ? 1 : 0;
    } catch (error) {
      await deps.db.updateTable('consultations').set({ [column]: null }).where('id', '=', consultation.id).execute();
      throw error;
    }
  }
  return sent;
}

export async function recipientOf(db: Db, patientId: string | null, invitationId: string | null): Promise<string | null> {
  if (patientId) return (await db.selectFrom('users').select('email').where('id', '=', patientId).executeTakeFirst())?.email ?? null;
  if (invitationId) return (await db.selectFrom('invitations').select('email').where('id', '=', invitationId).executeTakeFirst())?.email ?? null;
  return null;
}

export function reminderMail(publicUrl: string, kind: Kind, appointment: Appointment) {
  const link = `${publicUrl}/#/consultations/${appointment.id}`;
  const whenFr = PARIS.format(appointment.startsAt);
  const whenEn = PARIS_EN.format(appointment.startsAt);
  const lead = kind === 'soon' ? { fr: 'Votre téléconsultation commence bientôt', en: 'Your teleconsultation starts soon' } : { fr: 'Rappel de votre téléconsultation', en: 'Reminder of your teleconsultation' };
  return {
    to: appointment.email,
    subject: `Ausculta : ${lead.fr} / ${lead.en}`,
    text: [
      `${lead.fr} : ${whenFr} (heure de Paris).`,
      `Testez votre caméra et votre micro, puis entrez en salle d’attente :`,
      link,
      '',
      `${lead.en}: ${whenEn} (Paris time).`,
      'Check your camera and microphone, then enter the waiting room:',
      link,
    ].join('\n'),
    attachments: [calendarAttachment(publicUrl, appointment, `Salle d’attente / waiting room : ${link}`)],
  };
}

type Appointment = { id: string; email: string; startsAt: Date; endsAt: Date; now: Date };

/** The appointment as an .ics event, one UID per consultation so that each mail updates the same event. */
function calendarAttachment(publicUrl: string, appointment: Appointment, description: string, cancelled = false) {
  return {
    filename: 'rendez-vous.ics',
    contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
    content: icsFor({
      uid: `${appointment.id}@${new URL(publicUrl).hostname}`,
      startsAt: appointment.startsAt,
      endsAt: appointment.endsAt,
      stamp: appointment.now,
      summary: 'Téléconsultation Ausculta',
      url: `${publicUrl}/#/consultations/${appointment.id}`,
      description,
      cancelled,
    }),
  };
}

/** The doctor moved or cancelled the appointment: the patient learns it by mail (time and link only). */
export function changeMail(publicUrl: string, change: 'moved' | 'cancelled', appointment: Appointment) {
  const link = `${publicUrl}/#/rendez-vous`;
  const whenFr = PARIS.format(appointment.startsAt);
  const whenEn = PARIS_EN.format(appointment.startsAt);
  const lines =
    change === 'moved'
      ? { subject: 'Rendez-vous déplacé / Appointment moved', fr: `Votre téléconsultation a été déplacée au ${whenFr} (heure de Paris).`, en: `Your teleconsultation was moved to ${whenEn} (Paris time).` }
      : { subject: 'Rendez-vous annulé / Appointment cancelled', fr: `Votre téléconsultation du ${whenFr} (heure de Paris) a été annulée.`, en: `Your teleconsultation of ${whenEn} (Paris time) was cancelled.` };
  return {
    to: appointment.email,
    subject: `Ausculta : ${lines.subject}`,
    text: [lines.fr, 'Vos rendez-vous :', link, '', lines.en, 'Your appointments:', link].join('\n'),
    attachments: [calendarAttachment(publicUrl, appointment, `Vos rendez-vous / your appointments : ${link}`, change === 'cancelled')],
  };
}
