import { describe, expect, it } from 'vitest';
import { toWinAnsi } from './pdf-text.js';

describe('toWinAnsi', () => {
  it('keeps French and Windows-1252 text as it is', () => {
    const french = 'Œdème « léger » à 38,5 °C — 2 × 500 µg, coût 3 € ; ça va…';
    expect(toWinAnsi(french)).toBe(french);
  });

  it('spells common symbols, replaces the rest, composes accents, keeps line breaks', () => {
    expect(toWinAnsi('TA ≥ 140 → contrôle\r\nΩ 😀')).toBe('TA >= 140 -> contrôle\n? ?');
    expect(toWinAnsi('e\u0301')).toBe('é');
  });
});
