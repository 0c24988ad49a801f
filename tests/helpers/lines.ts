/** Reading a container's piped output line by line, to synchronise with it without sleeping. */
import type { Readable } from 'node:stream';

/** Collects everything a stream says; `until(re)` resolves with the text so far once it matches. */
export class Transcript {
  text = '';
  private waiters: Array<{ re: RegExp; resolve: (s: string) => void; reject: (e: Error) => void }> = [];
  private ended = false;

  constructor(stream: Readable | null) {
    if (!stream) throw new Error('stream is not piped');
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.text += d;
      this.check();
    });
    stream.on('end', () => {
      this.ended = true;
      this.check();
    });
  }

  until(re: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ re, resolve, reject });
      this.check();
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.re.test(this.text)) w.resolve(this.text);
      else if (this.ended) w.reject(new Error(`output ended without matching ${w.re}; got:\n${this.text}`));
      else return true;
      return false;
    });
  }
}

/** `key=value` lines printed by a probe script → a record. */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
