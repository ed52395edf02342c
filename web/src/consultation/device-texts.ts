// Texts of the device check page (#/test-materiel), French first. Kept out of i18n.ts so that they load
// with that page only: the login page does not grow.
import { useI18n, type Lang } from '../i18n';

const fr = {
  title: 'Tester mon matériel',
  intro:
    'Avant votre téléconsultation, vérifiez en une minute que votre caméra, votre micro, votre son et votre connexion fonctionnent. Rien n’est enregistré ni envoyé : l’image et le son restent sur votre appareil.',
  summary: {
    title: 'Résultat',
    checking: 'Vérification en cours…',
    startFirst: 'Lancez le test de la caméra et du micro ci-dessous.',
    ready: 'Votre équipement est prêt pour la téléconsultation.',
    readySpeakers: 'Testez aussi le son de vos haut-parleurs ci-dessous.',
    almost: 'Votre équipement fonctionne, avec des points à vérifier :',
    notReady: 'Votre équipement n’est pas prêt pour la téléconsultation :',
    problem: 'Problème :',
    warning: 'À vérifier :',
  },
  status: { ok: 'Oui', missing: 'Non', optionalMissing: 'Non disponible' },
  support: {
    title: 'Navigateur',
    intro: 'Les fonctions dont la téléconsultation a besoin.',
    secure: 'Connexion sécurisée (https)',
    secureAdvice: 'Ouvrez la page par son adresse en https:// (par exemple le lien reçu par e-mail) : sans connexion sécurisée, le navigateur refuse l’accès à la caméra.',
    webrtc: 'Appels vidéo (WebRTC)',
    getUserMedia: 'Accès à la caméra et au micro',
    update: 'Mettez à jour votre navigateur, ou utilisez une version récente de Firefox, Chrome, Edge ou Safari. Si vous avez ouvert le lien depuis une application (messagerie, réseau social), ouvrez-le dans votre navigateur.',
    websocket: 'Connexion en temps réel (WebSocket)',
    websocketAdvice: 'Mettez à jour votre navigateur ; sur un réseau d’entreprise, un pare-feu peut aussi la bloquer.',
    webAudio: 'Son du navigateur (Web Audio)',
    webAudioAdvice: 'Sans elle, le niveau du micro et le son test ne peuvent pas être vérifiés ici. Mettez à jour votre navigateur.',
    displayMedia: 'Partage d’écran (facultatif)',
    displayMediaAdvice: 'Non disponible sur ce navigateur (c’est le cas sur téléphone). Il n’est pas nécessaire pour consulter.',
    unavailable: (feature: string) => `${feature} : non disponible.`,
  },
  camera: {
    title: 'Caméra',
    start: 'Tester ma caméra et mon micro',
    startHint: 'Votre navigateur va vous demander l’autorisation d’utiliser la caméra et le micro : acceptez.',
    starting: 'Démarrage de la caméra et du micro…',
    retry: 'Réessayer',
    restart: 'Relancer le test',
    choose: 'Caméra utilisée',
    switchFacing: (back: boolean): string => (back ? 'Utiliser la caméra avant' : 'Utiliser la caméra arrière'),
    preview: 'Aperçu en direct de votre caméra',
    seeYourself: (label: string, size: string) => `Vous devez vous voir dans l’aperçu. Caméra : ${label}${size ? `, image de ${size} pixels` : ''}.`,
    waiting: 'L’image arrive…',
    device: (n: number) => `Caméra ${n}`,
    ok: 'Votre caméra fonctionne.',
    summaryNone: 'Aucune caméra : la consultation pourra se faire en audio seulement.',
  },
  microphone: {
    title: 'Micro',
    choose: 'Micro utilisé',
    level: 'Niveau du son capté',
    levelValue: (n: number) => `${n} %`,
    speak: 'Parlez : la barre doit bouger.',
    silent:
      'Aucun son capté. Parlez : la barre doit bouger. Sinon, vérifiez que le micro n’est pas coupé (touche de votre clavier, bouton du casque ou réglages du système) ou choisissez un autre micro.',
    ok: 'Votre micro capte le son.',
    device: (n: number) => `Micro ${n}`,
    noMeter: 'Le niveau du micro ne peut pas être mesuré dans ce navigateur.',
  },
  speakers: {
    title: 'Son (haut-parleurs ou écouteurs)',
    choose: 'Sortie du son',
    device: (n: number) => `Sortie ${n}`,
    play: 'Jouer un son test',
    playing: 'Son test en cours…',
    question: 'Avez-vous entendu le son test ?',
    heard: 'Je l’ai entendu',
    notHeard: 'Je ne l’ai pas entendu',
    ok: 'Votre son fonctionne.',
    advice:
      'Montez le volume et vérifiez que le son n’est pas coupé ; branchez ou choisissez une autre sortie (casque, écouteurs). Sur iPhone, désactivez le mode silencieux. Puis rejouez le son test.',
    failed: 'Le son test n’a pas pu être joué par ce navigateur.',
    summary: 'Le son test n’a pas été entendu.',
  },
  network: {
    title: 'Connexion Internet',
    intro: 'Une estimation rapide du débit vers votre appareil (quelques centaines de kilo-octets au plus).',
    measuring: 'Mesure en cours…',
    again: 'Mesurer à nouveau',
    speed: (value: string) => `Débit estimé : ${value}`,
    latency: (ms: number) => `Temps de réponse : ${ms} ms`,
    video: 'Suffisant pour la vidéo.',
    audio: 'Débit faible : la vidéo risque d’être saccadée. Préférez l’audio seul, ou rapprochez-vous de votre box Wi-Fi.',
    poor: 'Débit très faible : l’appel risque d’échouer. Rapprochez-vous de votre box Wi-Fi, fermez les autres applications qui utilisent Internet, ou passez sur un autre réseau.',
    offline: 'Vous n’êtes pas connecté à Internet.',
    failed: 'La mesure a échoué : vérifiez votre connexion, puis mesurez à nouveau.',
  },
  problems: {
    denied: {
      video: 'L’accès à la caméra est refusé.',
      audio: 'L’accès au micro est refusé.',
      advice:
        'Autorisez-le : cliquez sur l’icône de caméra ou de cadenas à gauche de l’adresse de la page, choisissez « Autoriser » pour la caméra et le micro, puis cliquez sur « Réessayer ». Sur téléphone, autorisez aussi le navigateur dans les réglages du téléphone (Confidentialité, Caméra et Micro). Si c’est déjà autorisé, vérifiez les réglages de confidentialité de votre ordinateur.',
    },
    notFound: {
      video: 'Aucune caméra n’a été trouvée.',
      audio: 'Aucun micro n’a été trouvé.',
      advice: 'Branchez-en un, ou vérifiez qu’il est activé, puis cliquez sur « Réessayer ». Sans caméra, la consultation reste possible en audio seulement.',
    },
    busy: {
      video: 'La caméra est déjà utilisée ou ne répond pas.',
      audio: 'Le micro est déjà utilisé ou ne répond pas.',
      advice: 'Fermez les autres applications ou onglets qui l’utilisent (visioconférence, appareil photo…), puis cliquez sur « Réessayer ». Si cela persiste, redémarrez l’appareil.',
    },
    ended: {
      video: 'La caméra s’est arrêtée.',
      audio: 'Le micro s’est arrêté.',
      advice: 'Il a peut-être été débranché ou coupé : rebranchez-le, puis cliquez sur « Réessayer ».',
    },
    unsupported: {
      video: 'Ce navigateur ne donne pas accès à la caméra.',
      audio: 'Ce navigateur ne donne pas accès au micro.',
      advice: 'Ouvrez la page en https:// dans une version récente de Firefox, Chrome, Edge ou Safari.',
    },
    other: {
      video: 'La caméra n’a pas pu démarrer.',
      audio: 'Le micro n’a pas pu démarrer.',
      advice: 'Cliquez sur « Réessayer » ; si cela persiste, redémarrez le navigateur.',
    },
  },
};

export type DeviceTexts = typeof fr;

const en: DeviceTexts = {
  title: 'Test my equipment',
  intro:
    'Before your teleconsultation, check in a minute that your camera, microphone, sound and connection work. Nothing is recorded or sent: the picture and sound stay on your device.',
  summary: {
    title: 'Result',
    checking: 'Checking…',
    startFirst: 'Start the camera and microphone test below.',
    ready: 'Your equipment is ready for the teleconsultation.',
    readySpeakers: 'Also test your speakers’ sound below.',
    almost: 'Your equipment works, with points to check:',
    notReady: 'Your equipment is not ready for the teleconsultation:',
    problem: 'Problem:',
    warning: 'To check:',
  },
  status: { ok: 'Yes', missing: 'No', optionalMissing: 'Not available' },
  support: {
    title: 'Browser',
    intro: 'The features the teleconsultation needs.',
    secure: 'Secure connection (https)',
    secureAdvice: 'Open the page at its https:// address (for example the link in your e-mail): without a secure connection, the browser refuses access to the camera.',
    webrtc: 'Video calls (WebRTC)',
    getUserMedia: 'Access to the camera and microphone',
    update: 'Update your browser, or use a recent version of Firefox, Chrome, Edge or Safari. If you opened the link from an app (messaging, social network), open it in your browser.',
    websocket: 'Real-time connection (WebSocket)',
    websocketAdvice: 'Update your browser; on a company network, a firewall may also block it.',
    webAudio: 'Browser sound (Web Audio)',
    webAudioAdvice: 'Without it, the microphone level and the test sound cannot be checked here. Update your browser.',
    displayMedia: 'Screen sharing (optional)',
    displayMediaAdvice: 'Not available in this browser (as on phones). It is not needed for a consultation.',
    unavailable: (feature: string) => `${feature}: not available.`,
  },
  camera: {
    title: 'Camera',
    start: 'Test my camera and microphone',
    startHint: 'Your browser will ask for permission to use the camera and microphone: accept.',
    starting: 'Starting the camera and microphone…',
    retry: 'Try again',
    restart: 'Run the test again',
    choose: 'Camera in use',
    switchFacing: (back: boolean) => (back ? 'Use the front camera' : 'Use the back camera'),
    preview: 'Live preview of your camera',
    seeYourself: (label: string, size: string) => `You should see yourself in the preview. Camera: ${label}${size ? `, ${size} pixel picture` : ''}.`,
    waiting: 'The picture is coming…',
    device: (n: number) => `Camera ${n}`,
    ok: 'Your camera works.',
    summaryNone: 'No camera: the consultation can be held with audio only.',
  },
  microphone: {
    title: 'Microphone',
    choose: 'Microphone in use',
    level: 'Level of the sound picked up',
    levelValue: (n: number) => `${n}%`,
    speak: 'Speak: the bar should move.',
    silent:
      'No sound picked up. Speak: the bar should move. If not, check that the microphone is not muted (a key on your keyboard, a button on the headset or the system settings) or choose another microphone.',
    ok: 'Your microphone picks up sound.',
    device: (n: number) => `Microphone ${n}`,
    noMeter: 'The microphone level cannot be measured in this browser.',
  },
  speakers: {
    title: 'Sound (speakers or headphones)',
    choose: 'Sound output',
    device: (n: number) => `Output ${n}`,
    play: 'Play a test sound',
    playing: 'Test sound playing…',
    question: 'Did you hear the test sound?',
    heard: 'I heard it',
    notHeard: 'I did not hear it',
    ok: 'Your sound works.',
    advice:
      'Turn the volume up and check that the sound is not muted; plug in or choose another output (headset, earphones). On an iPhone, turn silent mode off. Then play the test sound again.',
    failed: 'This browser could not play the test sound.',
    summary: 'The test sound was not heard.',
  },
  network: {
    title: 'Internet connection',
    intro: 'A quick estimate of the speed towards your device (a few hundred kilobytes at most).',
    measuring: 'Measuring…',
    again: 'Measure again',
    speed: (value: string) => `Estimated speed: ${value}`,
    latency: (ms: number) => `Response time: ${ms} ms`,
    video: 'Enough for video.',
    audio: 'Low speed: video may be jerky. Prefer audio only, or move closer to your Wi-Fi router.',
    poor: 'Very low speed: the call may fail. Move closer to your Wi-Fi router, close other apps using the Internet, or switch to another network.',
    offline: 'You are not connected to the Internet.',
    failed: 'The measurement failed: check your connection, then measure again.',
  },
  problems: {
    denied: {
      video: 'Access to the camera is denied.',
      audio: 'Access to the microphone is denied.',
      advice:
        'Allow it: click the camera or padlock icon to the left of the page address, choose “Allow” for the camera and microphone, then click “Try again”. On a phone, also allow the browser in the phone’s settings (Privacy, Camera and Microphone). If it is already allowed, check your computer’s privacy settings.',
    },
    notFound: {
      video: 'No camera was found.',
      audio: 'No microphone was found.',
      advice: 'Plug one in, or check that it is enabled, then click “Try again”. Without a camera, the consultation is still possible with audio only.',
    },
    busy: {
      video: 'The camera is already in use or does not respond.',
      audio: 'The microphone is already in use or does not respond.',
      advice: 'Close the other apps or tabs using it (video calls, camera app…), then click “Try again”. If it persists, restart the device.',
    },
    ended: {
      video: 'The camera stopped.',
      audio: 'The microphone stopped.',
      advice: 'It may have been unplugged or switched off: plug it back in, then click “Try again”.',
    },
    unsupported: {
      video: 'This browser gives no access to the camera.',
      audio: 'This browser gives no access to the microphone.',
      advice: 'Open the page over https:// in a recent version of Firefox, Chrome, Edge or Safari.',
    },
    other: {
      video: 'The camera could not start.',
      audio: 'The microphone could not start.',
      advice: 'Click “Try again”; if it persists, restart the browser.',
    },
  },
};

const texts: Record<Lang, DeviceTexts> = { fr, en };

export function useDeviceTexts(): DeviceTexts {
  return texts[useI18n().lang];
}
