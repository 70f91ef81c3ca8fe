/** Exit codes that mean something to scripts. */
export const EXIT = {
  ok: 0,
  /** Bad usage, or a path that is not a run. */
  usage: 2,
  /** The input could not be read (permissions, I/O). */
  unreadable: 3,
  /** An unexpected internal error (a bug: please report it). */
  internal: 70,
} as const;

/** An error with a one-line message for the user and an exit code; never shown as a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A one-line description of a file-system error, for `path`. */
export function describeFsError(error: unknown, path: string): UserError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new UserError(`no such file or directory: ${path}`, EXIT.usage);
    case 'EACCES':
    case 'EPERM':
      return new UserError(`permission denied: ${path}`, EXIT.unreadable);
    case 'EISDIR':
      return new UserError(`is a directory, not a log file: ${path}`, EXIT.usage);
    case 'ENOTDIR':
      return new UserError(`not a directory: ${path}`, EXIT.usage);
    default:
      return new UserError(`cannot read ${path}: ${(error as Error)?.message ?? String(error)}`, EXIT.unreadable);
  }
}
