// What a document may be: PDF, JPEG, PNG, WebP, HEIC/HEIF, plain UTF-8 text. The declared type
// (Content-Type) must be one of them *and* the first bytes must match it (magic numbers), so that a
// script or an executable cannot pass as a photo. File names arrive percent-encoded in X-File-Name.

export const DOCUMENT_MEDIA_TYPES = ['application/pdf', 'image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif', 'text/plain'] as const;
export type DocumentMediaType = (typeof DOCUMENT_MEDIA_TYPES)[number];

/** Bytes looked at before the first byte is stored: enough for every signature and a text sample. */
export const SNIFF_BYTES = 4096;

const ascii = (text: string) => Buffer.from(text, 'latin1');
const startsWith = (head: Buffer, signature: Buffer, at = 0) => head.length >= at + signature.length && head.subarray(at, at + signature.length).equals(signature);

/** ISO base media file format brands of HEIF images (ISO/IEC 23008-12), HEVC-coded or not. */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function isText(head: Buffer): boolean {
  // Control characters other than tab, line feed, form feed and carriage return mean binary.
  for (const byte of head) if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) || byte === 0x7f) return false;
  try {
    // `stream: true` accepts a multi-byte character cut at the end of the sample.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const SIGNATURES: Record<DocumentMediaType, (head: Buffer) => boolean> = {
  'application/pdf': (head) => startsWith(head, ascii('%PDF-')),
  'image/jpeg': (head) => startsWith(head, Buffer.from([0xff, 0xd8, 0xff])),
  'image/png': (head) => startsWith(head, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/webp': (head) => startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8),
  'image/heic': (head) => startsWith(head, ascii('ftyp'), 4) && HEIF_BRANDS.has(head.subarray(8, 12).toString('latin1')),
  'image/heif': (head) => startsWith(head, ascii('ftyp'), 4) && HEIF_BRANDS.has(head.subarray(8, 12).toString('latin1')),
  'text/plain': isText,
};

/** The declared media type if it is one we take (parameters such as charset dropped), else null. */
export function declaredMediaType(contentType: string | undefined): DocumentMediaType | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return (DOCUMENT_MEDIA_TYPES as readonly string[]).includes(type) ? (type as DocumentMediaType) : null;
}

/** Do the first bytes of the file (up to SNIFF_BYTES) match the declared type? */
export function matchesSignature(type: DocumentMediaType, head: Buffer): boolean {
  return head.length > 0 && SIGNATURES[type](head);
}

/** Content-Type of a download: text is served as what it was checked to be, UTF-8. */
export function servedContentType(type: string): string {
  return type === 'text/plain' ? 'text/plain; charset=utf-8' : type;
}

export const FILE_NAME_MAX_LENGTH = 255;

/**
 * X-File-Name: percent-encoded UTF-8 (encodeURIComponent). Null when missing, undecodable, empty,
 * longer than 255 characters, or holding control characters or path separators.
 */
export function parseFileName(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  let name: string;
  try {
    name = decodeURIComponent(header).normalize('NFC').trim();
  } catch {
    return null;
  }
  if (name.length === 0 || [...name].length > FILE_NAME_MAX_LENGTH) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f/\\]/.test(name)) return null;
  return name;
}

/** RFC 6266 with RFC 8187: an ASCII fallback for old clients and the exact UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
