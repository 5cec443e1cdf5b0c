/** Email through SMTP (nodemailer); the transport comes from SMTP_URL. */
import nodemailer from 'nodemailer';
import type { EventsConfig } from './config';

interface Mail {
  to: string;
  subject: string;
  text: string;
  /** Stable per notice, so a mail re-sent after a crash can be recognised as the same message. */
  messageId: string;
  /** Files sent with the mail (the receipt's invoice PDF). */
  attachments?: Array<{ filename: string; content: Buffer; contentType: string }>;
}

export type SendMail = (mail: Mail) => Promise<void>;

export function createMailer(config: Pick<EventsConfig, 'SMTP_URL' | 'MAIL_FROM'>): SendMail {
  const transport = nodemailer.createTransport(config.SMTP_URL);
  return async (mail) => {
    await transport.sendMail({ from: config.MAIL_FROM, to: mail.to, subject: mail.subject, text: mail.text, messageId: mail.messageId, attachments: mail.attachments ?? [] });
  };
}
