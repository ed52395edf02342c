// #/equipe — the patient's care team: emergency accesses (highlighted), care relationships (end one),
// the attending doctor, a new care-team member, and objections to a professional.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Page, Submit, UiError, formValues, useAction } from '../ui';
import { useCareTexts } from './care-texts';
import { ConfirmButton, SelectField, professionalName, professionalOptions, type Professional, type Relationship, type Candidate } from './care-ui';

interface Opposition {
  id: string;
  professional: Professional;
  createdAt: string;
  withdrawnAt: string | null;
  active: boolean;
}

interface EmergencyAccess {
  id: string;
  actor: Professional;
  reason: string;
  startsAt: string;
  endsAt: string;
  active: boolean;
}

interface CareOverview {
  relationships: Relationship[];
  oppositions: Opposition[];
  emergencyAccesses: EmergencyAccess[];
}

export function CareTeam() {
  const { t } = useI18n();
  const c = useCareTexts();
  const [care, setCare] = useState<CareOverview | null>(null);
  const [professionals, setProfessionals] = useState<Candidate[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [message, setMessage] = useState('');
  const { busy, error, run } = useAction();

  const load = useCallback(async () => {
    const [overview, list] = await Promise.all([api.get<CareOverview>('/api/me/care'), api.get<{ professionals: Candidate[] }>('/api/me/professionals')]);
    setCare(overview);
    setProfessionals(list.professionals);
  }, []);

  useEffect(() => {
    load().catch(setLoadError);
  }, [load]);

  const change = (done: string, action: () => Promise<unknown>) =>
    run(async () => {
      setMessage('');
      await action();
      await load();
      setMessage(done);
    });

  const chosen = (event: FormEvent<HTMLFormElement>): string => {
    const form = event.currentTarget;
    const { professionalId } = formValues(event);
    if (!professionalId) throw new UiError(c.team.chooseRequired);
    form.reset();
    return professionalId;
  };

  const submit = (event: FormEvent<HTMLFormElement>, path: string, done: string) => {
    let id: string;
    try {
      id = chosen(event);
    } catch (caught) {
      void run(() => Promise.reject(caught));
      return;
    }
    void change(done, () => api.post(path, { professionalId: id }));
  };

  if (loadError) {
    return (
      <Page title={c.team.title}>
        <ErrorAlert error={loadError} />
      </Page>
    );
  }
  if (!care) return <p className="page">{t.common.loading}</p>;

  const doctors = professionals.filter((p) => p.roles.includes('doctor'));
  const current = care.relationships.filter((r) => r.active);
  const past = care.relationships.filter((r) => !r.active);
  const oppositions = care.oppositions.filter((o) => o.active);
  const options = (list: Candidate[]) => professionalOptions(c, list);

  return (
    <Page title={c.team.title} wide>
      <p className="lead">{c.team.intro}</p>
      <div role="status" aria-live="polite" className="status">
        {message && <p className="alert alert-success">{message}</p>}
      </div>
      <ErrorAlert error={error} />

      <section aria-labelledby="emergency-title" className={care.emergencyAccesses.length > 0 ? 'card emergency' : 'card'}>
        <h2 id="emergency-title">
          {care.emergencyAccesses.length > 0 && <span aria-hidden="true">⚠ </span>}
          {c.team.emergencyTitle}
        </h2>
        <p>{c.team.emergencyIntro}</p>
        {care.emergencyAccesses.length === 0 ? (
          <p>{c.team.emergencyNone}</p>
        ) : (
          <ul className="list">
            {care.emergencyAccesses.map((access) => (
              <li key={access.id} data-testid="emergency-access">
                <p className="member-name">
                  <strong>{professionalName(c, access.actor, ['doctor'])}</strong>
                  {access.active && <span className="badge warn">{c.team.emergencyActive}</span>}
                </p>
                <p>
                  {c.team.emergencyFrom} {formatDateTime(t, access.startsAt)} {c.team.emergencyTo} {formatDateTime(t, access.endsAt)}
                </p>
                <p>
                  {c.team.emergencyReason} <q>{access.reason}</q>
                </p>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="relationships-title" className="audit-section">
        <h2 id="relationships-title">{c.team.relationshipsTitle}</h2>
        {care.relationships.length === 0 ? (
          <p>{c.team.relationshipsNone}</p>
        ) : (
          <ul className="list" data-testid="relationships">
            {[...current, ...past].map((r) => {
              const name = professionalName(c, r.professional, r.kind === 'attending_doctor' ? ['doctor'] : undefined);
              return (
                <li key={r.id} className="row">
                  <div>
                    <p className="member-name">
                      <strong>{c.kinds[r.kind] ?? r.kind}</strong> : {name}
                      <span className={r.active ? 'badge on' : 'badge'}>{r.active ? c.active : c.ended}</span>
                    </p>
                    <p className="hint">
                      {c.since} {formatDateTime(t, r.startsAt)}
                      {r.endsAt && ` — ${c.until} ${formatDateTime(t, r.endsAt)}`}
                    </p>
                  </div>
                  {r.active && (
                    <ConfirmButton
                      label={c.team.end}
                      accessibleLabel={c.team.endOf(r.professional.displayName)}
                      question={c.team.endConfirm(r.professional.displayName)}
                      busy={busy}
                      onConfirm={() => void change(c.team.ended, () => api.del(`/api/me/care-team/${r.id}`))}
                    />
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <div className="sections">
        <section aria-labelledby="attending-title" className="card">
          <h2 id="attending-title">{c.team.attendingTitle}</h2>
          {doctors.length === 0 ? (
            <p>{c.team.noDoctor}</p>
          ) : (
            <form className="care-form" noValidate onSubmit={(event) => submit(event, '/api/me/attending-doctor', c.team.attendingDone)}>
              <SelectField label={c.team.attendingField} name="professionalId" hint={c.team.attendingHint}>
                {options(doctors)}
              </SelectField>
              <Submit busy={busy}>{c.team.attendingSubmit}</Submit>
            </form>
          )}
        </section>

        <section aria-labelledby="add-title" className="card">
          <h2 id="add-title">{c.team.addTitle}</h2>
          {professionals.length === 0 ? (
            <p>{c.team.noProfessional}</p>
          ) : (
            <form className="care-form" noValidate onSubmit={(event) => submit(event, '/api/me/care-team', c.team.addDone)}>
              <SelectField label={c.team.addField} name="professionalId">
                {options(professionals)}
              </SelectField>
              <Submit busy={busy}>{c.team.addSubmit}</Submit>
            </form>
          )}
        </section>
      </div>

      <section aria-labelledby="oppositions-title" className="audit-section">
        <h2 id="oppositions-title">{c.team.oppositionsTitle}</h2>
        <p>{c.team.oppositionsIntro}</p>
        {oppositions.length === 0 ? (
          <p>{c.team.oppositionsNone}</p>
        ) : (
          <ul className="list">
            {oppositions.map((o) => (
              <li key={o.id} className="row">
                <div>
                  <p className="member-name">
                    <strong>{professionalName(c, o.professional)}</strong>
                  </p>
                  <p className="hint">
                    {c.team.opposedSince} {formatDateTime(t, o.createdAt)}
                  </p>
                </div>
                <button
                  type="button"
                  className="button secondary"
                  aria-label={c.team.withdrawOf(o.professional.displayName)}
                  aria-disabled={busy || undefined}
                  onClick={() => void change(c.team.withdrawDone, () => api.del(`/api/me/oppositions/${o.id}`))}
                >
                  {c.team.withdraw}
                </button>
              </li>
            ))}
          </ul>
        )}
        {professionals.length > 0 && (
          <form className="care-form" noValidate onSubmit={(event) => submit(event, '/api/me/oppositions', c.team.opposeDone)}>
            <SelectField label={c.team.opposeField} name="professionalId">
              {options(professionals)}
            </SelectField>
            <Submit busy={busy} secondary>
              {c.team.opposeSubmit}
            </Submit>
          </form>
        )}
      </section>
    </Page>
  );
}
