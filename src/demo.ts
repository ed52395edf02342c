// A clearly labelled demo organisation so a newcomer can try every screen: an administrator, a doctor,
// a nurse and two patients, with fictitious identities. Passwords and TOTP secrets are printed once.
import { randomBytes } from 'node:crypto';
import { Secret } from 'otpauth';
import type { Role } from './kernel/schema.js';
import type { Services } from './services.js';
import { createAccount } from './identity/accounts.js';
import { generateRecoveryCodes } from './identity/recovery-codes.js';
import { installConfirmedTotp } from './identity/totp.js';

export const DEMO_ORGANISATION = 'DÉMO — Centre de santé fictif (données fictives)';

export interface DemoAccount {
  label: string;
  email: string;
  password: string;
  totpSecret: string;
  roles: Role[];
}

/** 4 classes and 20 characters: 120+ bits, never a dictionary word. */
export function generatePassword(): string {
  const base = randomBytes(15).toString('base64url');
  return `${base}-7a`;
}

const PEOPLE: Array<Omit<DemoAccount, 'password' | 'totpSecret'> & { name: string; rpps?: string; profession?: string; identity?: Parameters<typeof createAccount>[2]['identity'] }> = [
  { label: 'Administrateur / admin', name: 'Alice Admin (démo)', email: 'admin@demo.ausculta.invalid', roles: ['org_admin', 'security_officer'] },
  { label: 'Médecin / doctor', name: 'Dr Bruno Médecin (démo)', email: 'medecin@demo.ausculta.invalid', roles: ['doctor'], rpps: '10003456786', profession: 'Médecin généraliste' },
  { label: 'Infirmière / nurse', name: 'Chloé Infirmière (démo)', email: 'infirmiere@demo.ausculta.invalid', roles: ['health_professional'], rpps: '10000000124', profession: 'Infirmière' },
  {
    label: 'Patiente / patient',
    name: 'Denise Patiente (démo)',
    email: 'patiente@demo.ausculta.invalid',
    roles: ['patient'],
    identity: { birthName: 'DEMO', firstNames: 'Denise Marie', birthDate: '1955-08-14', sex: 'F', birthplaceCode: '14168', insNir: undefined },
  },
  {
    label: 'Patient / patient',
    name: 'Émile Patient (démo)',
    email: 'patient@demo.ausculta.invalid',
    roles: ['patient'],
    identity: { birthName: 'DEMO', firstNames: 'Émile', birthDate: '1985-02-03', sex: 'M', birthplaceCode: '2A004', insNir: undefined },
  },
];

export async function loadDemo(services: Services): Promise<DemoAccount[]> {
  const { db } = services;
  if (await db.selectFrom('organisations').select('id').where('name', '=', DEMO_ORGANISATION).executeTakeFirst()) {
    throw new Error('The demo organisation already exists.');
  }
  return db.transaction().execute(async (tx) => {
    const organisation = await tx.insertInto('organisations').values({ name: DEMO_ORGANISATION, finess: null }).returning('id').executeTakeFirstOrThrow();
    const accounts: DemoAccount[] = [];
    for (const person of PEOPLE) {
      const password = generatePassword();
      const userId = await createAccount(tx, services.hasher, {
        email: person.email,
        displayName: person.name,
        password,
        organisationId: organisation.id,
        roles: person.roles,
        rpps: person.rpps,
        profession: person.profession,
        identity: person.identity,
      });
      const totpSecret = new Secret({ size: 20 }).base32;
      await installConfirmedTotp(tx, services.box, userId, totpSecret, new Date());
      await generateRecoveryCodes(tx, userId);
      accounts.push({ label: person.label, email: person.email, password, totpSecret, roles: person.roles });
    }
    return accounts;
  });
}
