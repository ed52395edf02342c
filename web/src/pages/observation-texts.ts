// Texts of the record's observations (vital signs): the "Constantes et mesures" card of a patient's page
// and the patient's own page #/mesures, French first. The kinds' names, people's units and plausible
// ranges (the server's, src/records/observations.ts) live here too, so that the form can guide before
// sending.
import { useI18n, type Lang } from '../i18n';

export type ObservationKind = 'weight' | 'blood_pressure' | 'temperature' | 'spo2' | 'heart_rate' | 'glucose';

/** In the server's order. `unit` is for people (the API gives UCUM: mm[Hg], Cel, /min). */
export const KINDS: ReadonlyArray<{ kind: ObservationKind; unit: string; min: number; max: number; twoValues?: boolean }> = [
  { kind: 'weight', unit: 'kg', min: 0.3, max: 400 },
  { kind: 'blood_pressure', unit: 'mmHg', min: 20, max: 300, twoValues: true },
  { kind: 'temperature', unit: '°C', min: 25, max: 45 },
  { kind: 'spo2', unit: '%', min: 40, max: 100 },
  { kind: 'heart_rate', unit: 'bpm', min: 15, max: 300 },
  { kind: 'glucose', unit: 'mg/dL', min: 10, max: 1500 },
];

const fr = {
  title: 'Constantes et mesures',
  pageTitle: 'Mes mesures',
  pageIntro: 'Vos mesures (poids, tension, température…) : celles que vous saisissez et celles de vos soignants. Vos professionnels de santé les voient dans votre dossier.',
  kinds: {
    weight: 'Poids',
    blood_pressure: 'Pression artérielle',
    temperature: 'Température',
    spo2: 'Saturation en oxygène',
    heart_rate: 'Fréquence cardiaque',
    glucose: 'Glycémie',
  } as Record<string, string>,
  filter: 'Afficher',
  filterAll: 'Toutes les mesures',
  caption: (shown: number, total: number) => (shown < total ? `Dernières mesures (${shown} sur ${total})` : 'Dernières mesures'),
  none: 'Aucune mesure enregistrée.',
  noneOfKind: 'Aucune mesure de ce type.',
  date: 'Date',
  measure: 'Mesure',
  value: 'Valeur',
  author: 'Saisie par',
  authors: { you: 'vous', patient: 'le patient', professional: 'un professionnel', unknown: '—' },
  formTitle: 'Ajouter une mesure',
  formHint: 'Tous les champs sont obligatoires.',
  kind: 'Type de mesure',
  valueLabel: (unit: string) => `Valeur (${unit})`,
  systolic: 'Systolique (mmHg)',
  diastolic: 'Diastolique (mmHg)',
  diastolicHint: 'Inférieure à la systolique.',
  range: (min: string, max: string, unit: string) => `Entre ${min} et ${max} ${unit}.`,
  effectiveAt: 'Date et heure de la mesure',
  effectiveAtHint: 'Pas dans le futur.',
  submit: 'Enregistrer la mesure',
  recorded: (what: string, value: string) => `Mesure enregistrée : ${what}, ${value}.`,
};

type Texts = typeof fr;

const en: Texts = {
  title: 'Vital signs and measurements',
  pageTitle: 'My measurements',
  pageIntro: 'Your measurements (weight, blood pressure, temperature…): those you enter and those of your care team. Your health professionals see them in your record.',
  kinds: {
    weight: 'Body weight',
    blood_pressure: 'Blood pressure',
    temperature: 'Body temperature',
    spo2: 'Oxygen saturation',
    heart_rate: 'Heart rate',
    glucose: 'Blood glucose',
  },
  filter: 'Show',
  filterAll: 'All measurements',
  caption: (shown, total) => (shown < total ? `Latest measurements (${shown} of ${total})` : 'Latest measurements'),
  none: 'No measurement recorded.',
  noneOfKind: 'No measurement of this kind.',
  date: 'Date',
  measure: 'Measurement',
  value: 'Value',
  author: 'Entered by',
  authors: { you: 'you', patient: 'the patient', professional: 'a professional', unknown: '—' },
  formTitle: 'Add a measurement',
  formHint: 'Every field is required.',
  kind: 'Kind of measurement',
  valueLabel: (unit) => `Value (${unit})`,
  systolic: 'Systolic (mmHg)',
  diastolic: 'Diastolic (mmHg)',
  diastolicHint: 'Below the systolic.',
  range: (min, max, unit) => `Between ${min} and ${max} ${unit}.`,
  effectiveAt: 'Date and time of the measurement',
  effectiveAtHint: 'Not in the future.',
  submit: 'Save the measurement',
  recorded: (what, value) => `Measurement saved: ${what}, ${value}.`,
};

const texts: Record<Lang, Texts> = { fr, en };

export function useObservationTexts(): Texts {
  return texts[useI18n().lang];
}
