// Work that runs after the answer (mails that must not reveal anything by their timing). Failures are
// logged, never thrown at a client; shutdown waits for what is in flight.
export interface BackgroundLogger {
  error(details: object, message: string): void;
}

export class BackgroundTasks {
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly logger: BackgroundLogger) {}

  run(name: string, task: () => Promise<void>): void {
    const promise = task()
      .catch((error: unknown) => this.logger.error({ err: error, task: name }, 'background task failed'))
      .finally(() => this.#inFlight.delete(promise));
    this.#inFlight.add(promise);
  }

  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }
}
