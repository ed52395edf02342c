// FHIR resources checked by an independent R4 validator (the `fhir` package), not by our own types.
import { Fhir } from 'fhir';
import { expect } from 'vitest';

const validator = new Fhir();

/** No error-level message, unexpected properties included. */
export function expectValidFhir(resource: object): void {
  const result = validator.validate(resource, { errorOnUnexpected: true });
  const errors = result.messages.filter((m) => m.severity === 'error');
  expect(errors, JSON.stringify(errors).slice(0, 500)).toEqual([]);
}
