/**
 * @file Error types. A `UserError` is a mistake in what the user gave us (a bad file, a wrong flag):
 * the CLI prints its message on one line and exits with code 2, never a stack trace.
 * A `ShapeError` names the op and the shapes it was given.
 */

/** A mistake in the user's input: reported as one line, exit code 2. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Shapes (or dtypes) an op cannot accept; the message names the op and every shape. */
export class ShapeError extends UserError {
  override name = 'ShapeError';
  constructor(op: string, detail: string, shapes: readonly (readonly number[])[]) {
    super(`${op}: ${detail} (shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(', ')})`);
  }
}
