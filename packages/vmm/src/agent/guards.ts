// What bounds an agent operation from the host side, whatever the guest does: the caller's
// AbortSignal, and a deadline past the operation's own timeoutMs. The agent enforces timeoutMs in
// the guest; a guest that is wedged, or whose agent does not play along, would otherwise keep the
// caller waiting for ever.
import type { FrameChannel } from './channel';
import { MAX_TIMER_MS } from '../library/timer-ms';
import { AgentError, badRequest, type AgentOp } from './errors';

/** How long past its timeoutMs an operation waits for the guest to report its end (default). */
export const DEFAULT_TIMEOUT_GRACE_MS = 10_000;

/** Ends the channel with AGENT_ABORTED when `signal` aborts; returns the function that stops listening. */
export function abortWith(
  ch: FrameChannel,
  signal: AbortSignal | undefined,
  op: AgentOp,
  what: string,
): () => void {
  if (!signal) return () => {};
  const abort = (): void => ch.destroy(abortedError(op, what));
  signal.addEventListener('abort', abort, { once: true });
  if (signal.aborted) abort(); // aborted while the stream was being opened
  return () => signal.removeEventListener('abort', abort);
}

/** AGENT_ABORTED for `what`; thrown at once when the signal was aborted before the operation began. */
export function abortedError(op: AgentOp, what: string): AgentError {
  return new AgentError('AGENT_ABORTED', op, `${what} was aborted by the caller`);
}

/** The grace after timeoutMs (default DEFAULT_TIMEOUT_GRACE_MS), checked before anything is sent. */
export function timeoutGrace(op: AgentOp, graceMs: number | undefined): number {
  const grace = graceMs ?? DEFAULT_TIMEOUT_GRACE_MS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_TIMER_MS)
    throw badRequest(
      op,
      `timeoutGraceMs ${grace} is not a whole number of milliseconds up to ${MAX_TIMER_MS}`,
    );
  return grace;
}

/**
 * With a timeoutMs, ends the channel with AGENT_TIMEOUT once timeoutMs + graceMs have passed
 * (the guest should have reported by then); returns the function that disarms it. A deadline past
 * what a timer can wait (2^31 - 1 ms, 24.8 days) is not armed.
 */
export function hostDeadline(
  ch: FrameChannel,
  timeoutMs: number | undefined,
  graceMs: number,
  op: AgentOp,
  what: string,
): () => void {
  if (!timeoutMs || timeoutMs + graceMs > MAX_TIMER_MS) return () => {};
  const timer = setTimeout(
    () =>
      ch.destroy(
        new AgentError(
          'AGENT_TIMEOUT',
          op,
          `${what}: the guest did not report its end within its timeoutMs (${timeoutMs} ms) and ${graceMs} ms more; the stream to the agent is closed. Check that the VM runs (not paused) and its agent answers`,
        ),
      ),
    timeoutMs + graceMs,
  );
  return () => clearTimeout(timer);
}
