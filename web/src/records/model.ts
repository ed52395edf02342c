// What the record's cards share: the purpose of a professional's read, dates and sizes for people.
import type { Dict } from '../i18n';

/** A professional's purpose (care, or emergency after breaking the glass); none for the patient themself. */
export type RecordPurpose = 'care' | 'emergency';

/** A calendar day (YYYY-MM-DD) in the interface's language, read as a local date. */
export function formatDay(t: Dict, day: string): string {
  const date = new Date(`${day}T00:00:00`);
  return Number.isNaN(date.getTime()) ? day : new Intl.DateTimeFormat(t.common.dateTime, { dateStyle: 'long' }).format(date);
}

/** Today as YYYY-MM-DD, local time (the latest onset date a form accepts). */
export function today(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

/** 1 536 → "1,5 Ko" (units in 1024s, as people read file sizes). */
export function formatSize(t: Dict, bytes: number, units: readonly string[]): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(t.common.dateTime, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
