// zxcvbn-ts in a worker thread: estimating a password costs tens to hundreds of milliseconds of CPU,
// which must not stall every other request on the event loop. The worker and its word lists (~70 MB)
// start at the first check; a check that takes too long ends the worker and counts as a refusal.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const MODULES = {
  core: require.resolve('@zxcvbn-ts/core'),
  common: require.resolve('@zxcvbn-ts/language-common'),
  french: require.resolve('@zxcvbn-ts/language-fr'),
  english: require.resolve('@zxcvbn-ts/language-en'),
};
const CHECK_TIMEOUT_MS = 5_000;
/** Loading the word lists takes a second or two, far more on a busy machine: a first check gets longer. */
const STARTUP_TIMEOUT_MS = 30_000;

// Plain CommonJS so the worker needs no TypeScript loader; module paths come from the parent.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ZxcvbnFactory } = require(workerData.modules.core);
const common = require(workerData.modules.common);
const french = require(workerData.modules.french);
const english = require(workerData.modules.english);
const estimator = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...french.dictionary, ...english.dictionary },
  graphs: common.adjacencyGraphs,
  maxLength: workerData.maxLength,
  l33tMaxSubstitutions: 32,
});
parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, password, words }) => {
  try {
    parentPort.postMessage({ id, guessesLog10: estimator.check(password, words).guessesLog10 });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});`;

interface Pending {
  resolve(guessesLog10: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class PasswordEstimator {
  #worker: Worker | undefined;
  #ready = false;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(private readonly maxLength: number) {}

  /** log10 of the guesses an attacker needs, per zxcvbn. */
  estimate(password: string, words: string[]): Promise<number> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(worker, new Error('password estimation timed out')), this.#ready ? CHECK_TIMEOUT_MS : STARTUP_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, password, words });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modules: MODULES, maxLength: this.maxLength } });
    this.#ready = false;
    worker.on('message', (message: { id: number; ready?: true; guessesLog10?: number; error?: string }) => {
      if (message.ready) {
        if (this.#worker === worker) this.#ready = true;
        return;
      }
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.guessesLog10 === undefined) pending.reject(new Error(message.error ?? 'estimation failed'));
      else pending.resolve(message.guessesLog10);
    });
    worker.on('error', (error) => this.#fail(worker, error));
    worker.on('exit', () => this.#fail(worker, new Error('password estimator stopped')));
    // After the listeners: adding a 'message' listener refs the worker again. Unref'd, it never keeps
    // a command-line process alive.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  /**
   * Rejects every pending check and drops the worker; the next check starts a fresh one. Events of a
   * worker already replaced (its late 'exit' after a timeout) must not end its successor.
   */
  #fail(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#ready = false;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.#pending.delete(id);
    }
    void worker.terminate();
  }
}
