// Texts of the teleconsultation reports, French first: the "Compte rendu" card of an ended consultation
// (the doctor's form, the signed versions), the patient's page #/comptes-rendus, the "Comptes rendus"
// card of a professional's patient page and the "Comptes rendus reçus" of a doctor's home. Kept apart so
// that they load with those pages only.
import { useI18n, type Lang } from '../i18n';
import type { SectionKey } from './model';

const fr = {
  title: 'Compte rendu',
  sections: {
    reason: { title: 'Motif de la consultation', hint: 'Pourquoi le patient consulte, en quelques mots.' },
    history: { title: 'Histoire de la maladie et antécédents', hint: 'Début et évolution des symptômes, antécédents, traitements en cours, allergies.' },
    findings: { title: 'Examen et constatations', hint: 'Ce que l’examen à distance a permis de constater ; documents et résultats consultés.' },
    conclusion: { title: 'Conclusion', hint: 'Le diagnostic retenu ou les hypothèses.' },
    plan: { title: 'Conduite à tenir', hint: 'Traitement, examens demandés, orientation vers un confrère.' },
    followUp: { title: 'Suivi et consignes', hint: 'Quand reconsulter, les signes qui doivent alerter, les consignes données au patient.' },
  } satisfies Record<SectionKey, { title: string; hint: string }>,
  requiredToSign: 'Obligatoire pour signer.',
  limits: 'Chaque rubrique compte 10 000 caractères au plus ; le motif et la conclusion sont obligatoires pour signer.',
  // The doctor's form.
  newTitle: 'Rédiger le compte rendu',
  draftTitle: (version: number) => `Brouillon de la version ${version}`,
  correctionTitle: (of: number, version: number) => `Correction de la version ${of} (future version ${version})`,
  formIntro:
    'Le brouillon n’est visible que par vous. Une fois signé, le compte rendu est transmis au patient et à son médecin traitant ; il ne peut plus être modifié, seulement corrigé par une nouvelle version.',
  correctionIntro: (of: number) =>
    `Le texte de la version ${of} est repris ci-dessous : corrigez-le. Une fois la correction signée, elle est transmise à son tour et la version ${of} reste consultable, marquée comme remplacée.`,
  draftSavedAt: (when: string) => `Brouillon enregistré le ${when}.`,
  notSavedYet: 'Pas encore enregistré.',
  save: 'Enregistrer le brouillon',
  sign: 'Signer et transmettre',
  discard: 'Abandonner le brouillon',
  discardCorrection: 'Abandonner la correction',
  saved: (version: number) => `Brouillon de la version ${version} enregistré.`,
  missing: (names: string) => `À remplir avant de signer : ${names}.`,
  missingField: 'À remplir avant de signer.',
  confirmQuestion: (version: number) => `Signer la version ${version} du compte rendu ?`,
  confirmText:
    'La signature est définitive : le texte ne pourra plus être modifié, seulement corrigé par une nouvelle version. Le patient et son médecin traitant recevront le compte rendu.',
  confirmSign: 'Confirmer la signature',
  cancel: 'Annuler',
  signed: (version: number) => `Compte rendu signé (version ${version}) et transmis au patient et à son médecin traitant.`,
  discardQuestion: 'Abandonner ce brouillon ? Le texte non signé sera perdu.',
  discardConfirm: 'Abandonner',
  discarded: 'Brouillon abandonné.',
  correct: 'Corriger',
  correctLabel: (version: number) => `Corriger la version ${version}`,
  // Signed versions.
  version: (version: number) => `Version ${version}`,
  current: 'En vigueur',
  replacedBy: (version: number) => `Remplacée par la version ${version}`,
  corrects: (version: number) => `Corrige la version ${version}.`,
  signedBy: (when: string, name: string) => `Signée le ${when} par ${name}.`,
  versionSignedBy: (version: number, when: string, name: string) => `Version ${version}, signée le ${when} par ${name}.`,
  read: 'Lire le compte rendu',
  readVersion: (version: number) => `Lire la version ${version}`,
  readWhich: (version: number, when: string) => `, version ${version} du ${when}`,
  pdf: 'Télécharger le compte rendu (PDF)',
  pdfWhich: (version: number, when: string) => ` — version ${version} du ${when}`,
  emptySection: 'Non renseigné.',
  none: 'Pas encore de compte rendu : le médecin vous le transmettra après l’avoir signé.',
  noneYetDoctor: 'Aucune version signée pour le moment.',
  // Lists: #/comptes-rendus, the patient's page, the received reports.
  pageTitle: 'Mes comptes rendus',
  pageIntro:
    'Les comptes rendus de vos téléconsultations, signés par vos médecins. Une version corrigée remplace la précédente, qui reste consultable. Votre médecin traitant les reçoit aussi.',
  pageNone: 'Aucun compte rendu pour le moment.',
  listTitle: 'Comptes rendus',
  listNone: 'Aucun compte rendu signé.',
  itemTitle: (when: string, author: string) => `${when} — ${author}`,
  shown: (shown: number, total: number) => `Les ${shown} comptes rendus les plus récents sont affichés, sur ${total}.`,
  consultation: 'Voir la consultation',
  newOne: 'Nouveau compte rendu signé.',
  receivedTitle: 'Comptes rendus reçus',
  receivedIntro: 'Les comptes rendus que des confrères ont signés pour les patients dont vous êtes le médecin traitant.',
  receivedNone: 'Aucun compte rendu reçu.',
  receivedNew: 'Nouveau compte rendu reçu.',
  receivedItemTitle: (patient: string, when: string) => `${patient} — ${when}`,
  patientRecord: (patient: string) => `Dossier de ${patient}`,
};

export type ReportTexts = typeof fr;

const en: ReportTexts = {
  title: 'Report',
  sections: {
    reason: { title: 'Reason for the consultation', hint: 'Why the patient consults, in a few words.' },
    history: { title: 'History', hint: 'Onset and course of the symptoms, medical history, current treatments, allergies.' },
    findings: { title: 'Findings', hint: 'What the remote examination showed; documents and results reviewed.' },
    conclusion: { title: 'Conclusion', hint: 'The diagnosis retained, or the hypotheses.' },
    plan: { title: 'Plan', hint: 'Treatment, tests ordered, referral to a colleague.' },
    followUp: { title: 'Follow-up and instructions', hint: 'When to consult again, warning signs, instructions given to the patient.' },
  },
  requiredToSign: 'Required to sign.',
  limits: 'Each section holds 10,000 characters at most; the reason and the conclusion are required to sign.',
  newTitle: 'Write the report',
  draftTitle: (version) => `Draft of version ${version}`,
  correctionTitle: (of, version) => `Correction of version ${of} (to be version ${version})`,
  formIntro:
    'Only you can see the draft. Once signed, the report is sent to the patient and to their attending doctor; it can no longer be changed, only corrected by a new version.',
  correctionIntro: (of) =>
    `The text of version ${of} is copied below: correct it. Once signed, the correction is sent in turn and version ${of} stays readable, marked as replaced.`,
  draftSavedAt: (when) => `Draft saved on ${when}.`,
  notSavedYet: 'Not saved yet.',
  save: 'Save the draft',
  sign: 'Sign and send',
  discard: 'Discard the draft',
  discardCorrection: 'Discard the correction',
  saved: (version) => `Draft of version ${version} saved.`,
  missing: (names) => `To fill in before signing: ${names}.`,
  missingField: 'To fill in before signing.',
  confirmQuestion: (version) => `Sign version ${version} of the report?`,
  confirmText:
    'Signing is final: the text can no longer be changed, only corrected by a new version. The patient and their attending doctor will receive the report.',
  confirmSign: 'Confirm the signature',
  cancel: 'Cancel',
  signed: (version) => `Report signed (version ${version}) and sent to the patient and their attending doctor.`,
  discardQuestion: 'Discard this draft? The unsigned text will be lost.',
  discardConfirm: 'Discard',
  discarded: 'Draft discarded.',
  correct: 'Correct',
  correctLabel: (version) => `Correct version ${version}`,
  version: (version) => `Version ${version}`,
  current: 'Current',
  replacedBy: (version) => `Replaced by version ${version}`,
  corrects: (version) => `Corrects version ${version}.`,
  signedBy: (when, name) => `Signed on ${when} by ${name}.`,
  versionSignedBy: (version, when, name) => `Version ${version}, signed on ${when} by ${name}.`,
  read: 'Read the report',
  readVersion: (version) => `Read version ${version}`,
  readWhich: (version, when) => `, version ${version} of ${when}`,
  pdf: 'Download the report (PDF)',
  pdfWhich: (version, when) => ` — version ${version} of ${when}`,
  emptySection: 'Not filled in.',
  none: 'No report yet: the doctor will send it to you once signed.',
  noneYetDoctor: 'No signed version yet.',
  pageTitle: 'My reports',
  pageIntro:
    'The reports of your teleconsultations, signed by your doctors. A corrected version replaces the previous one, which stays readable. Your attending doctor receives them too.',
  pageNone: 'No report yet.',
  listTitle: 'Reports',
  listNone: 'No signed report.',
  itemTitle: (when, author) => `${when} — ${author}`,
  shown: (shown, total) => `The ${shown} most recent reports are shown, out of ${total}.`,
  consultation: 'See the consultation',
  newOne: 'New signed report.',
  receivedTitle: 'Reports received',
  receivedIntro: 'The reports colleagues signed for the patients whose attending doctor you are.',
  receivedNone: 'No report received.',
  receivedNew: 'New report received.',
  receivedItemTitle: (patient, when) => `${patient} — ${when}`,
  patientRecord: (patient) => `Record of ${patient}`,
};

const texts: Record<Lang, ReportTexts> = { fr, en };

export function useReportTexts(): ReportTexts {
  return texts[useI18n().lang];
}
