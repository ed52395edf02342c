// The unencrypted baseline of the document upload benchmark (bench/envelope.bench.ts): a bare node:http
// server, run like the real one (`node --import tsx`, a child process), that stores an upload the way
// src/records/blobs.ts does — temporary file (mode 0600, fsync on close), then rename — without
// authentication, checks, encryption or database. Not part of the product: no route of Ausculta stores
// plaintext. PORT and PLAIN_UPLOAD_DIR come from the environment.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const port = Number(process.env['PORT']);
const dir = process.env['PLAIN_UPLOAD_DIR'];
if (!port || !dir) throw new Error('PORT and PLAIN_UPLOAD_DIR are required');
await mkdir(join(dir, 'tmp'), { recursive: true });

const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/api/ping') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"pong":true}');
    return;
  }
  const key = randomBytes(16).toString('hex');
  const temporary = join(dir, 'tmp', key);
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
  });
  pipeline(request, createWriteStream(temporary, { flags: 'wx', mode: 0o600, flush: true }))
    .then(() => rename(temporary, join(dir, key)))
    .then(() => response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: key, sizeBytes: size })))
    .catch(async (error: unknown) => {
      await rm(temporary, { force: true });
      response.writeHead(500).end(String(error));
    });
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
