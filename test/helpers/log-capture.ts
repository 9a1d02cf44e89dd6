/** A pino destination that keeps parsed lines in memory, for log assertions. */
import { Writable } from 'node:stream';

/** `lines` parsed; `raw` as written (JSON.parse keeps the last of a repeated key, which only the text shows). */
export function captureLines(): { stream: Writable; lines: Record<string, unknown>[]; raw: string[] } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { stream, lines, raw };
}
