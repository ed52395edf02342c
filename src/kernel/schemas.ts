// String shapes for request schemas: what reaches the database is printable, single-line text.
import Type from 'typebox';

/** No control characters (NUL, newlines, …); at least one visible character. */
const PRINTABLE_LINE = '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001F\\u007F]*$';
/** No control characters; may be empty. */
const NO_CONTROL = '^[^\\u0000-\\u001F\\u007F]*$';

/** A name, a title, a label: printable, one line, not blank. */
export function Text(maxLength: number) {
  return Type.String({ minLength: 1, maxLength, pattern: PRINTABLE_LINE });
}

/** A code or identifier typed by a person (spaces allowed, no control characters). */
export function Code(maxLength: number, minLength = 1) {
  return Type.String({ minLength, maxLength, pattern: NO_CONTROL });
}
