// The rows of the patient's access history (web/src/access-rows.ts): repeated list views of one day share a
// row; reads of the record, and anything that differs, never do.
import { describe, expect, it } from 'vitest';
import { accessRows, type GroupableEntry } from '../web/src/access-rows.js';

const LIST_VIEWS = new Set(['patient_list', 'fhir_search_patient', 'agenda']);
const doctor = { id: 'd1' };
const view = (at: string, overrides: Partial<GroupableEntry> = {}): GroupableEntry => ({
  at,
  action: 'record.read',
  outcome: 'allowed',
  actor: doctor,
  basis: 'attending_doctor',
  resourceType: 'patient_list',
  purpose: 'care',
  reason: null,
  ...overrides,
});
// Around noon UTC: the same local day in every time zone from UTC−11 to UTC+11.
const day = (d: number, minute: number) => new Date(Date.UTC(2026, 10, d, 12, minute)).toISOString();

describe('access history rows', () => {
  it('puts consecutive list views of one day by the same person in one row, in order', () => {
    const entries = [view(day(27, 5)), view(day(27, 4)), view(day(27, 3))];
    expect(accessRows(entries, LIST_VIEWS)).toEqual([{ kind: 'group', indexes: [0, 1, 2] }]);
  });

  it('keeps reads of the record, other days, people, lists, outcomes and applications apart', () => {
    const entries = [
      view(day(27, 5)),
      view(day(27, 4), { resourceType: null }), // the record itself was read: its own row, and it cuts the run
      view(day(27, 3)),
      view(day(27, 2)),
      view(day(26, 2)), // another day
      view(day(26, 1), { actor: { id: 'd2' } }),
      view(day(26, 1), { resourceType: 'agenda' }),
      view(day(26, 1), { outcome: 'denied' }),
      view(day(26, 1), { application: { clientId: 'app' } }),
      view(day(26, 1), { resourceType: 'Observation' }), // not a list view: never grouped
      view(day(26, 1), { resourceType: 'Observation' }),
    ];
    expect(accessRows(entries, LIST_VIEWS)).toEqual([
      { kind: 'single', index: 0 },
      { kind: 'single', index: 1 },
      { kind: 'group', indexes: [2, 3] },
      ...[4, 5, 6, 7, 8, 9, 10].map((index) => ({ kind: 'single', index })),
    ]);
  });

  it('lists nothing for no entries', () => {
    expect(accessRows([], LIST_VIEWS)).toEqual([]);
  });
});
