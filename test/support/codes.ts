// Reads the 2D codes printed on a PDF as a person's scanner would: page 1 rendered to PNG by poppler's
// pdftoppm (Debian poppler-utils), then decoded by zxing-wasm (its .wasm read from node_modules: it would
// otherwise be fetched from a CDN).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';

const run = promisify(execFile);
let prepared = false;

function prepare(): void {
  if (prepared) return;
  const wasm = readFileSync(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'));
  void prepareZXingModule({ overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer }, fireImmediately: true });
  prepared = true;
}

/** The texts of the QR codes and DataMatrix codes on the PDF's first page. */
export async function codesOnPdf(pdf: Buffer): Promise<string[]> {
  prepare();
  const dir = await mkdtemp(join(tmpdir(), 'ausculta-pdf-'));
  try {
    await writeFile(join(dir, 'doc.pdf'), pdf);
    await run('pdftoppm', ['-r', '150', '-png', '-f', '1', '-l', '1', '-singlefile', join(dir, 'doc.pdf'), join(dir, 'page')]);
    const png = await readFile(join(dir, 'page.png'));
    const found = await readBarcodes(new Blob([png]), { formats: ['QRCode', 'DataMatrix'] });
    return found.filter((code) => code.isValid).map((code) => code.text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The PDF's text, as poppler's pdftotext extracts it. */
export async function textOfPdf(pdf: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ausculta-pdf-'));
  try {
    await writeFile(join(dir, 'doc.pdf'), pdf);
    const { stdout } = await run('pdftotext', ['-layout', join(dir, 'doc.pdf'), '-']);
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
