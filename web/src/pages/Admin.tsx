// #/admin — members and their roles, invitations, connected applications, for organisation administrators.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { PROFESSIONAL_ROLES, ROLES, api, type Role } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Field, Notice, Page, Submit, formValues, useAction } from '../ui';
import { AdminApplications } from './AdminApplications';

interface Member {
  userId: string;
  email: string;
  displayName: string;
  roles: Role[];
  rpps: string | null;
  profession: string | null;
}
interface Invitation {
  id: string;
  email: string;
  roles: Role[];
  expiresAt: string;
  acceptedAt: string | null;
}

/** A doctor, pharmacist or other health professional: an RPPS number is required. */
const isProfessional = (roles: readonly Role[]) => roles.some((role) => PROFESSIONAL_ROLES.includes(role));

function rolesFrom(form: HTMLFormElement): Role[] {
  const data = new FormData(form);
  return ROLES.filter((role) => data.getAll('roles').includes(role));
}

export function Admin() {
  const { t } = useI18n();
  const { session } = useApp();
  const orgs = session?.memberships.filter((m) => m.roles.includes('org_admin')) ?? [];
  const [orgId, setOrgId] = useState(orgs[0]?.organisationId ?? '');
  const pickerId = useId();

  if (orgs.length === 0) {
    return (
      <Page title={t.admin.title}>
        <Notice tone="warning">{t.admin.notAdmin}</Notice>
      </Page>
    );
  }
  return (
    <Page title={t.admin.title} wide>
      {orgs.length > 1 ? (
        <div className="field">
          <label htmlFor={pickerId}>{t.admin.organisation}</label>
          <select id={pickerId} value={orgId} onChange={(e) => setOrgId(e.target.value)}>
            {orgs.map((o) => (
              <option key={o.organisationId} value={o.organisationId}>
                {o.organisationName}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p className="lead">{orgs[0]?.organisationName}</p>
      )}
      <OrganisationAdmin key={orgId} orgId={orgId} />
    </Page>
  );
}

function OrganisationAdmin({ orgId }: { orgId: string }) {
  const { t } = useI18n();
  const { session, refresh, notify } = useApp();
  const base = `/api/admin/organisations/${encodeURIComponent(orgId)}`;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [invitations, setInvitations] = useState<Invitation[] | null>(null);
  const [inviteRoles, setInviteRoles] = useState<Role[]>([]);
  const load = useAction();
  const save = useAction();
  const invite = useAction();

  const reload = useCallback(async () => {
    const [m, i] = await Promise.all([api.get<Member[]>(`${base}/members`), api.get<Invitation[]>(`${base}/invitations`)]);
    setMembers(m);
    setInvitations(i);
  }, [base]);
  useEffect(() => {
    void load.run(reload);
    // `load` changes at each render; `reload` only with the organisation.
  }, [reload]);

  const saveRoles = (member: Member) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const roles = rolesFrom(event.currentTarget);
    void save.run(async () => {
      await api.put(`${base}/members/${encodeURIComponent(member.userId)}/roles`, { roles });
      notify(t.admin.rolesSaved(member.displayName));
      // One's own roles shape the navigation and the home page.
      await Promise.all([reload(), member.userId === session?.user.id ? refresh() : undefined]);
    });
  };

  const sendInvite = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const v = formValues(event);
    const roles = rolesFrom(form);
    const professional = isProfessional(roles);
    void invite.run(async () => {
      await api.post(`${base}/invitations`, {
        email: v.email,
        roles,
        ...(professional && v.rpps ? { rpps: v.rpps } : {}),
        ...(professional && v.profession ? { profession: v.profession } : {}),
      });
      notify(t.admin.invited(v.email ?? ''));
      form.reset();
      setInviteRoles([]);
      await reload();
    });
  };

  const professional = isProfessional(inviteRoles);
  const pending = invitations?.filter((i) => !i.acceptedAt) ?? [];
  return (
    <>
      <ErrorAlert error={load.error} />
      <section aria-labelledby="members-title">
        <h2 id="members-title">{t.admin.membersTitle}</h2>
        <ErrorAlert error={save.error} />
        {members === null && !load.error && <p>{t.common.loading}</p>}
        <ul className="cards">
          {members?.map((member) => (
            <li key={member.userId} className="card">
              <form onSubmit={saveRoles(member)}>
                <fieldset className="plain">
                  <legend>
                    <span className="member-name">{member.displayName}</span>{' '}
                    <span className="member-email">{member.email}</span>
                    {member.rpps && <span className="member-email"> · RPPS {member.rpps}</span>}
                  </legend>
                  <div className="checks">
                    {ROLES.map((role) => (
                      <label key={role} className="choice">
                        <input type="checkbox" name="roles" value={role} defaultChecked={member.roles.includes(role)} />
                        {t.roles[role]}
                      </label>
                    ))}
                  </div>
                </fieldset>
                <button type="submit" className="button secondary" aria-label={t.admin.saveRolesLabel(member.displayName)}>
                  {t.admin.saveRoles}
                </button>
              </form>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="invite-title">
        <h2 id="invite-title">{t.admin.inviteTitle}</h2>
        <form onSubmit={sendInvite} className="stack">
          <ErrorAlert error={invite.error} />
          <Field label={t.fields.email} name="email" type="email" autoComplete="off" spellCheck={false} problem={invite.error} />
          <fieldset>
            <legend>{t.admin.roles}</legend>
            <div className="checks">
              {ROLES.map((role) => (
                <label key={role} className="choice">
                  <input
                    type="checkbox"
                    name="roles"
                    value={role}
                    checked={inviteRoles.includes(role)}
                    onChange={(e) =>
                      setInviteRoles((current) => (e.target.checked ? [...current, role] : current.filter((r) => r !== role)))
                    }
                  />
                  {t.roles[role]}
                </label>
              ))}
            </div>
          </fieldset>
          {professional && (
            <>
              <Field
                label={t.admin.rpps}
                name="rpps"
                hint={t.admin.rppsHint}
                inputMode="numeric"
                pattern="[0-9]{11}"
                maxLength={11}
                className="short"
                autoComplete="off"
                problem={invite.error}
              />
              <Field
                label={t.admin.profession}
                name="profession"
                hint={t.admin.professionHint}
                optional={!inviteRoles.includes('health_professional')}
                autoComplete="off"
                problem={invite.error}
              />
            </>
          )}
          <Submit busy={invite.busy}>{t.admin.invite}</Submit>
        </form>
      </section>

      <section aria-labelledby="pending-title">
        <h2 id="pending-title">{t.admin.pendingTitle}</h2>
        {invitations && pending.length === 0 && <p>{t.admin.pendingNone}</p>}
        <ul className="list">
          {pending.map((i) => (
            <li key={i.id}>
              <strong>{i.email}</strong> — {i.roles.map((r) => t.roles[r]).join(', ')}
              <br />
              <span className="hint">
                {t.admin.expires} {formatDateTime(t, i.expiresAt)}
              </span>
            </li>
          ))}
        </ul>
      </section>

      <AdminApplications orgId={orgId} />
    </>
  );
}
