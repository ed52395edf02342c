// SMART scopes: what is granted for what is asked (v2 letters, v1 words), and what each grant allows.
import { describe, expect, it } from 'vitest';
import { allowance, parseScopes, ScopeError, scopeString } from './scopes.js';

const TYPES = ['Patient', 'Observation', 'Composition'];

describe('parseScopes', () => {
  it('keeps the served letters (c, r, s) of v2 scopes and maps v1 read/write/*', () => {
    expect(scopeString(parseScopes('patient/Observation.cruds', TYPES))).toBe('patient/Observation.crs');
    expect(scopeString(parseScopes('user/*.read', TYPES))).toBe('user/*.rs');
    expect(scopeString(parseScopes('user/Observation.write patient/Patient.*', TYPES))).toBe('user/Observation.c patient/Patient.crs');
    expect(scopeString(parseScopes('patient/Patient.r launch/patient offline_access openid fhirUser', TYPES))).toBe('patient/Patient.r launch/patient offline_access');
    // Only update or delete: nothing we serve, dropped; the rest stays.
    expect(scopeString(parseScopes('user/Patient.ud user/Patient.s', TYPES))).toBe('user/Patient.s');
  });

  it('refuses unknown scopes, types we do not serve, letters out of order and a request granting nothing', () => {
    for (const bad of [undefined, '', '   ', 'offline_access', 'openid', 'user/Patient.ud', 'system/*.rs', 'patient/Medication.rs', 'patient/Patient.sr', 'patient/patient.r', 'user/*.x', 'x'.repeat(2_001)]) {
      expect(() => parseScopes(bad, TYPES), String(bad)).toThrow(ScopeError);
    }
  });
});

describe('allowance', () => {
  it('answers any for a user/ scope, self for a patient/ scope only, nothing outside the scopes', () => {
    const granted = parseScopes('patient/*.rs user/Observation.c', TYPES);
    expect(allowance(granted, 'Observation', 'c')).toBe('any');
    expect(allowance(granted, 'Observation', 'r')).toBe('self');
    expect(allowance(granted, 'Patient', 's')).toBe('self');
    expect(allowance(granted, 'Patient', 'c')).toBeNull();
    expect(allowance(granted, '*', 'r')).toBe('self');
    expect(allowance(parseScopes('user/Patient.r', TYPES), '*', 'r')).toBeNull();
    expect(allowance(parseScopes('patient/Observation.rs user/*.rs', TYPES), 'Observation', 'r')).toBe('any');
  });
});
