// HTTP routes of teleconsultation: a doctor's availability, booking, the waiting room, admission, the
// end of the call, ICE servers, in-call chat and the report. Every route that touches a patient first
// checks that the caller takes part in the consultation (participation.ts), then asks the access gate
// (one decision, one audit entry, one transaction); live events go out through the hub after commit.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { decideEach } from '../access/gate.js';
import { gated, gatedRead } from '../access/gated.js';
import { createInvitation } from '../admin/invitations.js';
import { LIST_VIEW } from '../audit/log.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { normaliseEmail } from '../identity/accounts.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import { CONSULTATION_MODES, type ConsultationMode } from '../kernel/schema.js';
import type { Services } from '../services.js';
import { doctorOrganisations, listSlots, MAX_SLOTS_PER_REQUEST, publishSlots, SLOT_MINUTES, withdrawSlot } from './availability.js';
import { bookConsultation, bookForInvitation, cancelConsultation, lockFreeSlot, moveConsultation, PATHWAY_EXEMPTIONS, type DeclaredPathway } from './booking.js';
import { topics } from './hub.js';
import { iceConfiguration } from './ice.js';
import { admitPatient, agendaView, consultationView, doctorAgendaRows, endConsultation, enterWaitingRoom, patientConsultations, type ConsultationView } from './lifecycle.js';
import { listMessages, MESSAGE_MAX_LENGTH, postMessage } from './messages.js';
import { findParticipation, type Participation } from './participation.js';
import { changeMail, recipientOf } from './reminders.js';
import { askGate } from '../access/ask.js';

const Uuid = Type.String({ format: 'uuid' });
const DateTime = Type.String({ format: 'date-time', maxLength: 40 });
const IsoDate = Type.String({ format: 'date', maxLength: 10 });
const ConsultationParams = Type.Object({ consultationId: Uuid });
const SlotParams = Type.Object({ slotId: Uuid });
const RangeQuery = Type.Object({ from: Type.Optional(DateTime), to: Type.Optional(DateTime), doctorId: Type.Optional(Uuid) }, { additionalProperties: false });
const NewSlotsBody = Type.Object(
  {
    startsAt: DateTime,
    durationMinutes: Type.Integer({ minimum: SLOT_MINUTES.min, maximum: SLOT_MINUTES.max }),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SLOTS_PER_REQUEST })),
    mode: Type.Optional(Type.Enum([...CONSULTATION_MODES])),
    organisationId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
const PathwayBody = Type.Object(
  {
    role: Type.Enum(['referred', 'exempt', 'outside_pathway']),
    exemption: Type.Optional(Type.Enum([...PATHWAY_EXEMPTIONS])),
    lastInPersonVisit: Type.Optional(IsoDate),
  },
  { additionalProperties: false },
);
const BookBody = Type.Object(
  {
    slotId: Uuid,
    /** A doctor booking for a patient they care for. */
    patientId: Type.Optional(Uuid),
    /** A doctor booking for someone without an account yet: they get an invitation. */
    inviteEmail: Type.Optional(Type.String({ format: 'email', maxLength: 254, pattern: '^[^\\u0000-\\u001F\\u007F]*$' })),
    pathway: Type.Optional(PathwayBody),
  },
  { additionalProperties: false },
);
const MoveBody = Type.Object({ slotId: Uuid }, { additionalProperties: false });
/** Free text, several lines allowed, no other control characters. */
const multiline = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^(?=[\\s\\S]*\\S)[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$' });
const MessageBody = Type.Object({ text: multiline(MESSAGE_MAX_LENGTH) }, { additionalProperties: false });

const DAY = 24 * 3600_000;

export function consultationRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  const now = () => new Date(services.now());
  const me = (request: FastifyRequest) => sessionOf(request).userId;


  /** The caller's part in the consultation, or a traced 404 that says nothing about whether it exists. */
  async function participationOf(request: FastifyRequest, consultationId: string, intent: string): Promise<Participation> {
    const participation = await findParticipation(db, consultationId, me(request));
    if (participation) return participation;
    await recordSecurityEvent(db, contextOf(request), { type: 'consultation.refused', outcome: 'denied', actorUserId: me(request), detail: { consultationId, intent, reason: 'not_a_participant' } });
    throw new AppError('not_found');
  }

  const consultationResource = (id: string) => ({ type: 'consultation', id });

  /**
   * The agenda's and the waiting room's rows each shown through their own decision, all taken in two
   * statements (decideEach), as a list view (LIST_VIEW.agenda: the unusual-volume detection does not count a
   * doctor's agenda as reading each record). By consultation; a row without a patient needs none.
   */
  async function listDecisions(tx: Queryable, request: FastifyRequest, rows: ReadonlyArray<{ id: string; patient_id: string | null }>) {
    const booked = rows.filter((row): row is { id: string; patient_id: string } => row.patient_id !== null);
    const at = now();
    const decisions = await decideEach(tx, booked.map((row) => askGate(request, at, row.patient_id, 'consultation.join', 'care', { resource: { type: LIST_VIEW.agenda, id: row.id } })));
    return new Map(booked.map((row, index) => [row.id, decisions[index]!]));
  }

  /** After the doctor moved or cancelled: a mail to the patient, sent after the answer (time and link only). */
  function tellPatient(participation: Participation, change: 'moved' | 'cancelled', when: { startsAt: Date; endsAt: Date }): void {
    const { id, patientId } = participation.consultation;
    services.background.run(`consultation.${change}.mail`, async () => {
      const email = await recipientOf(db, patientId, null);
      if (email) await services.mailer.send(changeMail(config.publicUrl, change, { id, email, startsAt: when.startsAt, endsAt: when.endsAt, now: now() }));
    });
  }
  const publish = (topic: string, event: { type: string; [field: string]: unknown }) => void services.hub.publish(topic, event);

  async function requireDoctor(q: Queryable, request: FastifyRequest, organisationId?: string): Promise<string[]> {
    if (sessionOf(request).secondFactorAt === null) throw new AppError('second_factor_enrolment_required');
    const organisations = await doctorOrganisations(q, me(request));
    const allowed = organisationId ? organisations.filter((id) => id === organisationId) : organisations;
    if (allowed.length === 0) throw new AppError('forbidden', { fr: 'Réservé aux médecins de l’établissement.', en: 'For the organisation’s doctors only.' });
    return allowed;
  }

  function range(query: { from?: string; to?: string }, defaultDays: number) {
    const from = query.from ? new Date(query.from) : now();
    const to = query.to ? new Date(query.to) : new Date(from.getTime() + defaultDays * DAY);
    if (to.getTime() <= from.getTime() || to.getTime() - from.getTime() > 92 * DAY) {
      throw new AppError('validation_failed', { fr: 'Période invalide (92 jours au plus).', en: 'Invalid period (92 days at most).' }, { extra: { errors: [{ pointer: '/to', message: 'invalid range' }] } });
    }
    return { from, to };
  }

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    // --- Availability (the doctor's slots; no patient data). ---
    scope.post('/api/availability', { schema: { tags: ['consultation'], body: NewSlotsBody } }, async (request, reply) => {
      const body = request.body as { startsAt: string; durationMinutes: number; count?: number; mode?: ConsultationMode; organisationId?: string };
      const ids = await db.transaction().execute(async (tx) => {
        const [organisationId] = await requireDoctor(tx, request, body.organisationId);
        return publishSlots(tx, { organisationId: organisationId!, doctorId: me(request), startsAt: new Date(body.startsAt), durationMinutes: body.durationMinutes, count: body.count ?? 1, mode: body.mode ?? 'video', now: now() });
      });
      publish(topics.user(me(request)), { type: 'agenda-changed' });
      return reply.code(201).send({ ids });
    });

    scope.get('/api/availability', { schema: { tags: ['consultation'], querystring: RangeQuery } }, async (request) => {
      const organisations = await requireDoctor(db, request);
      return { slots: await listSlots(db, { organisations, doctorId: me(request), ...range(request.query as { from?: string; to?: string }, 14), freeOnly: false }) };
    });

    scope.delete('/api/availability/:slotId', { schema: { tags: ['consultation'], params: SlotParams } }, async (request, reply) => {
      await requireDoctor(db, request);
      await db.transaction().execute((tx) => withdrawSlot(tx, me(request), (request.params as { slotId: string }).slotId, now()));
      return reply.code(204).send();
    });

    /** Free slots a patient may book: their organisations' doctors. */
    scope.get('/api/slots', { schema: { tags: ['consultation'], querystring: RangeQuery } }, async (request) => {
      const query = request.query as { from?: string; to?: string; doctorId?: string };
      const memberships = await db.selectFrom('member_roles').select('organisation_id').where('user_id', '=', me(request)).where('role', '=', 'patient').execute();
      const opposed = await db.selectFrom('patient_oppositions').select('professional_id').where('patient_id', '=', me(request)).where('withdrawn_at', 'is', null).execute();
      const hidden = new Set(opposed.map((row) => row.professional_id));
      const slots = await listSlots(db, { organisations: memberships.map((row) => row.organisation_id), ...(query.doctorId ? { doctorId: query.doctorId } : {}), ...range(query, 14), freeOnly: true });
      return { slots: slots.filter((slot) => !hidden.has(slot.doctorId) && new Date(slot.startsAt).getTime() > services.now()) };
    });

    // --- Booking. ---
    scope.post('/api/consultations', { schema: { tags: ['consultation'], body: BookBody } }, async (request, reply) => {
      const body = request.body as { slotId: string; patientId?: string; inviteEmail?: string; pathway?: DeclaredPathway };
      const pathway: DeclaredPathway = body.pathway ?? { role: 'outside_pathway' };
      const id = randomUUID();
      const at = now();
      if (body.inviteEmail !== undefined) {
        if (body.patientId !== undefined) throw new AppError('validation_failed', { fr: 'Choisissez un patient ou une adresse, pas les deux.', en: 'Choose a patient or an e-mail address, not both.' }, { extra: { errors: [{ pointer: '/inviteEmail', message: 'not with patientId' }] } });
        const email = normaliseEmail(body.inviteEmail);
        if (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) {
          throw new AppError('email_taken', { fr: 'Cette personne a déjà un compte : réservez pour elle depuis sa fiche patient.', en: 'This person already has an account: book from their patient page.' });
        }
        await db.transaction().execute(async (tx) => {
          await requireDoctor(tx, request);
          const slot = await lockFreeSlot(tx, body.slotId, at);
          if (slot.doctorId !== me(request)) throw new AppError('not_found');
          const invitation = await createInvitation(tx, services, {
            organisationId: slot.organisationId, email, roles: ['patient'], rpps: null, profession: null, invitedBy: me(request), context: contextOf(request),
            purpose: { fr: 'Une téléconsultation vous attend sur Ausculta. Créez d’abord votre compte et votre second facteur.', en: 'A teleconsultation awaits you on Ausculta. First create your account and your second factor.' },
          });
          await bookForInvitation(tx, { id, slot, bookedBy: me(request), pathway, now: at, followUpDays: config.consultation.followUpDays, invitationId: invitation.id });
        });
        publish(topics.user(me(request)), { type: 'agenda-changed' });
        return reply.code(201).send({ id, invited: true });
      }
      const patientId = body.patientId ?? me(request);
      const self = patientId === me(request);
      const input = askGate(request, now(), patientId, 'consultation.schedule', self ? 'patient_self' : 'care', { resource: consultationResource(id), detail: { change: 'consultation.booked', slotId: body.slotId } });
      const doctorId = await gated(db, input, async (tx, decision) => {
        const slot = await lockFreeSlot(tx, body.slotId, at);
        await bookConsultation(tx, decision, { id, slot, bookedBy: me(request), pathway, now: at, followUpDays: config.consultation.followUpDays });
        return slot.doctorId;
      });
      publish(topics.user(doctorId), { type: 'agenda-changed' });
      return reply.code(201).send({ id, invited: false });
    });

    scope.get('/api/me/consultations', { schema: { tags: ['consultation'] } }, async (request) => {
      const input = askGate(request, now(), me(request), 'consultation.join', 'patient_self');
      return { consultations: await gatedRead(db, input, (tx, decision) => patientConsultations(tx, decision)) };
    });

    /** The doctor's agenda: each row with a patient is shown through its own gate decision. */
    scope.get('/api/consultations', { schema: { tags: ['consultation'], querystring: RangeQuery } }, async (request) => {
      await requireDoctor(db, request);
      const { from, to } = range(request.query as { from?: string; to?: string }, 14);
      return db.transaction().execute(async (tx) => {
        const rows = await doctorAgendaRows(tx, me(request), from, to);
        const decisions = await listDecisions(tx, request, rows);
        const consultations: ConsultationView[] = [];
        for (const row of rows) {
          const decision = decisions.get(row.id);
          if (!decision) consultations.push(agendaView(row, null)); // no patient booked yet
          else if (decision.allowed) consultations.push(agendaView(row, decision));
        }
        return { consultations };
      });
    });

    scope.get('/api/consultations/:consultationId', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'view');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: consultationResource(consultationId) });
      return { consultation: await gatedRead(db, input, (tx, decision) => consultationView(tx, decision, consultationId)), role: participation.role };
    });

    scope.post('/api/consultations/:consultationId/cancel', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request, reply) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'cancel');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.schedule', participation.purpose, { resource: consultationResource(consultationId), detail: { change: 'consultation.cancelled' } });
      await gated(db, input, (tx, decision) => cancelConsultation(tx, decision, consultationId, input.now));
      publish(topics.consultation(consultationId), { type: 'cancelled' });
      publish(topics.user(participation.consultation.doctorId), { type: 'agenda-changed' });
      if (participation.role === 'doctor') tellPatient(participation, 'cancelled', participation.consultation);
      return reply.code(204).send();
    });

    scope.post('/api/consultations/:consultationId/move', { schema: { tags: ['consultation'], params: ConsultationParams, body: MoveBody } }, async (request, reply) => {
      const { consultationId } = request.params as { consultationId: string };
      const { slotId } = request.body as { slotId: string };
      const participation = await participationOf(request, consultationId, 'move');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.schedule', participation.purpose, { resource: consultationResource(consultationId), detail: { change: 'consultation.moved', slotId } });
      const slot = await gated(db, input, async (tx, decision) => {
        const free = await lockFreeSlot(tx, slotId, input.now);
        await moveConsultation(tx, decision, consultationId, free, input.now, config.consultation.followUpDays);
        return free;
      });
      // A patient already in the waiting room leaves it: the page reloads the appointment's new time.
      publish(topics.consultation(consultationId), { type: 'moved' });
      publish(topics.user(participation.consultation.doctorId), { type: 'agenda-changed' });
      publish(topics.user(participation.consultation.patientId), { type: 'agenda-changed' });
      if (participation.role === 'doctor') tellPatient(participation, 'moved', slot);
      return reply.code(204).send();
    });

    // --- Waiting room and call. ---
    scope.post('/api/consultations/:consultationId/waiting-room', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'wait');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: consultationResource(consultationId), detail: { change: 'waiting_room.entered' } });
      const since = await gated(db, input, (tx, decision) => enterWaitingRoom(tx, decision, participation, input.now));
      publish(topics.user(participation.consultation.doctorId), { type: 'patient-waiting', consultationId });
      return { waitingSince: since.toISOString() };
    });

    scope.get('/api/consultations/waiting', { schema: { tags: ['consultation'] } }, async (request) => {
      await requireDoctor(db, request);
      const at = now();
      return db.transaction().execute(async (tx) => {
        const rows = (await doctorAgendaRows(tx, me(request), new Date(at.getTime() - DAY), new Date(at.getTime() + DAY))).filter((row) => row.patient_id && row.waiting_since && row.status === 'scheduled');
        const decisions = await listDecisions(tx, request, rows);
        const waiting: ConsultationView[] = [];
        for (const row of rows) {
          const decision = decisions.get(row.id);
          if (decision?.allowed) waiting.push(agendaView(row, decision));
        }
        return { waiting };
      });
    });

    scope.post('/api/consultations/:consultationId/admit', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'admit');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: consultationResource(consultationId), detail: { change: 'consultation.admitted' } });
      await gated(db, input, (tx, decision) => admitPatient(tx, decision, participation, input.now));
      publish(topics.consultation(consultationId), { type: 'admitted' });
      return { status: 'in_progress', admittedAt: input.now.toISOString() };
    });

    scope.post('/api/consultations/:consultationId/end', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'end');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: consultationResource(consultationId), detail: { change: 'consultation.ended' } });
      const durationSeconds = await gated(db, input, (tx, decision) => endConsultation(tx, decision, participation, input.now, config.consultation.followUpDays));
      publish(topics.consultation(consultationId), { type: 'ended' });
      publish(topics.user(participation.consultation.doctorId), { type: 'agenda-changed' });
      return { status: 'ended', endedAt: input.now.toISOString(), durationSeconds };
    });

    scope.get('/api/consultations/:consultationId/ice-servers', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'ice');
      if (participation.consultation.status === 'ended' || participation.consultation.status === 'cancelled') throw new AppError('consultation_state', { fr: 'Cette consultation est terminée.', en: 'This consultation is over.' });
      // A pseudonym per call and side: coturn's logs never hold an account id.
      return iceConfiguration(config.calls, `${consultationId.slice(0, 8)}-${participation.role}`, services.now());
    });

    // --- In-call chat. ---
    scope.get('/api/consultations/:consultationId/messages', { schema: { tags: ['consultation'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'read_messages');
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: { type: 'consultation_messages', id: consultationId } });
      return { messages: await gatedRead(db, input, (tx, decision) => listMessages(tx, decision, services.envelope, consultationId)) };
    });

    scope.post('/api/consultations/:consultationId/messages', { schema: { tags: ['consultation'], params: ConsultationParams, body: MessageBody } }, async (request, reply) => {
      const { consultationId } = request.params as { consultationId: string };
      const { text } = request.body as { text: string };
      const participation = await participationOf(request, consultationId, 'send_message');
      if (participation.consultation.status !== 'in_progress') throw new AppError('consultation_state', { fr: 'La discussion est ouverte pendant la consultation.', en: 'Chat is open during the consultation.' });
      const id = randomUUID();
      const input = askGate(request, now(), participation.consultation.patientId, 'consultation.join', participation.purpose, { resource: { type: 'consultation_message', id }, detail: { change: 'message.sent' } });
      await gated(db, input, (tx, decision) => postMessage(tx, decision, services.envelope, { id, consultationId, text, now: input.now }));
      publish(topics.consultation(consultationId), { type: 'chat', messageId: id });
      return reply.code(201).send({ id, sentAt: input.now.toISOString() });
    });
  });
}
