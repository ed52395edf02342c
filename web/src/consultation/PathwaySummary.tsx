// What the doctor sees of the care pathway before the call: how the patient comes, the last in-person
// visit, and whether the French reimbursement conditions are met as declared.
import type { Pathway } from './model';
import { useConsultationTexts } from './texts';

export function PathwaySummary({ pathway }: { pathway: Pathway }) {
  const c = useConsultationTexts();
  const seen = pathway.seenWithin12Months === null ? c.pathway.unknownSeen : pathway.seenWithin12Months ? c.pathway.seen : c.pathway.notSeen;
  return (
    <dl className="facts pathway">
      <dt>{c.pathway.title}</dt>
      <dd>
        {c.pathway.roles[pathway.role] ?? pathway.role}
        {pathway.exemption && ` — ${c.pathway.exemptions[pathway.exemption] ?? pathway.exemption}`}
      </dd>
      <dt>{c.pathway.lastVisit}</dt>
      <dd>
        {pathway.lastInPersonVisit ?? c.pathway.lastVisitUnknown} ({seen})
      </dd>
      <dt className="visually-hidden">{c.pathway.reimbursable}</dt>
      <dd className={pathway.reimbursable ? 'badge badge-ok' : 'badge badge-warning'}>{pathway.reimbursable ? `✓ ${c.pathway.reimbursable}` : `⚠ ${c.pathway.notReimbursable}`}</dd>
    </dl>
  );
}
