// What a build prints, in Podman's words: `STEP 2/4: RUN ...` (with `[1/2] ` before it in a
// multi-stage build), the step's output as it comes, `--> Using cache <id>` for a reused step,
// `--> <id>` once a step is done, `COMMIT name`, `Successfully tagged name` and the image ID.
// Quiet (-q): only the ID; a RUN's output is kept (the last 64 KiB) to show when it fails.
import { Writable } from 'node:stream';

const KEEP = 64 * 1024;

/** Podman's short form in build progress: 11 hex digits. */
export function progressId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 11);
}

export class BuildOutput {
  private captured: Buffer[] = [];
  private capturedBytes = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly err: NodeJS.WritableStream,
    readonly quiet: boolean,
  ) {}

  private line(text: string): void {
    if (!this.quiet) this.out.write(`${text}\n`);
  }

  step(stagePrefix: string, n: number, total: number, text: string): void {
    this.line(`${stagePrefix}STEP ${n}/${total}: ${text}`);
  }

  usingCache(id: string): void {
    this.line(`--> Using cache ${id.replace(/^sha256:/, '')}`);
  }

  stepDone(id: string): void {
    this.line(`--> ${progressId(id)}`);
  }

  commit(name: string): void {
    this.line(`COMMIT${name ? ` ${name}` : ''}`);
  }

  tagged(name: string): void {
    this.line(`Successfully tagged ${name}`);
  }

  warn(text: string): void {
    this.err.write(`WARN: ${text}\n`);
  }

  /** Progress of pulls and the like: stderr, as `pull` has it; nothing when quiet. */
  message(text: string): void {
    if (!this.quiet) this.err.write(`${text}\n`);
  }

  /** The image ID, on stdout, always. */
  result(id: string): void {
    this.out.write(`${id.replace(/^sha256:/, '')}\n`);
  }

  private capture(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.captured.push(chunk);
        this.capturedBytes += chunk.length;
        while (this.capturedBytes > KEEP && this.captured.length > 1) this.capturedBytes -= (this.captured.shift() as Buffer).length;
        done();
      },
    });
  }

  /** Where a RUN's stdout and stderr go. */
  runStreams(): { stdout: Writable; stderr: Writable } {
    this.captured = [];
    this.capturedBytes = 0;
    if (this.quiet) {
      const sink = this.capture();
      return { stdout: sink, stderr: sink };
    }
    return { stdout: this.out as Writable, stderr: this.err as Writable };
  }

  /** After a failed RUN in quiet mode: its output, so the failure can be understood. */
  showCaptured(): void {
    if (this.quiet && this.capturedBytes > 0) this.err.write(Buffer.concat(this.captured));
  }
}
