// #/dossier — the signed-in patient's own record: their allergies and problems, their documents; they
// may add to both (the gate lets a patient write their own record).
import { useApp } from '../context';
import { Page } from '../ui';
import { Conditions } from './Conditions';
import { RecordDocuments } from './RecordDocuments';
import { useRecordTexts } from './record-texts';
import './records.css';

export function MyRecord() {
  const r = useRecordTexts();
  const { session } = useApp();
  return (
    <Page title={r.pageTitle} wide>
      <p className="lead">{r.pageIntro}</p>
      {session && (
        <>
          <Conditions patientId={session.user.id} canWrite />
          <RecordDocuments patientId={session.user.id} canWrite />
        </>
      )}
    </Page>
  );
}

/** The two cards of a professional's patient page (#/patients/<id>), read only in an emergency access. */
export function RecordCards({ patientId, purpose, canWrite }: { patientId: string; purpose: 'care' | 'emergency'; canWrite: boolean }) {
  return (
    <>
      <Conditions patientId={patientId} purpose={purpose} canWrite={canWrite} />
      <RecordDocuments patientId={patientId} purpose={purpose} canWrite={canWrite} />
    </>
  );
}
