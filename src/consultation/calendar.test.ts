import { describe, expect, it } from 'vitest';
import { icsFor } from './calendar.js';

describe('iCalendar reminders (RFC 5545)', () => {
  const event = {
    uid: '6f1c@ausculta.test',
    startsAt: new Date('2026-12-01T09:30:00Z'),
    endsAt: new Date('2026-12-01T09:50:00Z'),
    stamp: new Date('2026-11-25T18:00:00.123Z'),
    summary: 'Rendez-vous Ausculta, vidéo; test\\',
    url: 'https://ausculta.test/#/consultations/6f1c',
    description: `Rejoindre : https://ausculta.test/#/consultations/6f1c\n${'é'.repeat(60)}`,
  };
  const ics = icsFor(event);

  it('uses CRLF line endings, UTC times and one VEVENT', () => {
    expect(ics.endsWith('\r\n')).toBe(true);
    expect(ics.split('\r\n').filter((line) => line === 'BEGIN:VEVENT')).toHaveLength(1);
    expect(ics).toContain('\r\nDTSTART:20261201T093000Z\r\n');
    expect(ics).toContain('\r\nDTEND:20261201T095000Z\r\n');
    expect(ics).toContain('\r\nDTSTAMP:20261125T180000Z\r\n');
  });

  it('escapes TEXT values', () => {
    expect(ics).toContain('SUMMARY:Rendez-vous Ausculta\\, vidéo\\; test\\\\');
  });

  it('folds lines at 75 octets without splitting a UTF-8 character', () => {
    for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    const unfolded = ics.replace(/\r\n /g, '');
    expect(unfolded).toContain(`DESCRIPTION:Rejoindre : https://ausculta.test/#/consultations/6f1c\\n${'é'.repeat(60)}`);
  });
});
