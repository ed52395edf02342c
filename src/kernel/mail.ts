// Outgoing mail: SMTP when SMTP_URL is set, otherwise an outbox folder the admin can read.
// Mails never carry health data (DESIGN invariant 6): callers pass only links and times.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** Small text attachments (an .ics invitation); never health data either. */
  attachments?: Array<{ filename: string; content: string; contentType: string }>;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export function createMailer(smtpUrl: string | null, from: string, outboxDir: string): Mailer {
  if (!smtpUrl) return outboxMailer(outboxDir, from);
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
    },
    close: () => transport.close(),
  };
}

function outboxMailer(dir: string, from: string): Mailer {
  return {
    async send(mail) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}.eml`;
      const attachments = (mail.attachments ?? []).map((file) => `\n--- ${file.filename} (${file.contentType}) ---\n${file.content}`).join('');
      const body = `From: ${from}\nTo: ${mail.to}\nSubject: ${mail.subject}\nDate: ${new Date().toUTCString()}\n\n${mail.text}\n${attachments}`;
      await writeFile(join(dir, name), body, { mode: 0o600 });
    },
    close: () => undefined,
  };
}
