// Errors a caller must tell apart. Each carries the exit code the CLI reports, so a command
// never has to map errors to codes itself: 125 is tspod's own failure (Docker's convention),
// 126/127 mean the container's command could not run / was not found.

export class TspodError extends Error {
  constructor(message: string, readonly exitCode = 125) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, references, templates: the user can fix the input. */
export class InvalidArgumentError extends TspodError {}

/** A named image, container, volume or network does not exist. */
export class NotFoundError extends TspodError {}

/** The request clashes with existing state (name in use, image in use, ...). */
export class ConflictError extends TspodError {}

/** The host lacks something tspod needs (a binary, a kernel feature, a permission). */
export class HostError extends TspodError {}

/** The container's command could not be executed (126) or was not found (127). */
export class CommandNotRunnableError extends TspodError {
  constructor(message: string, notFound: boolean) {
    super(message, notFound ? 127 : 126);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
