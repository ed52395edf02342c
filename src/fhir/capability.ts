// GET /fhir/R4/metadata: exactly what this server supports, no more (R4 CapabilityStatement).
const search = (name: string, type: string, documentation: string) => ({ name, type, documentation });
const PAGING = [search('_count', 'number', 'Page size, 0 to 100 (default 20)'), search('_offset', 'number', 'Matches to skip (paging; the Bundle has next/previous links)')];

const RESOURCES = [
  {
    type: 'Patient',
    profile: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient',
    interaction: ['read', 'search-type'],
    operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }],
    searchParam: [
      search('_id', 'token', 'The patient’s id'),
      search('identifier', 'token', 'INS-NIR of a qualified identity: urn:oid:1.2.250.1.213.1.4.8|<NIR>'),
      ...PAGING,
    ],
  },
  { type: 'Practitioner', profile: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner', interaction: ['read', 'search-type'], searchParam: [search('identifier', 'token', 'RPPS (https://rpps.esante.gouv.fr|<RPPS>) or IDNPS'), ...PAGING] },
  { type: 'Organization', profile: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-organization', interaction: ['read'], searchParam: [] },
  {
    type: 'Encounter',
    profile: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-encounter',
    interaction: ['read', 'search-type'],
    searchParam: [search('patient', 'reference', 'Required'), search('date', 'date', 'Start of the consultation; prefixes eq, ge, le, gt, lt; repeat to bound'), ...PAGING],
  },
  {
    type: 'Observation',
    interaction: ['read', 'search-type', 'create'],
    searchParam: [
      search('patient', 'reference', 'Required'),
      search('code', 'token', 'LOINC code(s), comma-separated: 29463-7 weight, 85354-9 blood pressure, 8310-5 temperature, 2708-6 SpO2, 8867-4 heart rate, 2339-0 glucose'),
      search('date', 'date', 'effectiveDateTime; prefixes eq, ge, le, gt, lt'),
      ...PAGING,
    ],
  },
  {
    type: 'AllergyIntolerance',
    interaction: ['read', 'search-type'],
    searchParam: [search('patient', 'reference', 'Required'), search('clinical-status', 'token', 'active or resolved'), ...PAGING],
  },
  {
    type: 'Condition',
    interaction: ['read', 'search-type'],
    searchParam: [search('patient', 'reference', 'Required'), search('clinical-status', 'token', 'active or resolved (problem-list items)'), ...PAGING],
  },
  {
    type: 'DocumentReference',
    interaction: ['read', 'search-type', 'create'],
    searchParam: [search('patient', 'reference', 'Required'), search('date', 'date', 'When the document was added; prefixes eq, ge, le, gt, lt'), ...PAGING],
  },
  {
    type: 'Composition',
    interaction: ['read', 'search-type'],
    operation: [{ name: 'document', definition: 'http://hl7.org/fhir/OperationDefinition/Composition-document' }],
    searchParam: [
      search('patient', 'reference', 'Required'),
      search('date', 'date', 'Time of signature; prefixes eq, ge, le, gt, lt'),
      search('type', 'token', 'http://loinc.org|11488-4 (consult note): every report is one'),
      search('status', 'token', 'final, or amended for a signed correction (drafts are not served)'),
      ...PAGING,
    ],
  },
  {
    type: 'Consent',
    interaction: ['read', 'search-type'],
    searchParam: [
      search('patient', 'reference', 'Required'),
      search('status', 'token', 'active or inactive: the attending doctor declared and care-team members (permit), oppositions (deny)'),
      ...PAGING,
    ],
  },
  {
    type: 'AuditEvent',
    interaction: ['read', 'search-type'],
    searchParam: [
      search('patient', 'reference', 'Required unless the caller is a security officer; a patient reads the accesses to their own data'),
      search('agent', 'reference', 'The acting user’s id'),
      search('date', 'date', 'Time of the event; prefixes eq, ge, le, gt, lt'),
      search('outcome', 'token', '0 (allowed or success) or 4 (denied or failure)'),
      ...PAGING,
    ],
  },
  {
    type: 'MedicationRequest',
    interaction: ['read', 'search-type'],
    searchParam: [search('patient', 'reference', 'Required'), search('authoredon', 'date', 'Time of issue; prefixes eq, ge, le, gt, lt'), ...PAGING],
  },
  {
    type: 'ServiceRequest',
    interaction: ['read', 'search-type'],
    searchParam: [search('patient', 'reference', 'Required'), search('authoredon', 'date', 'Time of issue; prefixes eq, ge, le, gt, lt'), ...PAGING],
  },
];

/** The resource types the API serves (what a SMART scope may name). */
export const FHIR_TYPES: readonly string[] = RESOURCES.map((resource) => resource.type);

export function capabilityStatement(publicUrl: string, now: Date): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    publisher: 'Ausculta',
    kind: 'instance',
    software: { name: 'Ausculta' },
    implementation: { description: 'Ausculta FHIR R4 API', url: `${publicUrl}/fhir/R4` },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Authenticated with the Ausculta session cookie, or with an OAuth 2.0 bearer token (SMART App Launch, standalone: authorization code with PKCE S256). Every resource about a patient passes the access gate and is traced in the audit log, with the application that asked; a search returns only what a read would.',
        security: {
          cors: false,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'authorize', valueUri: `${publicUrl}/oauth/authorize` },
                { url: 'token', valueUri: `${publicUrl}/oauth/token` },
                { url: 'revoke', valueUri: `${publicUrl}/oauth/revoke` },
              ],
            },
          ],
        },
        resource: RESOURCES.map((resource) => ({
          type: resource.type,
          ...(resource.profile ? { profile: resource.profile } : {}),
          interaction: resource.interaction.map((code) => ({ code })),
          ...(resource.searchParam.length > 0 ? { searchParam: resource.searchParam } : {}),
          ...('operation' in resource ? { operation: resource.operation } : {}),
        })),
      },
    ],
  };
}
