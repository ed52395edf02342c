// Text for PDFs drawn with the standard fonts (Helvetica), which encode WinAnsi (Windows-1252) only:
// French is covered (accents, œ, «», €), but a character outside it would print as garbage. Common
// symbols get a readable spelling, anything else a '?'. The exact text stays in the FHIR document.
const CP1252_EXTRAS = '€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ';
const SPELLED: Record<string, string> = { '≥': '>=', '≤': '<=', '≠': '!=', '→': '->', '←': '<-', '⇒': '=>', '≈': '~', '−': '-', '\u202f': ' ', '\u2009': ' ', '\u2011': '-', '✓': 'v' };

function inWinAnsi(char: string): boolean {
  const code = char.codePointAt(0)!;
  return code === 0x0a || (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || CP1252_EXTRAS.includes(char);
}

export function toWinAnsi(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC').replace(/\r\n?/g, '\n').replace(/\t/g, '    ')) {
    out += inWinAnsi(char) ? char : (SPELLED[char] ?? '?');
  }
  return out;
}
