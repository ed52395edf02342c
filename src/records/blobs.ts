// Encrypted document blobs on the filesystem (config.documents.blobDir, default DATA_DIR/blobs).
// The store moves bytes only: what it is given is already ciphertext (documents.ts encrypts). A blob is
// written to tmp/ and renamed into place once complete and flushed, so a reader never sees half a file
// and a failed upload leaves nothing but a temporary file, removed at once (or swept at the next start
// after a crash). Layout: <dir>/<first two hex digits of the key>/<key>.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const STORAGE_KEY = /^[0-9a-f]{32}$/;
/** Temporary files older than this at start are leftovers of a crash. */
const STALE_TEMPORARY_MS = 60 * 60_000;

export class BlobStore {
  readonly #tmp: string;

  constructor(readonly dir: string) {
    this.#tmp = join(dir, 'tmp');
  }

  /** Creates the directories (mode 0700) and removes stale temporary files. */
  async init(now: number): Promise<void> {
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.#tmp)) {
      const path = join(this.#tmp, name);
      const info = await stat(path).catch(() => null);
      if (info && now - info.mtimeMs > STALE_TEMPORARY_MS) await rm(path, { force: true });
    }
  }

  /** A new random storage key (not the document id: the file name says nothing about the row). */
  newKey(): string {
    return randomBytes(16).toString('hex');
  }

  pathOf(key: string): string {
    if (!STORAGE_KEY.test(key)) throw new Error('invalid storage key');
    return join(this.dir, key.slice(0, 2), key);
  }

  /**
   * Runs `fill` with a write stream to a temporary file (fill typically is a `pipeline(…, file)`), then
   * moves the complete file into place. On any error the temporary file is removed and the error rethrown.
   */
  async write(key: string, fill: (file: WriteStream) => Promise<void>): Promise<void> {
    const final = this.pathOf(key);
    const temporary = join(this.#tmp, `${key}.${randomBytes(4).toString('hex')}`);
    try {
      // flush: fsync before close, so the rename below never publishes a file that is not on disk.
      await fill(createWriteStream(temporary, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 256 * 1024 }));
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true, mode: 0o700 });
      await rename(temporary, final);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** Opens a blob for reading; rejects (ENOENT…) before any byte is promised to a client. */
  async openRead(key: string): Promise<ReadStream> {
    const stream = createReadStream(this.pathOf(key), { highWaterMark: 256 * 1024 });
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  }

  async remove(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.pathOf(key)).then(
      () => true,
      () => false,
    );
  }
}
