// The sections of a teleconsultation report (compte rendu), in the order they are written and printed,
// each with its LOINC section code (FHIR's document-section-codes value set) for the Composition.
export const SECTION_KEYS = ['reason', 'history', 'findings', 'conclusion', 'plan', 'followUp'] as const;
export type SectionKey = (typeof SECTION_KEYS)[number];
export type Sections = Record<SectionKey, string>;

export const SECTION_MAX_LENGTH = 10_000;

/** Sections that a signed report cannot leave blank. */
export const REQUIRED_TO_SIGN: readonly SectionKey[] = ['reason', 'conclusion'];

export const SECTIONS: Record<SectionKey, { loinc: string; display: string; fr: string; en: string }> = {
  reason: { loinc: '29299-5', display: 'Reason for visit Narrative', fr: 'Motif de la consultation', en: 'Reason for the consultation' },
  history: { loinc: '10164-2', display: 'History of Present illness Narrative', fr: 'Histoire de la maladie et antécédents', en: 'History' },
  findings: { loinc: '29545-1', display: 'Physical findings Narrative', fr: 'Examen et constatations', en: 'Findings' },
  conclusion: { loinc: '51848-0', display: 'Evaluation note', fr: 'Conclusion', en: 'Conclusion' },
  plan: { loinc: '18776-5', display: 'Plan of care note', fr: 'Conduite à tenir', en: 'Plan' },
  followUp: { loinc: '69730-0', display: 'Instructions', fr: 'Suivi et consignes', en: 'Follow-up and instructions' },
};

/** The document type: LOINC 11488-4, consult note (compte rendu de consultation). */
export const REPORT_TYPE = { system: 'http://loinc.org', code: '11488-4', display: 'Consult note' } as const;

export function emptySections(): Sections {
  return { reason: '', history: '', findings: '', conclusion: '', plan: '', followUp: '' };
}

/** Only known keys, each a string (missing ones empty), line endings normalised. */
export function normaliseSections(input: Partial<Record<string, unknown>>): Sections {
  const sections = emptySections();
  for (const key of SECTION_KEYS) {
    const value = input[key];
    if (typeof value === 'string') sections[key] = value.replace(/\r\n?/g, '\n');
  }
  return sections;
}
