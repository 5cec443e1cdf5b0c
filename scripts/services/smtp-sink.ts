/**
 * A local SMTP sink for development and tests: accepts every mail (no auth, no TLS), parses it with
 * mailparser and keeps it in memory; as a script it also prints each mail's summary to stdout.
 * `npx tsx scripts/services/smtp-sink.ts [port]` (default 1025, matching SMTP_URL's default smtp://127.0.0.1:1025).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SunkMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  messageId: string | undefined;
  /** Attached files as received (e.g. a receipt's invoice PDF). */
  attachments: Array<{ filename: string | undefined; contentType: string; content: Buffer }>;
}

export interface SmtpSink {
  port: number;
  mails: SunkMail[];
  /** Makes the next `count` mails fail with a temporary error (451), as a broken SMTP server would. */
  failNext(count: number): void;
  stop(): Promise<void>;
}

export async function startSmtpSink(options: { port?: number; host?: string; onMail?: (mail: SunkMail) => void } = {}): Promise<SmtpSink> {
  const mails: SunkMail[] = [];
  let failing = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          if (failing > 0) {
            failing--;
            const error = Object.assign(new Error('Temporary failure (sink told to fail)'), { responseCode: 451 });
            callback(error);
            return;
          }
          const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
          const mail = { to, from: parsed.from?.text ?? '', subject: parsed.subject ?? '', text: parsed.text ?? '', messageId: parsed.messageId, attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })) };
          mails.push(mail);
          options.onMail?.(mail);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    failNext(count) {
      failing = count;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? 1025);
  startSmtpSink({
    port,
    onMail: (mail) => process.stdout.write(`[mail] to=${mail.to} subject=${JSON.stringify(mail.subject)}\n${mail.text}\n\n`),
  })
    .then((sink) => process.stdout.write(`SMTP sink on smtp://127.0.0.1:${sink.port}: mails are printed here\n`))
    .catch((error: unknown) => {
      process.stderr.write(`SMTP sink failed: ${String(error)}\n`);
      process.exit(1);
    });
}
