// #/patients — the professional's patients (active, non-opposed care relationships) and the emergency
// access form (break-the-glass, doctors only); #/patients/<id> — one patient: identity traits, INS status,
// care team; the attending doctor adds and ends care-team members; the patient's allergies, problems and
// documents, measures and signed reports.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { rolesOf, useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { RecordCards } from '../records/MyRecord';
import { PatientReports } from '../reports/PatientReports';
import { navigate } from '../router';
import { ErrorAlert, Page, Submit, UiError, formValues, useAction } from '../ui';
import { useCareTexts } from './care-texts';
import { ConfirmButton, professionalName, professionalOptions, SelectField, type Candidate, type Relationship } from './care-ui';
import { Observations } from './Observations';

interface PatientSummary {
  id: string;
  displayName: string;
  identity: { birthName: string; firstNames: string; birthDate: string; sex: string; birthplaceCode: string };
  ins: { status: string; nir: string | null };
  access: { basis: string; purpose: string };
  careTeam: Relationship[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function formatDate(lang: string, iso: string): string {
  const date = new Date(`${iso}T00:00:00`);
  return Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', { dateStyle: 'long' }).format(date);
}

/** Lower case, without accents: « Hélène » is found by « helene ». */
const folded = (text: string) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

/** Does every word of the query match the patient's names or date of birth (as written, DD/MM/YYYY, or ISO)? */
function matches(patient: PatientSummary, query: string): boolean {
  const [year, month, day] = patient.identity.birthDate.split('-');
  const haystack = folded(`${patient.displayName} ${patient.identity.birthName} ${patient.identity.firstNames} ${day}/${month}/${year} ${patient.identity.birthDate}`);
  return folded(query).split(/\s+/).filter(Boolean).every((word) => haystack.includes(word));
}

export function Patients({ patientId, purpose }: { patientId: string | null; purpose: string | null }) {
  return patientId ? <PatientView key={`${patientId}-${purpose ?? ''}`} patientId={patientId} purpose={purpose === 'emergency' ? 'emergency' : 'care'} /> : <PatientList />;
}

function PatientList() {
  const { t, lang } = useI18n();
  const c = useCareTexts();
  const { session } = useApp();
  const [patients, setPatients] = useState<PatientSummary[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [query, setQuery] = useState('');
  const searchId = useId();
  const doctor = rolesOf(session).has('doctor');
  const me = session?.user.id;

  const shown = patients?.filter((patient) => matches(patient, query)) ?? [];

  useEffect(() => {
    api
      .get<{ patients: PatientSummary[] }>('/api/patients')
      .then((body) => setPatients(body.patients))
      .catch(setLoadError);
  }, []);

  return (
    <Page title={c.patients.title} wide>
      <p className="lead">{c.patients.intro}</p>
      <ErrorAlert error={loadError} />
      {!patients && !loadError && <p>{t.common.loading}</p>}
      {patients && patients.length === 0 && <p>{c.patients.none}</p>}
      {patients && patients.length > 0 && (
        <div className="field">
          <label htmlFor={searchId}>{c.patients.search}</label>
          <p className="hint" id={`${searchId}-hint`}>
            {c.patients.searchHint}
          </p>
          <input id={searchId} type="search" aria-describedby={`${searchId}-hint`} value={query} onChange={(event) => setQuery(event.target.value)} autoComplete="off" />
        </div>
      )}
      {patients && patients.length > 0 && (
        <p role="status" aria-live="polite">
          {shown.length === 0 ? c.patients.noMatch : c.patients.shown(shown.length, patients.length)}
        </p>
      )}
      {shown.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={c.patients.caption}>
          <table className="data">
            <caption>{c.patients.caption}</caption>
            <thead>
              <tr>
                <th scope="col">{c.patients.name}</th>
                <th scope="col">{c.patients.birthDate}</th>
                <th scope="col">{c.patients.insStatus}</th>
                <th scope="col">{c.patients.relationship}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((patient) => {
                const mine = patient.careTeam.filter((r) => r.professional.id === me).map((r) => c.kinds[r.kind] ?? r.kind);
                return (
                  <tr key={patient.id}>
                    <th scope="row">
                      <a href={`#/patients/${patient.id}`} aria-label={c.patients.open(patient.displayName)}>
                        {patient.displayName}
                      </a>
                    </th>
                    <td>{formatDate(lang, patient.identity.birthDate)}</td>
                    <td>{c.patients.insStatuses[patient.ins.status] ?? patient.ins.status}</td>
                    <td>{mine.join(', ') || '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {doctor && <BreakTheGlass />}
    </Page>
  );
}

function BreakTheGlass() {
  const c = useCareTexts();
  const { notify } = useApp();
  const reasonId = useId();
  const patientFieldId = useId();
  const { busy, error, run } = useAction();
  const [invalid, setInvalid] = useState<{ patient?: string; reason?: string }>({});

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const values = formValues(event);
    const patientId = values.patientId ?? '';
    const reason = values.reason ?? '';
    const problems: { patient?: string; reason?: string } = {};
    if (!UUID.test(patientId)) problems.patient = c.patients.btgBadId;
    if (reason.length < 10 || reason.length > 500) problems.reason = c.patients.btgBadReason;
    setInvalid(problems);
    void run(async () => {
      if (problems.patient || problems.reason) throw new UiError(problems.patient ?? problems.reason ?? '');
      await api.post(`/api/patients/${patientId}/break-the-glass`, { reason });
      const path = `/patients/${patientId.toLowerCase()}`;
      notify(c.patients.btgOpened, path);
      navigate(`${path}?purpose=emergency`);
    });
  };

  const described = [`${reasonId}-hint`, invalid.reason ? `${reasonId}-error` : ''].filter(Boolean).join(' ');
  return (
    <section aria-labelledby="btg-title" className="card emergency audit-section">
      <h2 id="btg-title">
        <span aria-hidden="true">⚠ </span>
        {c.patients.btgTitle}
      </h2>
      <p>{c.patients.btgIntro}</p>
      <p className="alert alert-warning" id="btg-warning">
        <strong>{c.patients.btgWarning}</strong>
      </p>
      <ErrorAlert error={error} />
      <form className="care-form" noValidate onSubmit={submit} aria-describedby="btg-warning">
        <div className={invalid.patient ? 'field field-invalid' : 'field'}>
          <label htmlFor={patientFieldId}>{c.patients.btgPatient}</label>
          <p className="hint" id={`${patientFieldId}-hint`}>
            {c.patients.btgPatientHint}
          </p>
          {invalid.patient && (
            <p className="field-error" id={`${patientFieldId}-error`}>
              {invalid.patient}
            </p>
          )}
          <input
            id={patientFieldId}
            name="patientId"
            required
            autoComplete="off"
            spellCheck={false}
            aria-invalid={invalid.patient ? true : undefined}
            aria-describedby={[`${patientFieldId}-hint`, invalid.patient ? `${patientFieldId}-error` : ''].filter(Boolean).join(' ')}
          />
        </div>
        <div className={invalid.reason ? 'field field-invalid' : 'field'}>
          <label htmlFor={reasonId}>{c.patients.btgReason}</label>
          <p className="hint" id={`${reasonId}-hint`}>
            {c.patients.btgReasonHint}
          </p>
          {invalid.reason && (
            <p className="field-error" id={`${reasonId}-error`}>
              {invalid.reason}
            </p>
          )}
          <textarea id={reasonId} name="reason" rows={3} required minLength={10} maxLength={500} aria-invalid={invalid.reason ? true : undefined} aria-describedby={described} />
        </div>
        <Submit busy={busy}>{c.patients.btgSubmit}</Submit>
      </form>
    </section>
  );
}

function PatientView({ patientId, purpose }: { patientId: string; purpose: 'care' | 'emergency' }) {
  const { t, lang } = useI18n();
  const c = useCareTexts();
  const { session } = useApp();
  const [patient, setPatient] = useState<PatientSummary | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [message, setMessage] = useState('');
  const { busy, error, run } = useAction();

  const [professionals, setProfessionals] = useState<Candidate[]>([]);
  const [professionalsError, setProfessionalsError] = useState<unknown>(null);
  const load = useCallback(async () => {
    const summary = await api.get<PatientSummary>(`/api/patients/${encodeURIComponent(patientId)}${purpose === 'emergency' ? '?purpose=emergency' : ''}`);
    setPatient(summary);
  }, [patientId, purpose]);

  useEffect(() => {
    load().catch(setLoadError);
  }, [load]);

  // Only the attending doctor manages the care team, so only they need the list to choose from — once per
  // patient, not after each change. A failure leaves the record on screen; the form says the list is missing.
  const attendingDoctor = patient?.access.basis === 'attending_doctor';
  useEffect(() => {
    if (!attendingDoctor) return;
    api.get<{ professionals: Candidate[] }>(`/api/patients/${encodeURIComponent(patientId)}/professionals`).then((answer) => setProfessionals(answer.professionals), setProfessionalsError);
  }, [attendingDoctor, patientId]);

  const change = (done: string, action: () => Promise<unknown>) =>
    run(async () => {
      setMessage('');
      await action();
      await load();
      setMessage(done);
    });

  const add = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const { professionalId = '' } = formValues(event);
    void change(c.patients.added, async () => {
      if (!UUID.test(professionalId)) throw new UiError(c.team.chooseRequired);
      await api.post(`/api/patients/${patientId}/care-team`, { professionalId });
      form.reset();
    });
  };

  const back = (
    <p>
      <a href="#/patients">{c.patients.back}</a>
    </p>
  );

  if (loadError) {
    const notFound = loadError instanceof ApiError && loadError.status === 404;
    return (
      <Page title={c.patients.title}>
        {notFound ? <p className="alert alert-error">{c.patients.notFound}</p> : <ErrorAlert error={loadError} />}
        {back}
      </Page>
    );
  }
  if (!patient) return <p className="page">{t.common.loading}</p>;

  const attending = patient.access.basis === 'attending_doctor';
  const active = patient.careTeam.filter((r) => r.active);
  return (
    <Page title={patient.displayName} wide>
      {back}
      {patient.access.purpose === 'emergency' && (
        <p className="alert alert-warning emergency-banner">
          <strong>
            <span aria-hidden="true">⚠ </span>
            {c.patients.emergencyBanner}
          </strong>
        </p>
      )}
      <div role="status" aria-live="polite" className="status">
        {message && <p className="alert alert-success">{message}</p>}
      </div>
      <ErrorAlert error={error} />
      <div className="sections">
        <section aria-labelledby="identity-title" className="card">
          <h2 id="identity-title">{c.patients.identityTitle}</h2>
          <dl className="facts">
            <dt>{c.patients.birthName}</dt>
            <dd>{patient.identity.birthName}</dd>
            <dt>{c.patients.firstNames}</dt>
            <dd>{patient.identity.firstNames}</dd>
            <dt>{c.patients.birthDate}</dt>
            <dd>{formatDate(lang, patient.identity.birthDate)}</dd>
            <dt>{c.patients.sex}</dt>
            <dd>{c.patients.sexes[patient.identity.sex] ?? patient.identity.sex}</dd>
            <dt>{c.patients.birthplace}</dt>
            <dd>{patient.identity.birthplaceCode}</dd>
            <dt>{c.patients.insStatus}</dt>
            <dd data-testid="ins-status">{c.patients.insStatuses[patient.ins.status] ?? patient.ins.status}</dd>
            {patient.ins.nir && (
              <>
                <dt>{c.patients.nir}</dt>
                <dd>{patient.ins.nir}</dd>
              </>
            )}
            <dt>{c.patients.patientId}</dt>
            <dd className="id">{patient.id}</dd>
            <dt>{c.patients.access}</dt>
            <dd>{c.patients.accessAs(t.access.bases[patient.access.basis] ?? patient.access.basis, t.access.purposes[patient.access.purpose] ?? patient.access.purpose)}</dd>
          </dl>
        </section>

        <section aria-labelledby="team-title" className="card">
          <h2 id="team-title">{c.patients.careTeamTitle}</h2>
          {active.length === 0 ? (
            <p>{c.patients.careTeamNone}</p>
          ) : (
            <ul className="list">
              {active.map((r) => (
                <li key={r.id} className="row">
                  <div>
                    <p className="member-name">
                      <strong>{c.kinds[r.kind] ?? r.kind}</strong> : {professionalName(c, r.professional, r.kind === 'attending_doctor' ? ['doctor'] : undefined)}
                      {r.professional.id === session?.user.id && <span className="badge on">{t.access.you}</span>}
                    </p>
                    <p className="hint">
                      {c.since} {formatDateTime(t, r.startsAt)}
                    </p>
                  </div>
                  {attending && r.kind === 'care_team' && (
                    <ConfirmButton
                      label={c.team.end}
                      accessibleLabel={c.team.endOf(r.professional.displayName)}
                      question={c.patients.endConfirm(r.professional.displayName)}
                      busy={busy}
                      onConfirm={() => void change(c.team.ended, () => api.del(`/api/patients/${patient.id}/care-team/${r.id}`))}
                    />
                  )}
                </li>
              ))}
            </ul>
          )}
          {attending && (
            <form className="care-form" noValidate onSubmit={add}>
              <h3>{c.patients.addMember}</h3>
              <ErrorAlert error={professionalsError} />
              <SelectField label={c.team.addField} name="professionalId" invalid={error instanceof UiError ? error.message : undefined}>
                {professionalOptions(
                  c,
                  professionals.filter((p) => p.id !== session?.user.id && !active.some((r) => r.professional.id === p.id)),
                )}
              </SelectField>
              <Submit busy={busy}>{c.patients.add}</Submit>
            </form>
          )}
        </section>
      </div>
      {/* Allergies, problems and documents: read only in an emergency access, like the measures. */}
      <RecordCards patientId={patient.id} purpose={purpose} canWrite={purpose !== 'emergency' && patient.access.purpose !== 'emergency'} />
      {/* Vital signs: read in an emergency access (the gate refuses writing then), recorded otherwise. */}
      <Observations patientId={patient.id} purpose={purpose} canWrite={purpose !== 'emergency' && patient.access.purpose !== 'emergency'} />
      {/* Signed reports, read with the same purpose (care, or emergency after breaking the glass). */}
      <PatientReports patientId={patient.id} purpose={purpose} />
    </Page>
  );
}
