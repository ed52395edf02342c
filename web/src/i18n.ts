// Every text of the web app, French first, English available. A typed dictionary, no library.
import { createContext, useContext } from 'react';
import type { Role } from './api';

export type Lang = 'fr' | 'en';

const fr = {
  appName: 'Ausculta',
  tagline: 'Téléconsultation sécurisée',
  skip: 'Aller au contenu',
  switchLang: { code: 'en' as Lang, label: 'English', title: 'Switch to English' },
  nav: {
    label: 'Navigation principale',
    home: 'Accueil',
    security: 'Sécurité',
    admin: 'Administration',
    login: 'Connexion',
    signup: 'Créer un compte',
    logout: 'Se déconnecter',
  },
  common: {
    loading: 'Chargement…',
    optional: '(facultatif)',
    requiredNote: 'Tous les champs sont obligatoires, sauf mention « facultatif ».',
    cancel: 'Annuler',
    save: 'Enregistrer',
    error: 'Une erreur est survenue.',
    retryIn: (s: number) => `Réessayez dans ${s} seconde${s > 1 ? 's' : ''}.`,
    fixFields: 'Corrigez les champs signalés.',
    invalidField: 'Vérifiez ce champ.',
    backToLogin: 'Retour à la connexion',
    sessionEnded: 'Votre session a pris fin : reconnectez-vous.',
    notFoundTitle: 'Page introuvable',
    notFoundText: 'Cette adresse ne correspond à aucune page.',
    dateTime: 'fr-FR',
  },
  fields: {
    email: 'Adresse e-mail',
    password: 'Mot de passe',
    newPassword: 'Nouveau mot de passe',
    currentPassword: 'Mot de passe actuel',
    displayName: 'Nom affiché',
    displayNameHint: 'Le nom que verront vos interlocuteurs, par exemple « Marie Dupont ».',
    passwordRule:
      'Au moins 12 caractères mêlant majuscules, minuscules, chiffres et caractères spéciaux ; ou 14 caractères de trois de ces types ; ou une phrase de passe de plusieurs mots. Évitez les mots courants et votre nom.',
  },
  identity: {
    legend: 'Votre identité',
    intro:
      'Ces informations servent à vous identifier de façon sûre (identité nationale de santé). Saisissez-les comme sur votre pièce d’identité.',
    birthName: 'Nom de naissance',
    firstNames: 'Prénoms',
    firstNamesHint: 'Tous vos prénoms de l’état civil, dans l’ordre, séparés par des espaces.',
    birthDate: 'Date de naissance',
    sex: 'Sexe',
    sexes: { F: 'Féminin', M: 'Masculin', U: 'Indéterminé' },
    birthplace: 'Code INSEE du lieu de naissance',
    birthplaceHint:
      '5 caractères : le code de la commune (par exemple 33063 pour Bordeaux, 2A004 pour Ajaccio) ; si vous êtes né à l’étranger, 99 suivi du code du pays (99134 pour l’Espagne).',
    insNir: 'Numéro de sécurité sociale (NIR)',
    insNirHint:
      '15 caractères, sur votre carte Vitale ou votre attestation de droits. Il relie votre dossier à votre identité nationale de santé (INS). Vous pourrez l’ajouter plus tard.',
  },
  roles: {
    patient: 'Patient',
    doctor: 'Médecin',
    health_professional: 'Professionnel de santé',
    org_admin: 'Administrateur de l’organisation',
    security_officer: 'Responsable sécurité et données',
  } satisfies Record<Role, string>,
  setup: {
    title: 'Installation',
    intro: 'Première mise en route : créez votre organisation et le compte de son administrateur.',
    token: 'Jeton d’installation',
    tokenHint: 'Affiché dans la console du serveur à son démarrage.',
    orgLegend: 'Organisation',
    orgName: 'Nom de l’organisation',
    finess: 'Numéro FINESS',
    finessHint: '9 caractères, attribué à l’établissement.',
    adminLegend: 'Compte administrateur',
    submit: 'Installer Ausculta',
    done: 'Installation terminée. Ajoutez maintenant un second facteur à votre compte.',
  },
  login: {
    title: 'Connexion',
    submit: 'Se connecter',
    or: 'ou',
    passkey: 'Se connecter avec une clé d’accès',
    passkeyHint: 'Empreinte, visage, code de l’appareil ou clé de sécurité : sans saisir de mot de passe.',
    forgot: 'Mot de passe oublié ?',
    noAccount: 'Patient sans compte ?',
    createAccount: 'Créer un compte',
    secondTitle: 'Vérification en deux étapes',
    secondIntro: 'Confirmez votre identité avec votre second facteur.',
    totp: 'Code de votre application d’authentification',
    totpHint: '6 chiffres, renouvelés toutes les 30 secondes.',
    verify: 'Vérifier',
    usePasskey: 'Utiliser ma clé d’accès',
    useTotp: 'Utiliser l’application d’authentification',
    useRecovery: 'Utiliser un code de secours',
    recovery: 'Code de secours',
    recoveryHint: 'Un des codes enregistrés lors de l’activation ; chacun ne sert qu’une fois.',
    recoveryLeft: (n: number) =>
      n === 0
        ? 'Vous n’avez plus de code de secours : générez-en de nouveaux.'
        : `Il vous reste ${n} code${n > 1 ? 's' : ''} de secours.`,
    passkeyFailed: 'La clé d’accès n’a pas été utilisée (opération annulée, expirée ou non reconnue).',
    passkeyUnsupported: 'Ce navigateur ne prend pas en charge les clés d’accès.',
    welcome: (name: string) => `Bienvenue, ${name}.`,
  },
  signup: {
    title: 'Créer un compte patient',
    intro: 'Votre compte vous permettra de prendre rendez-vous et de consulter à distance.',
    organisation: 'Établissement',
    organisationHint: 'L’établissement qui vous suit.',
    choose: 'Choisir…',
    noOrganisations: 'Aucun établissement n’accepte d’inscription pour le moment.',
    accountLegend: 'Votre compte',
    submit: 'Créer mon compte',
    haveAccount: 'Déjà un compte ?',
    done: 'Compte créé. Protégez-le maintenant avec un second facteur.',
  },
  security: {
    title: 'Sécurité du compte',
    noFactor:
      'Aucun second facteur : vos données de santé restent masquées tant que vous n’en avez pas ajouté un. Choisissez une application d’authentification ou une clé d’accès.',
    totpTitle: 'Application d’authentification',
    totpOn: 'Activée.',
    totpOff: 'Non configurée.',
    totpStart: 'Configurer une application',
    totpScan: 'Scannez ce QR code avec votre application d’authentification (par exemple Aegis, FreeOTP ou Google Authenticator).',
    totpManual: 'Ou saisissez cette clé dans l’application :',
    totpQrAlt: 'QR code à scanner avec l’application d’authentification',
    totpSecret: 'Clé secrète',
    totpCode: 'Code affiché par l’application',
    totpConfirm: 'Activer',
    totpEnabled: 'Application d’authentification activée.',
    totpRemove: 'Désactiver l’application',
    totpRemoved: 'Application d’authentification désactivée.',
    recoveryTitle: 'Codes de secours',
    recoveryLeft: (n: number) => `${n} code${n > 1 ? 's' : ''} de secours disponible${n > 1 ? 's' : ''}.`,
    recoveryRegenerate: 'Générer de nouveaux codes',
    recoveryRegenerateHint: 'Les anciens codes cesseront de fonctionner.',
    recoveryShown: 'Vos codes de secours',
    recoveryOnce:
      'Conservez ces codes en lieu sûr maintenant : ils ne seront plus jamais affichés. Chacun permet une seule connexion si vous perdez votre second facteur.',
    recoveryDownload: 'Télécharger les codes (.txt)',
    recoveryFile: (email: string) => `Codes de secours Ausculta — ${email}\nChaque code ne sert qu’une fois.\n\n`,
    recoverySavedCheck: 'J’ai enregistré mes codes de secours',
    recoverySavedButton: 'Continuer',
    passkeysTitle: 'Clés d’accès',
    passkeysIntro:
      'Une clé d’accès (empreinte, visage, code de l’appareil ou clé de sécurité) vaut mot de passe et second facteur à la fois.',
    passkeysNone: 'Aucune clé d’accès enregistrée.',
    passkeyName: 'Nom de la clé',
    passkeyNameHint: 'Pour la reconnaître, par exemple « Téléphone ».',
    passkeyDefault: 'Ma clé d’accès',
    passkeyAdd: 'Ajouter une clé d’accès',
    passkeyAdded: 'Clé d’accès ajoutée.',
    passkeyRemove: 'Supprimer',
    passkeyRemoveLabel: (name: string) => `Supprimer la clé « ${name} »`,
    passkeyRemoved: 'Clé d’accès supprimée.',
    passkeyCreated: 'Ajoutée le',
    passkeyLastUsed: 'Dernière utilisation :',
    never: 'jamais',
    passwordTitle: 'Mot de passe',
    passwordSubmit: 'Changer le mot de passe',
    passwordChanged: 'Mot de passe changé. Vos autres sessions ont été fermées.',
    emailTitle: 'Adresse e-mail',
    emailCurrent: 'Adresse actuelle :',
    emailNew: 'Nouvelle adresse e-mail',
    emailSubmit: 'Changer l’adresse',
    emailChanged: 'Adresse e-mail changée. Vos autres sessions ont été fermées.',
    sessionsTitle: 'Sessions ouvertes',
    sessionCurrent: 'Cette session',
    sessionStarted: 'Ouverte le',
    sessionLastSeen: 'Dernière activité',
    sessionAddress: 'Adresse réseau',
    sessionDevice: 'Navigateur',
    sessionEnd: 'Fermer cette session',
    sessionEndLabel: (device: string) => `Fermer cette session (${device})`,
    sessionEnded: 'Session fermée.',
    everywhere: 'Se déconnecter partout',
    everywhereHint: 'Ferme toutes vos sessions, y compris celle-ci.',
    reauthTitle: 'Confirmez votre identité',
    reauthIntro: 'Cette modification est sensible : saisissez à nouveau votre mot de passe.',
    reauthSubmit: 'Confirmer',
  },
  forgot: {
    title: 'Mot de passe oublié',
    intro: 'Indiquez votre adresse e-mail : si un compte existe, vous recevrez un lien pour choisir un nouveau mot de passe.',
    submit: 'Recevoir le lien',
    sent: 'Si un compte correspond à cette adresse, un e-mail vient d’être envoyé. Pensez à vérifier vos courriers indésirables.',
  },
  reset: {
    title: 'Nouveau mot de passe',
    missing: 'Ce lien est incomplet ou expiré. Demandez un nouveau lien.',
    askAgain: 'Demander un nouveau lien',
    submit: 'Enregistrer le mot de passe',
    done: 'Mot de passe enregistré. Vos sessions ont été fermées : connectez-vous avec le nouveau mot de passe et votre second facteur.',
  },
  invitation: {
    title: 'Invitation',
    intro: (org: string) => `Vous êtes invité à rejoindre ${org}.`,
    email: 'Adresse :',
    roles: 'Rôles :',
    exists:
      'Un compte existe déjà pour cette adresse : connectez-vous et demandez à l’administrateur de l’organisation de vous attribuer ces rôles.',
    submit: 'Accepter l’invitation',
    done: 'Bienvenue ! Protégez maintenant votre compte avec un second facteur.',
  },
  admin: {
    title: 'Administration',
    organisation: 'Organisation',
    notAdmin: 'Cette page est réservée aux administrateurs d’une organisation.',
    membersTitle: 'Membres',
    member: 'Membre',
    rolesOf: (name: string) => `Rôles de ${name}`,
    saveRoles: 'Enregistrer les rôles',
    saveRolesLabel: (name: string) => `Enregistrer les rôles de ${name}`,
    rolesSaved: (name: string) => `Rôles de ${name} enregistrés.`,
    inviteTitle: 'Inviter un membre',
    roles: 'Rôles',
    rpps: 'Numéro RPPS',
    rppsHint: '11 chiffres ; obligatoire pour un médecin ou un professionnel de santé.',
    profession: 'Profession',
    professionHint: 'Par exemple : infirmier, pharmacien, masseur-kinésithérapeute.',
    invite: 'Envoyer l’invitation',
    invited: (email: string) => `Invitation envoyée à ${email}.`,
    pendingTitle: 'Invitations en attente',
    pendingNone: 'Aucune invitation en attente.',
    expires: 'Expire le',
  },
  home: {
    title: 'Accueil',
    hello: (name: string) => `Bonjour, ${name}`,
    soon: 'Cette fonctionnalité arrive bientôt.',
    noFactorTitle: 'Ajoutez un second facteur',
    noFactor:
      'Aucune donnée de santé ne vous est affichée tant que votre compte n’est pas protégé par un second facteur (application d’authentification ou clé d’accès).',
    noFactorPatient: 'Vous pouvez toutefois déjà prendre rendez-vous.',
    noFactorLink: 'Sécuriser mon compte',
    noMembership: 'Vous n’êtes membre d’aucune organisation pour le moment.',
    adminLink: 'Gérer les membres et les invitations',
    cards: {
      patient: [
        { title: 'Mes rendez-vous', text: 'Prendre et rejoindre une téléconsultation.' },
        { title: 'Mes documents', text: 'Comptes rendus, ordonnances et documents partagés.' },
      ],
      doctor: [
        { title: 'Salle d’attente', text: 'Les patients qui attendent leur téléconsultation.' },
        { title: 'Mes patients', text: 'Les dossiers des patients que vous suivez.' },
      ],
      health_professional: [
        { title: 'Téléassistance', text: 'Assister une téléconsultation aux côtés du patient.' },
        { title: 'Alertes de suivi', text: 'Les alertes de télésurveillance de vos patients.' },
      ],
      org_admin: [{ title: 'Administration', text: 'Membres, rôles et invitations de l’organisation.' }],
      security_officer: [{ title: 'Journal d’audit', text: 'Les accès aux données et leur vérification.' }],
    } satisfies Record<Role, Array<{ title: string; text: string }>>,
  },
};

export type Dict = typeof fr;

const en: Dict = {
  appName: 'Ausculta',
  tagline: 'Secure teleconsultation',
  skip: 'Skip to content',
  switchLang: { code: 'fr', label: 'Français', title: 'Passer en français' },
  nav: {
    label: 'Main navigation',
    home: 'Home',
    security: 'Security',
    admin: 'Administration',
    login: 'Log in',
    signup: 'Create an account',
    logout: 'Log out',
  },
  common: {
    loading: 'Loading…',
    optional: '(optional)',
    requiredNote: 'All fields are required unless marked “optional”.',
    cancel: 'Cancel',
    save: 'Save',
    error: 'Something went wrong.',
    retryIn: (s: number) => `Try again in ${s} second${s > 1 ? 's' : ''}.`,
    fixFields: 'Please correct the fields marked below.',
    invalidField: 'Please check this field.',
    backToLogin: 'Back to log in',
    sessionEnded: 'Your session has ended: please log in again.',
    notFoundTitle: 'Page not found',
    notFoundText: 'This address matches no page.',
    dateTime: 'en-GB',
  },
  fields: {
    email: 'E-mail address',
    password: 'Password',
    newPassword: 'New password',
    currentPassword: 'Current password',
    displayName: 'Display name',
    displayNameHint: 'The name others will see, for example “Marie Dupont”.',
    passwordRule:
      'At least 12 characters mixing upper case, lower case, digits and symbols; or 14 characters of three of these kinds; or a passphrase of several words. Avoid common words and your name.',
  },
  identity: {
    legend: 'Your identity',
    intro:
      'These details identify you safely (French national health identity, INS). Enter them exactly as on your identity document.',
    birthName: 'Birth name',
    firstNames: 'First names',
    firstNamesHint: 'All your legal first names, in order, separated by spaces.',
    birthDate: 'Date of birth',
    sex: 'Sex',
    sexes: { F: 'Female', M: 'Male', U: 'Undetermined' },
    birthplace: 'INSEE code of the place of birth',
    birthplaceHint:
      '5 characters: the town code (for example 33063 for Bordeaux, 2A004 for Ajaccio); if you were born abroad, 99 followed by the country code (99134 for Spain).',
    insNir: 'Social security number (NIR)',
    insNirHint:
      '15 characters, on your Carte Vitale or your health insurance certificate. It links your record to your national health identity (INS). You can add it later.',
  },
  roles: {
    patient: 'Patient',
    doctor: 'Doctor',
    health_professional: 'Health professional',
    org_admin: 'Organisation administrator',
    security_officer: 'Security and data protection officer',
  },
  setup: {
    title: 'Setup',
    intro: 'First start: create your organisation and its administrator account.',
    token: 'Setup token',
    tokenHint: 'Printed on the server console when it starts.',
    orgLegend: 'Organisation',
    orgName: 'Organisation name',
    finess: 'FINESS number',
    finessHint: '9 characters, assigned to the facility.',
    adminLegend: 'Administrator account',
    submit: 'Set up Ausculta',
    done: 'Setup complete. Now add a second factor to your account.',
  },
  login: {
    title: 'Log in',
    submit: 'Log in',
    or: 'or',
    passkey: 'Log in with a passkey',
    passkeyHint: 'Fingerprint, face, device PIN or security key: no password to type.',
    forgot: 'Forgot your password?',
    noAccount: 'Patient without an account?',
    createAccount: 'Create an account',
    secondTitle: 'Two-step verification',
    secondIntro: 'Confirm your identity with your second factor.',
    totp: 'Code from your authenticator app',
    totpHint: '6 digits, renewed every 30 seconds.',
    verify: 'Verify',
    usePasskey: 'Use my passkey',
    useTotp: 'Use the authenticator app',
    useRecovery: 'Use a recovery code',
    recovery: 'Recovery code',
    recoveryHint: 'One of the codes saved when you enabled the factor; each works once.',
    recoveryLeft: (n: number) =>
      n === 0 ? 'You have no recovery codes left: generate new ones.' : `You have ${n} recovery code${n > 1 ? 's' : ''} left.`,
    passkeyFailed: 'The passkey was not used (cancelled, timed out or not recognised).',
    passkeyUnsupported: 'This browser does not support passkeys.',
    welcome: (name: string) => `Welcome, ${name}.`,
  },
  signup: {
    title: 'Create a patient account',
    intro: 'Your account lets you book and attend remote consultations.',
    organisation: 'Healthcare facility',
    organisationHint: 'The facility that cares for you.',
    choose: 'Choose…',
    noOrganisations: 'No facility accepts sign-ups at the moment.',
    accountLegend: 'Your account',
    submit: 'Create my account',
    haveAccount: 'Already have an account?',
    done: 'Account created. Now protect it with a second factor.',
  },
  security: {
    title: 'Account security',
    noFactor:
      'No second factor: your health data stays hidden until you add one. Choose an authenticator app or a passkey.',
    totpTitle: 'Authenticator app',
    totpOn: 'Enabled.',
    totpOff: 'Not set up.',
    totpStart: 'Set up an app',
    totpScan: 'Scan this QR code with your authenticator app (for example Aegis, FreeOTP or Google Authenticator).',
    totpManual: 'Or type this key into the app:',
    totpQrAlt: 'QR code to scan with the authenticator app',
    totpSecret: 'Secret key',
    totpCode: 'Code shown by the app',
    totpConfirm: 'Enable',
    totpEnabled: 'Authenticator app enabled.',
    totpRemove: 'Disable the app',
    totpRemoved: 'Authenticator app disabled.',
    recoveryTitle: 'Recovery codes',
    recoveryLeft: (n: number) => `${n} recovery code${n > 1 ? 's' : ''} available.`,
    recoveryRegenerate: 'Generate new codes',
    recoveryRegenerateHint: 'The old codes will stop working.',
    recoveryShown: 'Your recovery codes',
    recoveryOnce:
      'Store these codes somewhere safe now: they will never be shown again. Each one allows a single login if you lose your second factor.',
    recoveryDownload: 'Download the codes (.txt)',
    recoveryFile: (email: string) => `Ausculta recovery codes — ${email}\nEach code works once.\n\n`,
    recoverySavedCheck: 'I have saved my recovery codes',
    recoverySavedButton: 'Continue',
    passkeysTitle: 'Passkeys',
    passkeysIntro: 'A passkey (fingerprint, face, device PIN or security key) is a password and a second factor in one.',
    passkeysNone: 'No passkey saved.',
    passkeyName: 'Passkey name',
    passkeyNameHint: 'To recognise it, for example “Phone”.',
    passkeyDefault: 'My passkey',
    passkeyAdd: 'Add a passkey',
    passkeyAdded: 'Passkey added.',
    passkeyRemove: 'Remove',
    passkeyRemoveLabel: (name: string) => `Remove the passkey “${name}”`,
    passkeyRemoved: 'Passkey removed.',
    passkeyCreated: 'Added on',
    passkeyLastUsed: 'Last used:',
    never: 'never',
    passwordTitle: 'Password',
    passwordSubmit: 'Change password',
    passwordChanged: 'Password changed. Your other sessions were ended.',
    emailTitle: 'E-mail address',
    emailCurrent: 'Current address:',
    emailNew: 'New e-mail address',
    emailSubmit: 'Change address',
    emailChanged: 'E-mail address changed. Your other sessions were ended.',
    sessionsTitle: 'Open sessions',
    sessionCurrent: 'This session',
    sessionStarted: 'Opened on',
    sessionLastSeen: 'Last activity',
    sessionAddress: 'Network address',
    sessionDevice: 'Browser',
    sessionEnd: 'End this session',
    sessionEndLabel: (device: string) => `End this session (${device})`,
    sessionEnded: 'Session ended.',
    everywhere: 'Log out everywhere',
    everywhereHint: 'Ends all your sessions, this one included.',
    reauthTitle: 'Confirm your identity',
    reauthIntro: 'This change is sensitive: please enter your password again.',
    reauthSubmit: 'Confirm',
  },
  forgot: {
    title: 'Forgotten password',
    intro: 'Enter your e-mail address: if an account exists, you will receive a link to choose a new password.',
    submit: 'Send me the link',
    sent: 'If an account matches this address, an e-mail is on its way. Check your spam folder too.',
  },
  reset: {
    title: 'New password',
    missing: 'This link is incomplete or expired. Ask for a new one.',
    askAgain: 'Ask for a new link',
    submit: 'Save the password',
    done: 'Password saved. Your sessions were ended: log in with the new password and your second factor.',
  },
  invitation: {
    title: 'Invitation',
    intro: (org: string) => `You are invited to join ${org}.`,
    email: 'Address:',
    roles: 'Roles:',
    exists: 'An account already exists for this address: log in and ask the organisation administrator to grant you these roles.',
    submit: 'Accept the invitation',
    done: 'Welcome! Now protect your account with a second factor.',
  },
  admin: {
    title: 'Administration',
    organisation: 'Organisation',
    notAdmin: 'This page is for organisation administrators.',
    membersTitle: 'Members',
    member: 'Member',
    rolesOf: (name: string) => `Roles of ${name}`,
    saveRoles: 'Save roles',
    saveRolesLabel: (name: string) => `Save the roles of ${name}`,
    rolesSaved: (name: string) => `Roles of ${name} saved.`,
    inviteTitle: 'Invite a member',
    roles: 'Roles',
    rpps: 'RPPS number',
    rppsHint: '11 digits; required for a doctor or a health professional.',
    profession: 'Profession',
    professionHint: 'For example: nurse, pharmacist, physiotherapist.',
    invite: 'Send the invitation',
    invited: (email: string) => `Invitation sent to ${email}.`,
    pendingTitle: 'Pending invitations',
    pendingNone: 'No pending invitation.',
    expires: 'Expires on',
  },
  home: {
    title: 'Home',
    hello: (name: string) => `Hello, ${name}`,
    soon: 'This feature is coming soon.',
    noFactorTitle: 'Add a second factor',
    noFactor:
      'No health data is shown to you until your account is protected by a second factor (authenticator app or passkey).',
    noFactorPatient: 'You can already book an appointment, though.',
    noFactorLink: 'Secure my account',
    noMembership: 'You are not a member of any organisation yet.',
    adminLink: 'Manage members and invitations',
    cards: {
      patient: [
        { title: 'My appointments', text: 'Book and join a teleconsultation.' },
        { title: 'My documents', text: 'Reports, prescriptions and shared documents.' },
      ],
      doctor: [
        { title: 'Waiting room', text: 'Patients waiting for their teleconsultation.' },
        { title: 'My patients', text: 'The records of the patients you care for.' },
      ],
      health_professional: [
        { title: 'Tele-assistance', text: 'Assist a teleconsultation at the patient’s side.' },
        { title: 'Monitoring alerts', text: 'Remote monitoring alerts for your patients.' },
      ],
      org_admin: [{ title: 'Administration', text: 'Members, roles and invitations of the organisation.' }],
      security_officer: [{ title: 'Audit log', text: 'Accesses to data and their verification.' }],
    },
  },
};

export const dictionaries: Record<Lang, Dict> = { fr, en };

const STORAGE_KEY = 'ausculta.lang';

export function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'fr' || stored === 'en') return stored;
  } catch {
    // Storage may be disabled: French by default.
  }
  return 'fr';
}

export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not persisted: the choice lasts for this page only.
  }
}

export interface I18n {
  lang: Lang;
  t: Dict;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: 'fr', t: fr, setLang: () => undefined });

export function useI18n(): I18n {
  return useContext(I18nContext);
}

export function formatDateTime(t: Dict, iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : new Intl.DateTimeFormat(t.common.dateTime, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}
