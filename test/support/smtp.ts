// A real SMTP server on 127.0.0.1 that keeps what it receives, so tests read the mails Ausculta sends.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string[];
  raw: string;
}

export interface SmtpCapture {
  url: string;
  mails: CapturedMail[];
  /** Waits for a mail to this address and returns the first URL it contains. */
  waitForLink(to: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startSmtpCapture(): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitForLink(to, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const mail = [...mails].reverse().find((m) => m.to.includes(to.toLowerCase()));
        // Quoted-printable may fold long lines: unfold before looking for the link.
        const text = mail?.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        const link = text?.match(/https?:\/\/\S+/)?.[0];
        if (link) return link;
        await new Promise((done) => setTimeout(done, 50));
      }
      throw new Error(`no mail with a link reached ${to}`);
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
