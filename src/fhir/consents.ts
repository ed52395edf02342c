// The patient's choices about who may open their record, as FHIR R4 Consents (read-only): an
// opposition to a professional is a "deny" (opt-out) consent, the attending doctor they declared and
// each care-team membership a "permit" (opt-in) one, active while it lasts. Consultation, expertise and
// monitoring relationships come from acts of care, not from a choice of the patient: they are not here.
// Oppositions and ended choices are the patient's own business: professionals see the active permits.
import type { careOverview } from '../access/patients.js';
import type { Resource } from './resources.js';

type Overview = Awaited<ReturnType<typeof careOverview>>;

const CONSENTED_KINDS = new Set(['attending_doctor', 'care_team']);

function consent(publicUrl: string, fields: { id: string; patientId: string; active: boolean; dateTime: string; start: string; end: string | null; permit: boolean; professionalId: string; professionalName: string; purpose: string }): Resource {
  return {
    resourceType: 'Consent',
    id: fields.id,
    status: fields.active ? 'active' : 'inactive',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy', display: 'Privacy Consent' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${fields.patientId}` },
    dateTime: fields.dateTime,
    performer: [{ reference: `Patient/${fields.patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: fields.permit ? 'OPTIN' : 'OPTOUT' }] },
    provision: {
      type: fields.permit ? 'permit' : 'deny',
      period: { start: fields.start, ...(fields.end ? { end: fields.end } : {}) },
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP', display: 'primary information recipient' }] },
          reference: { reference: `Practitioner/${fields.professionalId}`, display: fields.professionalName },
        },
      ],
      purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT', display: 'treatment' }],
    },
    ...(fields.purpose ? { extension: [{ url: `${publicUrl}/fhir/StructureDefinition/relationship-kind`, valueCode: fields.purpose }] } : {}),
  };
}

/**
 * The patient sees all their choices, past ones and oppositions included; a professional of the care
 * team only the active permits (who else is let in), never whom the patient opposes.
 */
export function consentsOf(patientId: string, overview: Overview, publicUrl: string, forThePatient: boolean): Resource[] {
  const permits = overview.relationships
    .filter((relationship) => CONSENTED_KINDS.has(relationship.kind))
    .map((relationship) =>
      consent(publicUrl, {
        id: `rel-${relationship.id}`,
        patientId,
        active: relationship.active,
        dateTime: relationship.startsAt,
        start: relationship.startsAt,
        end: relationship.endsAt,
        permit: true,
        professionalId: relationship.professional.id,
        professionalName: relationship.professional.displayName,
        purpose: relationship.kind,
      }),
    );
  const denials = overview.oppositions.map((opposition) =>
    consent(publicUrl, {
      id: `opp-${opposition.id}`,
      patientId,
      active: opposition.active,
      dateTime: opposition.createdAt,
      start: opposition.createdAt,
      end: opposition.withdrawnAt,
      permit: false,
      professionalId: opposition.professional.id,
      professionalName: opposition.professional.displayName,
      purpose: 'opposition',
    }),
  );
  return forThePatient ? [...permits, ...denials] : permits.filter((consent) => consent['status'] === 'active');
}
